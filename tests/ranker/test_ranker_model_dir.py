"""ProductRanker: save -> load gives identical scores; contributions; determinism; calibration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsvc.features.tabular import TabularEncoder
from recsvc.models.calibration import apply_calibrator, fit_piecewise, fit_platt
from recsvc.models.fastpath import one_row_scorer
from recsvc.models.ranker import BINARY, MULTICLASS, ModelFormatError, ProductRanker

PARAMS = {"num_leaves": 7, "min_data_in_leaf": 20, "learning_rate": 0.1}


def _fit(toy: Any, kind: str, seed: int = 0) -> tuple[TabularEncoder, ProductRanker]:
    enc = TabularEncoder(
        numeric=["age", "income"],
        categorical=["segment"],
        holdings=["held_card", "held_fund", "held_gold"],
    ).fit(toy.features)
    ranker = ProductRanker(kind=kind, params=PARAMS, num_boost_round=30, seed=seed, num_threads=1)
    ranker.fit(
        enc.transform(toy.features),
        toy.held,
        toy.labels,
        feature_names=enc.feature_names,
        products=toy.products,
        feature_schema=enc.feature_schema(),
    )
    return enc, ranker


@pytest.mark.parametrize("kind", [BINARY, MULTICLASS])
def test_save_load_gives_identical_scores(toy: Any, kind: str, tmp_path: Path) -> None:
    enc, ranker = _fit(toy, kind)
    X = enc.transform(toy.features)
    ranker.save(tmp_path / "m", extra={"metrics": {"map@7": 0.1}, "dataset": {"name": "toy"}})
    loaded = ProductRanker.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X), ranker.predict_proba(X))
    desc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert desc["kind"] == kind and desc["products"] == toy.products
    assert desc["metrics"] == {"map@7": 0.1}
    assert desc["feature_schema"]["fingerprint"] == enc.feature_schema()["fingerprint"]
    on_disk = {p.name for p in (tmp_path / "m").iterdir()}
    assert on_disk == {"model.json", *desc["artifacts"]}
    assert not any(name.endswith((".pkl", ".joblib")) for name in on_disk)


@pytest.mark.parametrize("kind", [BINARY, MULTICLASS])
def test_probabilities_are_probabilities_and_learn_the_signal(toy: Any, kind: str) -> None:
    enc, ranker = _fit(toy, kind)
    probs = ranker.predict_proba(enc.transform(toy.features))
    assert probs.shape == (len(toy.features), 3)
    assert np.all((probs >= 0) & (probs <= 1))
    old = toy.features["age"].to_numpy() > 60
    assert probs[old, 0].mean() > probs[~old, 0].mean()


def test_same_seed_same_model_different_seed_differs(toy: Any) -> None:
    X = _fit(toy, BINARY)[0].transform(toy.features)
    a = _fit(toy, BINARY, seed=1)[1].predict_proba(X)
    b = _fit(toy, BINARY, seed=1)[1].predict_proba(X)
    c = _fit(toy, BINARY, seed=2)[1].predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kind", [BINARY, MULTICLASS])
def test_contributions_sum_to_the_raw_margin(toy: Any, kind: str) -> None:
    enc, ranker = _fit(toy, kind)
    X = enc.transform(toy.features.iloc[:5])
    contrib = ranker.contributions(X, 1)
    assert contrib.shape == (5, len(enc.feature_names) + 1)
    if kind == MULTICLASS:
        # class margin plus the any-addition gate's margin
        raw = ranker._booster(0).predict(X, raw_score=True)[:, 1]
        raw = raw + ranker._booster(1).predict(X, raw_score=True)
    else:
        raw = ranker._booster(1).predict(X, raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=1e-5, atol=1e-6)


def test_multiclass_calibration_keeps_the_product_order(toy: Any) -> None:
    enc, ranker = _fit(toy, MULTICLASS)
    X = enc.transform(toy.features)
    raw, cal = ranker.predict_raw(X), ranker.predict_proba(X)
    np.testing.assert_array_equal(np.argsort(-raw, axis=1), np.argsort(-cal, axis=1))


def test_load_refuses_a_foreign_descriptor(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text(json.dumps({"format": "other", "format_version": 1}))
    with pytest.raises(ModelFormatError, match="'other'"):
        ProductRanker.load(tmp_path)


def test_fit_names_the_mismatch(toy: Any) -> None:
    with pytest.raises(ValueError, match="2 feature_names"):
        ProductRanker(num_threads=1).fit(
            np.zeros((10, 3), dtype=np.float32),
            toy.held[:10],
            toy.labels[:10],
            feature_names=["a", "b"],
        )


def test_platt_is_monotone_and_piecewise_interpolates() -> None:
    rng = np.random.default_rng(0)
    s = rng.random(2000)
    y = rng.random(2000) < s
    platt = fit_platt(s, y)
    grid = np.linspace(0.01, 0.99, 50)
    assert np.all(np.diff(apply_calibrator(platt, grid)) > 0)
    pw = fit_piecewise(s, y)
    assert set(pw) == {"method", "x", "y"} and all(isinstance(v, float) for v in pw["x"])
    out = apply_calibrator(pw, grid)
    assert np.all(np.diff(out) >= 0) and abs(out[-1] - 0.99) < 0.15


@pytest.mark.parametrize("kind", [BINARY, MULTICLASS])
@pytest.mark.parametrize("calibration", ["isotonic", "platt"])
def test_one_row_scoring_equals_batch_scoring(toy: Any, kind: str, calibration: str) -> None:
    """A serving request scores one row through the single-row paths: same numbers as batch."""
    enc = TabularEncoder(
        numeric=["age", "income"], categorical=["segment"],
        holdings=["held_card", "held_fund", "held_gold"],
    ).fit(toy.features)  # fmt: skip
    ranker = ProductRanker(
        kind=kind, params=PARAMS, num_boost_round=30, num_threads=1, calibration=calibration
    )
    X = enc.transform(toy.features)
    ranker.fit(X, toy.held, toy.labels, feature_names=enc.feature_names, products=toy.products)
    batch = ranker.predict_proba(X[:300])
    one_row = one_row_scorer(ranker)
    rows = np.vstack([one_row.predict_proba(X[i : i + 1]) for i in range(300)])
    np.testing.assert_array_equal(rows, batch)


def test_one_row_contributions_equal_batch_contributions(toy: Any) -> None:
    """Reasons on the request path come from the single-row SHAP path: same values as batch."""
    enc, ranker = _fit(toy, BINARY)
    X = enc.transform(toy.features)[:200]
    one_row = one_row_scorer(ranker)
    for j in range(len(ranker.products_)):
        batch = ranker.contributions(X, j)
        rows = np.vstack([one_row.contributions(X[i : i + 1], j) for i in range(len(X))])
        np.testing.assert_array_equal(rows, batch)
        assert np.abs(batch[:, :-1]).sum() > 0  # real contributions, not an empty buffer
