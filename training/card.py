"""The evaluation section of model.json that the model card (training/report.py) draws."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np

from recsvc.models.ranker import ProductRanker
from training.datasets import DatasetFrame
from training.report import collect_evaluation

SHAP_SAMPLE = 1000


def importance(
    ranker: ProductRanker, X: np.ndarray, names: list[str], *, seed: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Gain summed over the boosters, and mean |SHAP| over products on a sample of customers."""
    gain = np.zeros(len(names))
    for booster in ranker.boosters_:
        if isinstance(booster, lgb.Booster):
            gain += booster.feature_importance(importance_type="gain")
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), size=min(SHAP_SAMPLE, len(X)), replace=False)
    sample = X[np.sort(rows)]
    shap = np.zeros(len(names))
    products = len(ranker.products_)
    for j in range(products):
        contrib = ranker.contributions(sample, j)[:, : len(names)]
        shap += np.abs(contrib).mean(axis=0) if len(contrib) else 0.0
    shap /= max(products, 1)
    as_dict = lambda v: {n: float(x) for n, x in zip(names, v, strict=True)}  # noqa: E731
    return as_dict(gain), as_dict(shap)


def evaluation_section(
    *,
    train: DatasetFrame,
    test: DatasetFrame,
    X_test: np.ndarray,
    ranker: ProductRanker,
    scores: np.ndarray,
    baseline_scores: dict[str, np.ndarray],
    feature_names: list[str],
    seed: int,
) -> dict[str, Any]:
    """Curves, calibration, per-product AUC and importances on the hold-out customers."""
    gain, shap = importance(ranker, X_test, feature_names, seed=seed)
    summary = {
        "customers_train": len(train),
        "customers_holdout": len(test),
        "products": len(test.products),
        "features": len(feature_names),
        "snapshot": test.snapshot,
        "adders_rate_train": float((train.labels.sum(axis=1) > 0).mean()) if len(train) else 0.0,
        "additions_per_product_train": {
            p: int(n) for p, n in zip(train.products, train.labels.sum(axis=0), strict=True)
        },
    }
    return collect_evaluation(
        products=list(test.products),
        y_true=test.labels,
        scores=scores,
        baseline_scores=baseline_scores,
        held=test.held,
        importance_gain=gain,
        mean_abs_shap=shap,
        data_summary=summary,
    )
