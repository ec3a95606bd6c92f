"""ProductRanker is a plain batch estimator; LightGBM's private API is called in one module."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import recsvc
from recsvc.features.tabular import TabularEncoder
from recsvc.models.fastpath import one_row_scorer
from recsvc.models.ranker import BINARY, MULTICLASS, ProductRanker

PARAMS = {"num_leaves": 7, "min_data_in_leaf": 20, "learning_rate": 0.1}
PRIVATE_LIGHTGBM = re.compile(r"\b_LIB\b|\._handle\b|lgb\.basic\._")


@pytest.mark.parametrize("kind", [BINARY, MULTICLASS])
def test_scoring_one_row_leaves_the_estimator_as_fitted(toy: Any, kind: str) -> None:
    """scikit-learn's contract: __init__ stores parameters, fitting sets attributes ending in
    `_`, and predicting (one row or many) adds nothing."""
    enc = TabularEncoder(
        numeric=["age", "income"], categorical=["segment"],
        holdings=["held_card", "held_fund", "held_gold"],
    ).fit(toy.features)  # fmt: skip
    ranker = ProductRanker(kind=kind, params=PARAMS, num_boost_round=10, num_threads=1)
    params = set(vars(ranker))
    assert params == set(inspect.signature(ProductRanker.__init__).parameters) - {"self"}
    X = enc.transform(toy.features)
    ranker.fit(X, toy.held, toy.labels, feature_names=enc.feature_names, products=toy.products)
    fitted = set(vars(ranker))
    assert all(name.endswith("_") and not name.startswith("_") for name in fitted - params)

    ranker.predict_proba(X[:1])
    ranker.predict_proba(X[:5])
    ranker.contributions(X[:1], 0)
    one_row_scorer(ranker).predict_proba(X[:1])

    assert set(vars(ranker)) == fitted


def test_only_the_fast_path_module_touches_lightgbm_private_api() -> None:
    root = Path(recsvc.__file__).parent
    users = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if PRIVATE_LIGHTGBM.search(path.read_text(encoding="utf-8"))
    )
    assert users == ["models/fastpath.py"]
