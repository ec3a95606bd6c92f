"""Invariants that must hold for any customer, channel and date: no unsuitable offer, ever."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_factories import AS_OF

from recsvc.catalog import PITCH_CHANNELS, Catalogue, load_catalogue
from recsvc.config import Settings
from recsvc.customers import BankConfig, Customer, Holding, age_on, load_bank_config
from recsvc.rules import REASON_CODES, RulesConfig, Verdict, evaluate, load_rules_config

# Loaded once here, not via function-scoped fixtures (hypothesis reruns the body many times).
SETTINGS = Settings()
CATALOGUE: Catalogue = load_catalogue(SETTINGS.catalogue_path)
RULES: RulesConfig = load_rules_config(SETTINGS.rules_config_path)
BANK: BankConfig = load_bank_config(SETTINGS.bank_config_path)
# The same products with no min_age/max_age: regulation's age protection must hold on its own.
UNGUARDED = Catalogue(
    tuple(
        dataclasses.replace(
            p, eligibility=dataclasses.replace(p.eligibility, min_age=None, max_age=None)
        )
        for p in CATALOGUE
    )
)
AS_OF_DATES = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31))


MOSTLY_TRUE = st.sampled_from([True, True, True, False])
MOSTLY_FALSE = st.sampled_from([False, False, False, True])


def _assessment_dates(as_of: dt.date) -> st.SearchStrategy[dt.date | None]:
    """Valid most of the time (so rated products come into play), else expired, future or none."""
    days = st.sampled_from(
        ["valid", "valid", "valid", "edge", "expired", "future", "none"]
    ).flatmap(
        lambda kind: {
            "valid": st.integers(0, 365),
            "edge": st.sampled_from([0, 334, 335, 365, 366]),
            "expired": st.integers(366, 2000),
            "future": st.integers(-60, -1),
            "none": st.none(),
        }[kind]
    )
    return days.map(lambda d: None if d is None else as_of - dt.timedelta(days=d))


@st.composite
def customer_profiles(draw: st.DrawFn, as_of: dt.date = AS_OF) -> Customer:
    """Any customer: age 0-100, any or no risk level, any assessment date incl. expired."""
    age = draw(st.integers(min_value=0, max_value=100))
    risk_level = draw(st.none() | st.integers(min_value=1, max_value=5))
    held = draw(st.lists(st.sampled_from(CATALOGUE.ids), max_size=8, unique=True))
    return Customer(
        customer_id=draw(st.from_regex(r"C[0-9]{8}", fullmatch=True)),
        birth_date=as_of - dt.timedelta(days=age * 365 + draw(st.integers(0, 364))),
        gender=draw(st.sampled_from(["M", "F"])),
        branch_id="B001",
        monthly_income=draw(st.sampled_from([50000, 0, 2999, 3000, 8000])),
        aum=draw(st.sampled_from([2e7, 0, 9999, 10000, 50000, 200000, 999999, 1e6])),
        risk_level=risk_level,
        assessment_date=draw(_assessment_dates(as_of)) if risk_level is not None else None,
        holdings=tuple(Holding(pid) for pid in held),
        consent_marketing=draw(MOSTLY_TRUE),
        open_complaint=draw(MOSTLY_FALSE),
    )


@st.composite
def requests(draw: st.DrawFn) -> tuple[Customer, str, dt.date, dict[str, dt.date]]:
    as_of = draw(AS_OF_DATES)
    customer = draw(customer_profiles(as_of))
    declined = draw(st.dictionaries(st.sampled_from(CATALOGUE.ids), AS_OF_DATES, max_size=3))
    return customer, draw(st.sampled_from(PITCH_CHANNELS)), as_of, declined


def _evaluate(
    request: tuple[Customer, str, dt.date, dict[str, dt.date]], catalogue: Catalogue = CATALOGUE
) -> Verdict:
    customer, channel, as_of, declined = request
    return evaluate(
        customer,
        catalogue,
        channel=channel,
        as_of=as_of,
        rules=RULES,
        bank=BANK,
        recent_declines=declined,
    )


def _assessment_valid(customer: Customer, as_of: dt.date) -> bool:
    if customer.risk_level is None or customer.assessment_date is None:
        return False
    return 0 <= (as_of - customer.assessment_date).days <= 365


@pytest.mark.parametrize("catalogue", [CATALOGUE, UNGUARDED], ids=["packaged", "no_age_limits"])
@settings(max_examples=500, deadline=None)
@given(requests())
def test_no_unsuitable_product_is_ever_eligible(
    catalogue: Catalogue, request: tuple[Customer, str, dt.date, dict[str, dt.date]]
) -> None:
    customer, channel, as_of, _ = request
    verdict = _evaluate(request, catalogue)
    age = age_on(customer.birth_date, as_of)
    if not customer.consent_marketing or customer.open_complaint:
        assert verdict.eligible == ()
        assert verdict.next_actions == ()
    for product in verdict.eligible:
        risk = product.risk_level or 0
        assert channel in product.channels
        if customer.risk_level is not None:
            assert risk <= customer.risk_level
        if not _assessment_valid(customer, as_of):
            assert risk <= 1
        if age < 18:
            assert product.category not in ("credit", "investment")
            assert not (product.category == "insurance" and product.risk_level is not None)
        if age >= 65:
            assert risk <= 3
        if age >= 80:
            assert risk <= 2
        if not product.repeatable:
            assert product.product_id not in customer.held_product_ids


@settings(max_examples=500, deadline=None)
@given(requests())
def test_every_product_once_with_known_codes_and_deterministic(
    request: tuple[Customer, str, dt.date, dict[str, dt.date]],
) -> None:
    verdict = _evaluate(request)
    eligible = [p.product_id for p in verdict.eligible]
    excluded = list(dict.fromkeys(e.product_id for e in verdict.excluded))
    assert len(eligible) == len(set(eligible))
    assert not set(eligible) & set(excluded)
    assert sorted(eligible + excluded) == sorted(CATALOGUE.ids)
    assert eligible == [i for i in CATALOGUE.ids if i in eligible]  # catalogue order
    assert excluded == [i for i in CATALOGUE.ids if i in excluded]
    for exclusion in verdict.excluded:
        assert exclusion.code in REASON_CODES
        assert all(exclusion.messages.values())
    for product_id in excluded:
        codes = [e.code for e in verdict.reasons_for(product_id)]
        assert len(codes) == len(set(codes))
        assert codes == sorted(codes, key=REASON_CODES.index)
    assert _evaluate(request) == verdict
