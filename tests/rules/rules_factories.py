"""Customer factory and dates for rules tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from recsvc.customers import Customer
from recsvc.rules import Verdict

AS_OF = dt.date(2026, 9, 30)

Run = Callable[..., Verdict]


def born_aged(age: int, as_of: dt.date = AS_OF) -> dt.date:
    """A birth date giving exactly this age on as_of (birthday was yesterday)."""
    day_before = as_of - dt.timedelta(days=1)
    return day_before.replace(year=day_before.year - age)


def make_customer(**overrides: Any) -> Customer:
    """A 40-year-old platinum C5 customer, assessed in March: suitable for every product."""
    base = Customer(
        customer_id="R0000001",
        birth_date=born_aged(40),
        gender="F",
        branch_id="B001",
        occupation="employee",
        monthly_income=20000,
        income_stability="stable",
        salary_via_bank=True,
        aum=2_000_000,
        risk_level=5,
        assessment_date=dt.date(2026, 3, 1),
    )
    return dataclasses.replace(base, **overrides)
