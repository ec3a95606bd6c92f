"""Baselines every model is compared with in the same run: popularity, logistic, rules."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from training.datasets import DatasetFrame
from training.heuristics import domain_rules_scores

RulesHeuristic = Callable[[DatasetFrame], np.ndarray]
"""(frame) -> (n x P) scores; registered per dataset name in RULES."""


def popularity(train: DatasetFrame, test: DatasetFrame) -> np.ndarray:
    """Every customer gets the products ranked by how often they were added in train."""
    counts = train.labels.sum(axis=0).astype(np.float64)
    rate = counts / max(len(train), 1)
    return np.tile(rate, (len(test), 1))


def segment_popularity(
    train: DatasetFrame, test: DatasetFrame, *, column: str, min_customers: int = 200
) -> np.ndarray:
    """Popularity of additions within the customer's segment (small segments fall back)."""
    base = train.labels.mean(axis=0) if len(train) else np.zeros(len(train.products))
    seg_train = train.features[column].astype("str").fillna("<missing>").to_numpy()
    seg_test = test.features[column].astype("str").fillna("<missing>").to_numpy()
    table: dict[str, np.ndarray] = {}
    for seg in np.unique(seg_train):
        mask = seg_train == seg
        n = int(mask.sum())
        # shrink toward the overall rate so thin segments do not produce noisy rankings
        table[seg] = (train.labels[mask].sum(axis=0) + min_customers * base) / (n + min_customers)
    if not len(test):
        return np.zeros((0, len(train.products)))
    return np.vstack([table.get(s, base) for s in seg_test])


def logistic(
    X_train: np.ndarray,
    train: DatasetFrame,
    X_test: np.ndarray,
    *,
    seed: int = 0,
    max_iter: int = 500,
    max_rows: int = 200_000,
) -> np.ndarray:
    """One logistic regression per product, on the same encoded features (NaN -> 0 + flag).

    Fitted on at most `max_rows` training customers (seeded sample): a linear model has
    converged long before that, and a million-customer run stays within minutes."""

    def prep(X: np.ndarray) -> np.ndarray:
        nan = np.isnan(X)
        return np.hstack([np.where(nan, 0.0, X), nan[:, nan_cols].astype(np.float64)])

    if len(X_train) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(X_train), max_rows, replace=False))
        X_train, train = X_train[keep], train.take(keep)
    nan_cols = np.isnan(X_train).any(axis=0)
    Xtr, Xte = prep(X_train), prep(X_test)
    out = np.zeros((len(X_test), len(train.products)))
    for j in range(len(train.products)):
        mask = train.held[:, j] == 0
        y = train.labels[mask, j]
        if y.sum() < 2 or y.sum() == len(y):
            out[:, j] = y.mean() if len(y) else 0.0
            continue
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=0.1, max_iter=max_iter, random_state=seed)
        )
        model.fit(Xtr[mask], y)
        out[:, j] = model.predict_proba(Xte)[:, 1]
    return out


def _synthetic_rules(frame: DatasetFrame) -> np.ndarray:
    return domain_rules_scores(frame.features, frame.products)


RULES: dict[str, RulesHeuristic] = {
    "synthetic": _synthetic_rules,
    "synthetic_history": _synthetic_rules,
}
"""Rules-only heuristics by dataset name; the synthetic bank registers its own.
Real data sets have no natural rules, so they use segment popularity instead."""


def rules(name: str, frame: DatasetFrame) -> np.ndarray | None:
    """Scores from the dataset's rules heuristic, or None when it has none."""
    fn = RULES.get(name)
    return None if fn is None else np.asarray(fn(frame), dtype=np.float64)
