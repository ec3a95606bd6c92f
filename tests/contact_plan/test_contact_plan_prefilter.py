"""The batch path builds Customer objects only where a profile trigger may fire
(ContactPlanner._may_trigger): that must be a superset of profile_triggers, at every window's
edge (matured, maturing, value swing, follow-up, birthdays and anniversaries incl. 29 Feb, the
assessment's expiry), or the plan silently loses entries."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
from contact_plan_support import MONDAY, book_customer, store_book

from recsvc.service.contact_plan import ContactPlanner, _days_to_next
from recsvc.service.contact_triggers import (
    ASSESSMENT_EXPIRING,
    FOLLOW_UP,
    KEY_DATE,
    MATURED,
    MATURING,
    VALUE_SWING,
    days_to_next,
    profile_triggers,
)
from recsvc.store.contact_plan import iter_contactable_chunks


def _edge_book(planner: ContactPlanner, n: int, seed: int) -> list[object]:
    rng = np.random.default_rng(seed)
    triggers, validity = planner.config.triggers, planner.rules.assessment_validity_days
    windows = [triggers[c].window_days or 0 for c in (MATURED, MATURING, FOLLOW_UP, KEY_DATE)]
    offsets = sorted({d + e for d in (*windows, 0) for e in (-1, 0, 1)})
    swing_pct = float(triggers[VALUE_SWING].threshold or 0.0)
    expiring_days = triggers[ASSESSMENT_EXPIRING].window_days or 0

    def day(k: int) -> str:
        return (MONDAY + dt.timedelta(days=int(k))).isoformat()

    customers = []
    for i in range(n):
        holdings = []
        for j in range(int(rng.integers(0, 3))):
            holding: dict[str, object] = {"product_id": ("time_deposit", "fund_plan")[j]}
            if rng.random() < 0.6:
                holding["maturity_date"] = day(rng.choice(offsets) * rng.choice([-1, 1]))
            opened = day(-rng.choice(offsets))
            if rng.random() < 0.3 and str(holding.get("maturity_date", opened)) >= opened:
                holding["open_date"] = opened
            if rng.random() < 0.3:
                swing = swing_pct + rng.choice([-0.01, 0.0, 0.01])
                holding["value_change_pct"] = float(swing * rng.choice([-1, 1]))
            holdings.append(holding)
        born = MONDAY.replace(year=1970) + dt.timedelta(days=int(rng.choice(offsets)))
        assessed = validity - expiring_days + int(rng.choice([-1, 0, 1, 40]))
        customers.append(book_customer(
            f"C{i:04d}", "M1", holdings=holdings,
            birth_date=(dt.date(1972, 2, 29) if rng.random() < 0.1 else born).isoformat(),
            customer_since=day(-365 * 3 + rng.choice(offsets)) if rng.random() < 0.5 else None,
            **({"assessment_date": None, "risk_level": None} if rng.random() < 0.1
               else {"assessment_date": day(-assessed), "risk_level": "C3"}),
        ))  # fmt: skip
    return customers


def test_may_trigger_keeps_every_customer_a_profile_trigger_fires_for(
    planner: ContactPlanner,
) -> None:
    store_book(planner.engine, _edge_book(planner, 1500, seed=5), {"M1": (3, 10)})
    fired = kept = 0
    for as_of in (MONDAY, MONDAY + dt.timedelta(days=3)):
        for chunk in iter_contactable_chunks(planner.engine, 500):
            may = planner._may_trigger(chunk, as_of)
            for i, customer in enumerate(chunk.customers):
                expiry = None
                if customer.risk_level is not None and customer.assessment_date is not None:
                    age = (as_of - customer.assessment_date).days
                    validity = planner.rules.assessment_validity_days
                    expiry = validity - age if 0 <= age <= validity else None
                found = profile_triggers(
                    customer, as_of=as_of, days_to_expiry=expiry, config=planner.config
                )
                fired += bool(found)
                kept += bool(may[i])
                assert may[i] or not found, (customer.customer_id, found)
    assert 0 < fired <= kept < 2 * 1500  # the edges are reached, and most are left out


def test_a_trigger_the_pre_filter_does_not_know_keeps_every_customer(
    planner: ContactPlanner,
) -> None:
    """A trigger added in contact_plan.yaml with its detector (issue 15: two touches) is not in
    the pre-filter's windows: the pre-filter must then keep everyone, not drop whom it fires for."""
    store_book(planner.engine, _edge_book(planner, 300, seed=7), {"M1": (3, 10)})
    shipped = planner.config.triggers
    added = dataclasses.replace(shipped[FOLLOW_UP], code="LARGE_BALANCE")
    planner.config = dataclasses.replace(
        planner.config, triggers={**shipped, "LARGE_BALANCE": added}
    )
    for chunk in iter_contactable_chunks(planner.engine, 500):
        assert planner._may_trigger(chunk, MONDAY).all()


def test_the_pre_filters_key_dates_on_columns_are_days_to_next() -> None:
    """The pre-filter counts days to birthdays and anniversaries on whole date columns
    (_days_to_next): the same as days_to_next for every day of eight years (29 Feb in leap and
    other years) seen from dates around the year's and February's ends."""
    days = [dt.date(1995, 1, 1) + dt.timedelta(days=i) for i in range(8 * 366)]
    column = np.array(days, dtype="datetime64[D]")
    for as_of in (MONDAY, dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2027, 2, 28),
                  dt.date(2027, 3, 1), dt.date(2028, 2, 28), dt.date(2028, 2, 29)):  # fmt: skip
        expected = [days_to_next(d, as_of) for d in days]
        assert _days_to_next(column, as_of).tolist() == expected, as_of
