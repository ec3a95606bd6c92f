"""The batch rules (recsvc.rules.batch) against evaluate(): for every customer x product the same
decision and the same reason codes in the same order, and the same next actions.

A book of synthetic customers drawn around every threshold the rules read (ages at the birthday
for 17/18/64/65/69/70/75/79/80, assessments at the validity boundary, AUM and income at each
minimum, matured and required holdings, declines and acceptances at the edge of their windows,
no risk level, no consent, complaints), on three channels and two dates; plus hypothesis cases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsvc.catalog import PITCH_CHANNELS, Catalogue, load_catalogue
from recsvc.config import Settings
from recsvc.customers import BankConfig, Customer, Holding, load_bank_config
from recsvc.rules import REASON_CODES, RulesConfig, customer_facts, evaluate, load_rules_config
from recsvc.rules.batch import DateMap, codes_of, evaluate_batch

SETTINGS = Settings()
CATALOGUE: Catalogue = load_catalogue(SETTINGS.catalogue_path)
RULES: RulesConfig = load_rules_config(SETTINGS.rules_config_path)
BANK: BankConfig = load_bank_config(SETTINGS.bank_config_path)
# 28 Feb of a common year and a leap day: birthdays on 29 Feb and the day after sit at the edge
AS_OF_DATES = (dt.date(2026, 2, 28), dt.date(2028, 2, 29), dt.date(2026, 9, 30))
BOOK_SIZE = 100_000  # ~30 s on the shared 2-core machine, nearly all of it in evaluate()


def _edges() -> dict[str, list[float]]:
    """Every number a rule compares with, and its neighbours."""
    ages = {RULES.minor_below, *(e.from_age for e in RULES.elderly)}
    ages |= {a for p in CATALOGUE for a in (p.eligibility.min_age, p.eligibility.max_age) if a}
    money = {t.min_aum for t in BANK.tiers} | {p.eligibility.min_aum for p in CATALOGUE}
    income = {p.eligibility.min_monthly_income for p in CATALOGUE}
    validity = RULES.assessment_validity_days
    return {
        "age": sorted({a + d for a in ages for d in (-1, 0, 1)} | {0, 40, 100}),
        "aum": sorted({m + d for m in money for d in (-0.01, 0.0, 0.01)} | {0.0}),
        "income": sorted({m + d for m in income for d in (-0.01, 0.0, 0.01)} | {0.0}),
        "assessment": [validity + d for d in (-1, 0, 1)]
        + [validity - RULES.assessment_expiring_days + d for d in (-1, 0, 1)]
        + [0, -1, 100, 2000],
        "window": sorted(
            {w + d for w in (RULES.declined_fatigue_days, RULES.opening_days) for d in (-1, 0, 1)}
            | {0, -1, 5}
        ),
    }


def _birth(rng: np.random.Generator, age: int, as_of: dt.date) -> dt.date:
    """Born `age` years before as_of, a day either side of the birthday, or on 29 Feb."""
    year = as_of.year - age
    kind = rng.integers(0, 4)
    if kind == 3:
        leap = year - year % 4
        return dt.date(leap, 2, 29)
    try:
        birthday = as_of.replace(year=year)
    except ValueError:  # as_of is 29 Feb
        birthday = dt.date(year, 2, 28)
    return birthday + dt.timedelta(days=int(kind) - 1)


def synthetic_book(
    n: int, as_of: dt.date, seed: int
) -> tuple[list[Customer], dict[str, dict[str, dt.date]], dict[str, dict[str, dt.date]]]:
    """n customers around the thresholds, with their recent declines and acceptances."""
    rng = np.random.default_rng(seed)
    edges = _edges()
    ids = list(CATALOGUE.ids)
    day = dt.timedelta(days=1)
    customers, declines, acceptances = [], {}, {}
    for i in range(n):
        cid = f"C{seed:02d}{i:07d}"
        risk = None if rng.random() < 0.15 else int(rng.integers(1, 6))
        assessed = None
        if rng.random() < 0.9:
            assessed = as_of - int(rng.choice(edges["assessment"])) * day
        held = rng.choice(ids, size=int(rng.integers(0, 6)), replace=False)
        holdings = []
        for pid in held:
            mature = rng.choice([None, -1, 0, 1, 30])  # days from as_of; -1 has matured
            opened = rng.choice([None, -40, -10, -1, 0])
            holdings.append(Holding(
                str(pid),
                open_date=None if opened is None else as_of + int(opened) * day,
                maturity_date=None if mature is None else as_of + int(mature) * day,
            ))  # fmt: skip
        customers.append(Customer(
            customer_id=cid,
            birth_date=_birth(rng, int(rng.choice(edges["age"])), as_of),
            gender="F",
            branch_id="B001",
            monthly_income=float(rng.choice(edges["income"])),
            aum=float(rng.choice(edges["aum"])),
            risk_level=risk,
            assessment_date=assessed,
            holdings=tuple(holdings),
            consent_marketing=bool(rng.random() < 0.85),
            open_complaint=bool(rng.random() < 0.1),
        ))  # fmt: skip
        if rng.random() < 0.3:
            picked = rng.choice(ids, size=int(rng.integers(1, 4)), replace=False)
            declines[cid] = {str(p): as_of - int(rng.choice(edges["window"])) * day for p in picked}
        if rng.random() < 0.3:
            picked = rng.choice([*held, *ids[:3]], size=2, replace=True)
            acceptances[cid] = {
                str(p): as_of - int(rng.choice(edges["window"])) * day for p in picked
            }
    return customers, declines, acceptances


def _mismatches(
    customers: Sequence[Customer],
    channel: str,
    as_of: dt.date,
    declines: DateMap,
    acceptances: DateMap,
    catalogue: Catalogue = CATALOGUE,
) -> list[str]:
    """Customers whose batch verdict differs from evaluate()'s: decisions, codes, next steps."""
    batch = evaluate_batch(
        customers, catalogue, channel=channel, as_of=as_of, rules=RULES, bank=BANK,
        recent_declines=declines, recent_acceptances=acceptances,
    )  # fmt: skip
    bad = []
    for i, customer in enumerate(customers):
        expected = evaluate(
            customer, catalogue, channel=channel, as_of=as_of, rules=RULES, bank=BANK,
            recent_declines=declines.get(customer.customer_id, {}),
            recent_acceptances=acceptances.get(customer.customer_id, {}),
        )  # fmt: skip
        facts = customer_facts(customer, as_of=as_of, rules=RULES, bank=BANK)
        expiry = batch.days_to_expiry[i]
        same_expiry = (
            np.isnan(expiry) if facts.days_to_expiry is None else expiry == facts.days_to_expiry
        )
        if batch.verdict(i, catalogue, RULES) != expected or not same_expiry:
            bad.append(customer.customer_id)
    return bad


