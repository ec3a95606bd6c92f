"""Ranking and calibration metrics over (customers x products) score matrices."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

Metric = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _check(scores: np.ndarray, labels: np.ndarray) -> None:
    if scores.shape != labels.shape or scores.ndim != 2:
        raise ValueError(
            f"scores and labels must be equal 2-D shapes, got {scores.shape} and {labels.shape}"
        )


def top_k(scores: np.ndarray, *, k: int, held: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k best products per customer, held products excluded (stable ties)."""
    s = np.asarray(scores, dtype=np.float64)
    if held is not None:
        s = np.where(np.asarray(held) > 0, -np.inf, s)
    ranked = np.argsort(-s, axis=1, kind="stable")[:, : min(k, s.shape[1])]
    ranked_scores = np.take_along_axis(s, ranked, axis=1)
    return np.where(np.isneginf(ranked_scores), -1, ranked)


def _hits(
    scores: np.ndarray, labels: np.ndarray, *, k: int, held: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """top_k's ranking, the labels as booleans, and whether each ranked product was added."""
    _check(scores, labels)
    ranked = top_k(scores, k=k, held=held)
    lab = np.asarray(labels) > 0
    hits = np.where(ranked >= 0, np.take_along_axis(lab, np.maximum(ranked, 0), axis=1), False)
    return ranked, lab, hits


def average_precision_at_k(
    scores: np.ndarray, labels: np.ndarray, *, k: int = 7, held: np.ndarray | None = None
) -> np.ndarray:
    """Per-customer AP@k, Kaggle style: denominator min(|actual|, k), zero when nothing added."""
    ranked, lab, hits = _hits(scores, labels, k=k, held=held)
    cum = np.cumsum(hits, axis=1)
    prec = cum / np.arange(1, ranked.shape[1] + 1)
    n_actual = lab.sum(axis=1)
    denom = np.minimum(n_actual, k)
    total = (prec * hits).sum(axis=1)
    return np.divide(total, denom, out=np.zeros(len(total)), where=denom > 0)


def map_at_k(
    scores: np.ndarray, labels: np.ndarray, *, k: int = 7, held: np.ndarray | None = None
) -> float:
    """MAP@k averaged over ALL customers (those without additions count as 0)."""
    return float(average_precision_at_k(scores, labels, k=k, held=held).mean())


def ndcg_per_customer(
    scores: np.ndarray, labels: np.ndarray, *, k: int = 5, held: np.ndarray | None = None
) -> np.ndarray:
    """Per-customer binary NDCG@k; customers with no positive score 0."""
    ranked, lab, hits = _hits(scores, labels, k=k, held=held)
    disc = 1.0 / np.log2(np.arange(2, ranked.shape[1] + 2))
    dcg = (hits * disc).sum(axis=1)
    n_pos = np.minimum(lab.sum(axis=1), ranked.shape[1])
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[n_pos]
    return np.divide(dcg, ideal, out=np.zeros(len(dcg)), where=ideal > 0)


def ndcg_at_k(
    scores: np.ndarray, labels: np.ndarray, *, k: int = 5, held: np.ndarray | None = None
) -> float:
    """Mean binary NDCG@k over all customers."""
    return float(ndcg_per_customer(scores, labels, k=k, held=held).mean())


def precision_at_1_per_customer(
    scores: np.ndarray, labels: np.ndarray, *, held: np.ndarray | None = None
) -> np.ndarray:
    """1 where the top recommended product was added, else 0."""
    _check(scores, labels)
    first = top_k(scores, k=1, held=held)[:, 0]
    lab = np.asarray(labels) > 0
    return np.where(first >= 0, lab[np.arange(len(first)), np.maximum(first, 0)], False).astype(
        np.float64
    )


def precision_at_1(
    scores: np.ndarray, labels: np.ndarray, *, held: np.ndarray | None = None
) -> float:
    """Share of customers whose top recommendation was added."""
    return float(precision_at_1_per_customer(scores, labels, held=held).mean())


def per_product_auc(
    scores: np.ndarray, labels: np.ndarray, *, held: np.ndarray | None = None
) -> list[float | None]:
    """ROC AUC per product over customers who did not hold it; None when one class is missing."""
    _check(scores, labels)
    out: list[float | None] = []
    for j in range(scores.shape[1]):
        mask = np.ones(len(scores), dtype=bool) if held is None else np.asarray(held)[:, j] == 0
        y = np.asarray(labels)[mask, j] > 0
        if y.all() or not y.any():
            out.append(None)
            continue
        out.append(float(roc_auc_score(y, np.asarray(scores)[mask, j])))
    return out


def brier(probs: np.ndarray, labels: np.ndarray, *, held: np.ndarray | None = None) -> float:
    """Mean squared error of probabilities over (customer, product) cells not held."""
    _check(probs, labels)
    mask = np.ones(probs.shape, dtype=bool) if held is None else np.asarray(held) == 0
    diff = np.asarray(probs, dtype=np.float64) - (np.asarray(labels) > 0)
    return float(np.mean(diff[mask] ** 2))


def quantile_bins(p: np.ndarray, *, bins: int = 10) -> np.ndarray:
    """Bin index per value: `bins` bins of equal counts (±1) by rank of p (ties by position).

    Equal-width bins say nothing when every probability is small (all of santander's cells fall
    below 0.1, i.e. into one bin); equal counts always give `bins` informative points."""
    p = np.asarray(p, dtype=np.float64)
    n = len(p)
    b = max(1, min(bins, n))
    out = np.empty(n, dtype=np.int64)
    out[np.argsort(p, kind="stable")] = np.arange(n) * b // max(n, 1)
    return out


def calibration_table(
    probs: np.ndarray, labels: np.ndarray, *, bins: int = 10
) -> dict[str, list[float]]:
    """Per quantile bin: lowest and highest probability, mean predicted, observed rate, count."""
    p = np.asarray(probs, dtype=np.float64).ravel()
    y = (np.asarray(labels) > 0).ravel().astype(np.float64)
    idx = quantile_bins(p, bins=bins)
    b = int(idx.max()) + 1 if len(p) else 0
    count = np.bincount(idx, minlength=b)
    out: dict[str, list[float]] = {
        "low": [], "high": [], "mean_predicted": [], "observed_rate": [], "count": []
    }  # fmt: skip
    for k in range(b):
        members = idx == k
        out["low"].append(float(p[members].min()))
        out["high"].append(float(p[members].max()))
        out["mean_predicted"].append(float(p[members].mean()))
        out["observed_rate"].append(float(y[members].mean()))
        out["count"].append(int(count[k]))
    return out


def expected_calibration_error(
    probs: np.ndarray, labels: np.ndarray, *, bins: int = 10, held: np.ndarray | None = None
) -> float:
    """ECE over `bins` quantile bins (equal cell counts), weighted by cell count."""
    _check(probs, labels)
    mask = np.ones(probs.shape, dtype=bool) if held is None else np.asarray(held) == 0
    p = np.clip(np.asarray(probs, dtype=np.float64)[mask], 0.0, 1.0)
    y = (np.asarray(labels) > 0)[mask].astype(np.float64)
    if len(p) == 0:
        return 0.0
    idx = quantile_bins(p, bins=bins)
    sum_p = np.bincount(idx, weights=p)
    sum_y = np.bincount(idx, weights=y)
    return float(np.sum(np.abs(sum_p - sum_y)) / len(p))


def catalogue_coverage(scores: np.ndarray, *, k: int = 7, held: np.ndarray | None = None) -> float:
    """Share of products that appear in at least one customer's top k."""
    ranked = top_k(scores, k=k, held=held)
    shown = np.unique(ranked[ranked >= 0])
    return float(len(shown) / scores.shape[1])


def hits_in_top(scores: np.ndarray, labels: np.ndarray, *, n: int) -> int:
    """Positives among the n highest-scored customers (single-product campaigns, e.g. CoIL)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel() > 0
    order = np.argsort(-s, kind="stable")[:n]
    return int(y[order].sum())


def bootstrap_ci(
    per_customer: np.ndarray,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, float]:
    """Percentile bootstrap CI of a per-customer metric's mean, resampling customers."""
    values = np.asarray(per_customer, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"per_customer must be a non-empty 1-D array, got shape {values.shape}")
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for b in range(n_boot):
        means[b] = values[rng.integers(0, len(values), len(values))].mean()
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {"mean": float(values.mean()), "low": float(lo), "high": float(hi)}
