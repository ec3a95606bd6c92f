"""Arbitration: which suitable products to put first. Pure; no score ever adds a product."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
