"""A real LightGBM pred_contrib row (F + bias) explains to reasons with its own numbers."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from recsvc.models.reasons import ReasonExplainer


def test_reasons_from_lightgbm_contributions(
    explainer: ReasonExplainer, feature_names: tuple[str, ...]
) -> None:
    rng = np.random.default_rng(7)
    n = 400
    X = np.zeros((n, len(feature_names)))
    salary = feature_names.index("salary_via_bank")
    age = feature_names.index("age")
    X[:, salary] = rng.integers(0, 2, n)
    X[:, age] = rng.integers(20, 70, n)
    y = ((X[:, salary] == 1) & (X[:, age] < 30)).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 7}
    params |= {"min_data_in_leaf": 5, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=20)
    row = np.zeros((1, len(feature_names)))
    row[0, salary], row[0, age] = 1, 24
    contrib = np.asarray(booster.predict(row, pred_contrib=True))[0]
    assert contrib.shape == (len(feature_names) + 1,)
    reasons = explainer.explain(row[0], contrib)
    assert {r.code for r in reasons} == {"SALARY_VIA_BANK", "UNDER_30"}
    for r in reasons:
        assert r.contribution == contrib[feature_names.index(r.feature or "")] > 0