@pytest.mark.slow
def test_batch_rules_equal_evaluate_on_a_book_around_every_threshold() -> None:
    per_part = BOOK_SIZE // (len(AS_OF_DATES) * len(PITCH_CHANNELS))
    checked, seen_codes = 0, set()
    for k, as_of in enumerate(AS_OF_DATES):
        for c, channel in enumerate(PITCH_CHANNELS):
            customers, declines, acceptances = synthetic_book(per_part, as_of, seed=3 * k + c)
            assert _mismatches(customers, channel, as_of, declines, acceptances) == []
            batch = evaluate_batch(
                customers, CATALOGUE, channel=channel, as_of=as_of, rules=RULES, bank=BANK,
                recent_declines=declines, recent_acceptances=acceptances,
            )  # fmt: skip
            seen_codes |= {code for m in np.unique(batch.masks) for code in codes_of(int(m))}
            checked += len(customers)
    assert checked >= BOOK_SIZE - 9
    assert seen_codes == set(REASON_CODES)  # the book reaches every rule


AGES = (17, 18, 64, 65, 69, 70, 71, 74, 75, 76, 79, 80)


@st.composite
def edge_cases(draw: st.DrawFn) -> tuple[Customer, str, dt.date, dict[str, dt.date],
                                         dict[str, dt.date]]:  # fmt: skip
    """One customer at an edge: an age the day before, of or after the birthday; the assessment
    at the validity boundary; no risk level; no consent; a complaint; matured holdings."""
    as_of = draw(st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)))
    age = draw(st.sampled_from(AGES))
    shift = draw(st.sampled_from([-1, 0, 1]))
    try:
        birthday = as_of.replace(year=as_of.year - age)
    except ValueError:
        birthday = dt.date(as_of.year - age, 2, 28)
    birth = draw(st.sampled_from([birthday + dt.timedelta(days=shift), dt.date(1960, 2, 29)]))
    risk = draw(st.none() | st.integers(1, 5))
    validity = RULES.assessment_validity_days
    days_ago = draw(st.none() | st.sampled_from([validity - 1, validity, validity + 1, 0, -1]))
    held = draw(st.lists(st.sampled_from(CATALOGUE.ids), max_size=5, unique=True))
    maturity = st.none() | st.sampled_from([-1, 0, 1]).map(lambda d: as_of + dt.timedelta(days=d))
    opened = st.none() | st.just(as_of)
    holdings = tuple(
        Holding(pid, maturity_date=draw(maturity), open_date=draw(opened)) for pid in held
    )
    window = st.sampled_from([-1, 0, 1, 29, 30, 31]).map(lambda d: as_of - dt.timedelta(days=d))
    customer = Customer(
        customer_id="C00000001",
        birth_date=birth,
        gender="M",
        branch_id="B001",
        monthly_income=draw(st.sampled_from([0.0, 2999.99, 3000.0])),
        aum=draw(st.sampled_from([0.0, 9999.99, 10000.0, 50000.0, 200000.0, 1e6, 3e6, 1e7])),
        risk_level=risk,
        assessment_date=None if days_ago is None else as_of - dt.timedelta(days=days_ago),
        holdings=holdings,
        consent_marketing=draw(st.booleans()),
        open_complaint=draw(st.booleans()),
    )
    declines = draw(st.dictionaries(st.sampled_from(CATALOGUE.ids), window, max_size=3))
    accepted = draw(st.dictionaries(st.sampled_from(CATALOGUE.ids), window, max_size=3))
    return customer, draw(st.sampled_from(PITCH_CHANNELS)), as_of, declines, accepted


@settings(max_examples=400, deadline=None)
@given(edge_cases())
def test_batch_rules_equal_evaluate_at_the_edges(
    case: tuple[Customer, str, dt.date, dict[str, dt.date], dict[str, dt.date]],
) -> None:
    customer, channel, as_of, declines, accepted = case
    cid = customer.customer_id
    assert _mismatches([customer], channel, as_of, {cid: declines}, {cid: accepted}) == []


def test_one_rule_off_by_one_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parity check can fail: the elderly limit applied a year late is found."""
    from recsvc.rules import batch

    customers, declines, acceptances = synthetic_book(3000, AS_OF_DATES[2], seed=99)
    assert _mismatches(customers, "manager", AS_OF_DATES[2], declines, acceptances) == []
    late = dataclasses.replace(
        RULES, elderly=tuple(dataclasses.replace(e, from_age=e.from_age + 1) for e in RULES.elderly)
    )
    real = batch._elderly_max_risk
    monkeypatch.setattr(batch, "_elderly_max_risk", lambda age, rules: real(age, late))
    assert _mismatches(customers, "manager", AS_OF_DATES[2], declines, acceptances) != []
