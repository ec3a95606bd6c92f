"""Whatever legal overlay is applied (the bank's own numbers anywhere, the law's limits
tightened), every what-if decision accounts for every product once (ranked, or excluded with
at least one known reason code), pitches only what it ranks, and never ranks a product the law
forbids the customer (suitability is law on this path too)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whatif_support import AS_OF

from recsvc.catalog.product import FAMILIES
from recsvc.customers.profile import age_on
from recsvc.rules import REASON_CODES
from recsvc.service.config import DAILY_PITCH_LIMIT, FAMILY_LIMIT
from recsvc.service.whatif import WhatIf
from recsvc.service.wiring import Services
from recsvc.store.contact_plan import customers_by_ids
from recsvc.store.sample import sample_customer_ids

CODES = {*REASON_CODES, FAMILY_LIMIT, DAILY_PITCH_LIMIT}


@st.composite
def overlays(draw: st.DrawFn, products: dict[str, int | None]) -> dict[str, Any]:
    """Random legal overlays over every section: the law's limits tightened or kept."""
    product_ids = tuple(products)
    weights = st.floats(0, 5, allow_nan=False)
    out: dict[str, Any] = {
        "service": {
            "arbitration": {
                "product_weights": draw(st.dictionaries(st.sampled_from(product_ids), weights)),
                "family_weights": draw(st.dictionaries(st.sampled_from(FAMILIES), weights)),
                "max_per_family": draw(st.integers(1, 3)),
            },
            "contact_policy": {"max_products_per_day": draw(st.integers(1, 3))},
        },
        "rules": {
            "assessment": {
                "validity_days": draw(st.integers(30, 365)),
                "unassessed_max_risk": "R1",
            },
            "age": {
                "minor_below": draw(st.integers(18, 25)),
                "elderly": [
                    {
                        "from_age": draw(st.integers(40, 65)),
                        "max_risk": f"R{draw(st.integers(1, 3))}",
                    }
                ],
            },
            "fatigue": {"declined_days": draw(st.integers(1, 120))},
        },
    }
    changed = draw(st.lists(st.sampled_from(product_ids), max_size=3, unique=True))
    out["catalogue"] = {
        p: {"eligibility": {"min_age": draw(st.integers(0, 40))},
            "risk_level": f"R{draw(st.integers(products[p] or 1, 5))}"}
        for p in changed
    }  # fmt: skip
    return out


def test_decisions_account_for_every_product_and_never_rank_an_unsuitable_one(
    services: Services, whatif: WhatIf
) -> None:
    ids = sample_customer_ids(services.engine, 60, seed=9)
    customers = customers_by_ids(services.engine, ids)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(overlays({p.product_id: p.risk_level for p in services.catalogue.products}))
    def check(overlay: dict[str, Any]) -> None:
        after, _ = whatif.overlaid(yaml.safe_dump(overlay))  # legal: never refused
        configs = (whatif.configured(), after)
        for pair in whatif.decisions(ids, configs, as_of=AS_OF):
            for config, decision in zip(configs, pair, strict=True):
                excluded = dict(decision.excluded)
                assert len(excluded) == len(decision.excluded)  # each product once
                assert set(excluded).isdisjoint(decision.ranking)
                assert set(excluded) | set(decision.ranking) == set(config.catalogue.ids)
                assert all(codes and set(codes) <= CODES for codes in excluded.values())
                assert decision.pitch is None or decision.pitch in decision.ranking
                customer = customers[decision.customer_id]
                for product_id in decision.ranking:
                    product = config.catalogue.get(product_id)
                    assert product is not None
                    assert lawful(customer, product.risk_level, product.category)

    check()


def lawful(customer: Any, risk: int | None, category: str) -> bool:
    """The law of ../shared/docs/domain.md, written out apart from the rules' code."""
    age = age_on(customer.birth_date, AS_OF)
    if not customer.consent_marketing or customer.open_complaint:
        return False
    if age < 18 and category in ("credit", "investment"):
        return False
    if age < 18 and category == "insurance" and risk is not None:
        return False
    if risk is None:
        return True
    assessed = customer.assessment_date
    valid = (
        customer.risk_level is not None
        and assessed is not None
        and dt.timedelta(0) <= AS_OF - assessed <= dt.timedelta(days=365)
    )
    if not valid and risk > 1:
        return False
    if customer.risk_level is not None and risk > customer.risk_level:
        return False
    return not (age >= 65 and risk > 3)
