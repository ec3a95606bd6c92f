"""Arbitration: which suitable products to put first. Pure; no score ever adds a product."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recsvc.catalog.product import Product
from recsvc.service.config import ServiceConfig


@dataclass(frozen=True)
class Ranked:
    """A suitable product with the numbers that put it where it is."""

    product: Product
    propensity: float | None  # calibrated probability; None when degraded (no model)
    expected_value: float  # propensity x value
    score: float  # expected value x business weight x transaction weight


def arbitrate(
    eligible: Sequence[Product],
    *,
    propensities: Mapping[str, float] | None,
    transaction_weights: Mapping[str, float],
    config: ServiceConfig,
    order: Mapping[str, int],
) -> tuple[list[Ranked], list[Ranked]]:
    """Rank eligible products by priority (ties by catalogue order); at most N per family.

    Returns the ranking and what the family limit left out (shown as FAMILY_LIMIT)."""
    ranked = []
    for product in eligible:
        p = None if propensities is None else float(propensities[product.product_id])
        base = config.degraded_propensity if p is None else p
        expected = base * product.value
        score = expected * config.weight(product.product_id, product.family)
        score *= transaction_weights.get(product.product_id, 1.0)
        ranked.append(Ranked(product, p, expected, score))
    ranked.sort(key=lambda r: (-r.score, order[r.product.product_id]))
    kept: list[Ranked] = []
    dropped: list[Ranked] = []
    per_family: dict[str, int] = {}
    for entry in ranked:
        family = entry.product.family
        if per_family.get(family, 0) < config.max_per_family:
            per_family[family] = per_family.get(family, 0) + 1
            kept.append(entry)
        else:
            dropped.append(entry)
    return kept, dropped


@dataclass(frozen=True)
class RankedColumns:
    """arbitrate() for a group of customers at once (arbitrate_columns). Per customer: the
    catalogue positions of the ranking (what the family limit kept, best first), the best
    expected value among them (0.0 if none) and the position of the first in the ranking with
    it (-1 if none). expected and score are n x P in catalogue order (meaningless where the
    product is not eligible)."""

    ranked: list[list[int]]
    best_value: list[float]
    top: list[int]
    expected: np.ndarray
    score: np.ndarray


def arbitrate_columns(
    products: Sequence[Product],
    eligible: np.ndarray,
    *,
    propensities: np.ndarray | None,
    config: ServiceConfig,
    order: Mapping[str, int],
) -> RankedColumns:
    """arbitrate() on whole columns, without transaction weights: `eligible` (n x P, bool) and
    `propensities` (n x P, or None when degraded) in the order of `products`. The same numbers
    as arbitrate (float64, multiplied in the same order), the same ranking (score descending,
    ties by catalogue order), the same family limit; held to arbitrate by
    tests/contact_plan/test_contact_plan_arbitration.py."""
    eligible = np.asarray(eligible, dtype=bool)
    n, width = eligible.shape
    values = np.array([p.value for p in products], dtype=np.float64)
    weights = np.array([config.weight(p.product_id, p.family) for p in products], np.float64)
    if propensities is None:
        base = np.full((n, width), config.degraded_propensity, dtype=np.float64)
    else:
        base = np.asarray(propensities, dtype=np.float64)
    expected = base * values[None, :]
    score = expected * weights[None, :]
    catalogue_rank = np.broadcast_to(
        np.array([order[p.product_id] for p in products], dtype=np.int64), (n, width)
    )
    # not eligible sorts last; ties on the score by catalogue order (lexsort: last key first)
    idx = np.lexsort((catalogue_rank, np.where(eligible, -score, np.inf)), axis=-1)
    ok = np.take_along_axis(eligible, idx, axis=1)
    families = {f: k for k, f in enumerate(dict.fromkeys(p.family for p in products))}
    family_of = np.array([families[p.family] for p in products], dtype=np.int64)[idx]
    kept = np.zeros_like(ok)
    for k in range(len(families)):
        of_family = ok & (family_of == k)
        kept |= of_family & (np.cumsum(of_family, axis=1) <= config.max_per_family)
    counts = kept.sum(axis=1)
    compact = np.take_along_axis(idx, np.argsort(~kept, axis=1, kind="stable"), axis=1)
    ranked = [row[:c] for row, c in zip(compact.tolist(), counts.tolist(), strict=True)]
    in_rank = np.where(kept, np.take_along_axis(expected, idx, axis=1), -np.inf)
    first = in_rank.argmax(axis=1) if width else np.zeros(n, dtype=np.int64)
    none = counts == 0
    best = np.where(none, 0.0, in_rank[np.arange(n), first] if width else 0.0)
    top = np.where(none, -1, idx[np.arange(n), first] if width else -1)
    return RankedColumns(ranked, best.tolist(), top.tolist(), expected, score)
