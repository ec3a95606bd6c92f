"""Smoke check a freshly loaded ranker before it serves: a model that loads can still score junk."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from recsvc.models.fastpath import OneRowScorer
    from recsvc.models.ranker import ProductRanker

SAMPLE_SEED = 20260930
SAMPLE_ROWS = 6


class ModelCheckFailed(RuntimeError):
    """A loaded model gave scores of the wrong shape, or not probabilities, on the fixed sample."""


def sample_features(
    *, n_features: int, rows: int = SAMPLE_ROWS, seed: int = SAMPLE_SEED
) -> np.ndarray:
    """Fixed synthetic rows (zeros, all-missing, seeded spread): the same input for every model."""
    rng = np.random.default_rng(seed)
    spread = rng.uniform(-1.0, 100.0, size=(max(rows - 2, 0), n_features))
    fixed = np.vstack([np.zeros((1, n_features)), np.full((1, n_features), np.nan), spread])
    return fixed[:rows].astype(np.float32)


def check_ranker(ranker: ProductRanker, one_row: OneRowScorer, *, n_features: int) -> None:
    """Raise ModelCheckFailed unless the ranker scores the sample as (rows x P) probabilities
    and its one-row scorer (the path requests take) gives the same numbers."""
    X = sample_features(n_features=n_features)
    n_products = len(ranker.products_)
    if len(ranker.feature_names_) != n_features:
        raise ModelCheckFailed(
            f"model expects {len(ranker.feature_names_)} features, serving code builds {n_features}"
        )
    scores = np.asarray(ranker.predict_proba(X))
    if scores.shape != (len(X), n_products):
        raise ModelCheckFailed(f"scores have shape {scores.shape}, expected {(len(X), n_products)}")
    if not np.all(np.isfinite(scores)) or scores.min() < 0.0 or scores.max() > 1.0:
        raise ModelCheckFailed("scores on the fixed sample are not finite probabilities in [0, 1]")
    one = np.asarray(one_row.predict_proba(X[:1]))
    if one.shape != (1, n_products) or not np.allclose(one[0], scores[0], rtol=1e-6, atol=1e-9):
        raise ModelCheckFailed("one-row scores differ from the batch scores of the same row")
    for index in range(n_products):
        contrib = np.asarray(one_row.contributions(X[:1], index))
        if contrib.shape != (1, n_features + 1) or not np.all(np.isfinite(contrib)):
            raise ModelCheckFailed(
                f"contributions have shape {contrib.shape}, expected {(1, n_features + 1)}, "
                "or are not finite"
            )
