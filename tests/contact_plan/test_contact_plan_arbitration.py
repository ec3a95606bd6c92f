"""arbitrate_columns (the contact plan's arbitration on whole columns) against arbitrate(): for
every customer the same ranking (products, propensities, expected values, scores, in the same
order), the same best expected value and the same top product, on a large drawn book full of
ties (propensities from a few values, weights that make products of different families score
the same) and on hypothesis cases (shuffled catalogue order, other family limits, degraded)."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from recsvc.catalog import Catalogue, load_catalogue
from recsvc.config import Settings
from recsvc.service.arbitration import arbitrate, arbitrate_columns
from recsvc.service.config import ServiceConfig, load_service_config

SETTINGS = Settings()
CATALOGUE: Catalogue = load_catalogue(SETTINGS.catalogue_path)
PRODUCTS = list(CATALOGUE.products)
CONFIG: ServiceConfig = load_service_config(SETTINGS.service_config_path)
ORDER = {p.product_id: i for i, p in enumerate(PRODUCTS)}
# few distinct values, so scores tie often (within a family and across families)
TIED = (0.0, 0.125, 0.25, 0.5, 1.0)


def _assert_same(
    eligible: np.ndarray,
    propensities: np.ndarray | None,
    config: ServiceConfig,
    order: dict[str, int],
) -> None:
    got = arbitrate_columns(
        PRODUCTS, eligible, propensities=propensities, config=config, order=order
    )
    for i in range(len(eligible)):
        allowed = [p for p, ok in zip(PRODUCTS, eligible[i], strict=True) if ok]
        props = None
        if propensities is not None:
            props = {p.product_id: float(v) for p, v in zip(PRODUCTS, propensities[i], strict=True)}
        ranked, _ = arbitrate(
            allowed, propensities=props, transaction_weights={}, config=config, order=order
        )
        want = [(r.product.product_id, r.expected_value, r.score) for r in ranked]
        mine = [
            (PRODUCTS[j].product_id, float(got.expected[i, j]), float(got.score[i, j]))
            for j in got.ranked[i]
        ]
        assert mine == want, i
        best = max((r.expected_value for r in ranked), default=0.0)
        assert got.best_value[i] == best, i
        if ranked:
            top = max(ranked, key=lambda r: r.expected_value).product.product_id
            assert PRODUCTS[got.top[i]].product_id == top, i
        else:
            assert got.top[i] == -1, i


def _tie_weights(config: ServiceConfig) -> ServiceConfig:
    """Every product's weight set so that score = value x propensity / value-of-first: equal
    propensities give equal scores across products and families (ties everywhere)."""
    weights = {p.product_id: 1.0 / p.value for p in PRODUCTS}
    return dataclasses.replace(config, product_weights=weights, family_weights={})


def test_large_drawn_book_ranks_as_arbitrate() -> None:
    rng = np.random.default_rng(14)
    n = 20_000
    eligible = rng.random((n, len(PRODUCTS))) < 0.6
    tied = np.array(TIED)[rng.integers(0, len(TIED), (n, len(PRODUCTS)))]
    free = rng.random((n, len(PRODUCTS)))
    propensities = np.where(rng.random((n, len(PRODUCTS))) < 0.5, tied, free)
    for config in (CONFIG, _tie_weights(CONFIG), dataclasses.replace(CONFIG, max_per_family=1)):
        _assert_same(eligible, propensities, config, ORDER)
    _assert_same(eligible, None, CONFIG, ORDER)  # degraded: no model, ties by value x weight
    _assert_same(np.zeros((3, len(PRODUCTS)), dtype=bool), propensities[:3], CONFIG, ORDER)
    _assert_same(np.zeros((0, len(PRODUCTS)), dtype=bool), propensities[:0], CONFIG, ORDER)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    rows=st.integers(min_value=1, max_value=6),
    per_family=st.integers(min_value=1, max_value=4),
    ties=st.booleans(),
    degraded=st.booleans(),
)
def test_hypothesis_ranks_as_arbitrate(
    data: st.DataObject, rows: int, per_family: int, ties: bool, degraded: bool
) -> None:
    width = len(PRODUCTS)
    eligible = np.array(
        data.draw(st.lists(st.lists(st.booleans(), min_size=width, max_size=width),
                           min_size=rows, max_size=rows))
    )  # fmt: skip
    value = st.sampled_from(TIED) | st.floats(min_value=0.0, max_value=1.0)
    propensities = np.array(
        data.draw(st.lists(st.lists(value, min_size=width, max_size=width),
                           min_size=rows, max_size=rows))
    )  # fmt: skip
    order_list = data.draw(st.permutations(list(range(width))))
    order = {p.product_id: k for p, k in zip(PRODUCTS, order_list, strict=True)}
    config = dataclasses.replace(
        _tie_weights(CONFIG) if ties else CONFIG, max_per_family=per_family
    )
    _assert_same(eligible, None if degraded else propensities, config, order)
