"""Test data factories shared by every test package (import as `from factories import ...`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recsvc.customers import Customer, CustomerSchema

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AS_OF = dt.date(2026, 9, 30)
TELLER_TRANSACTIONS = (  # what each teller saw: different triggers, so they would pitch differently
    {"type": "cash_deposit", "amount": 300_000},
    {"type": "cash_withdrawal", "amount": 3_000},
    {"type": "credit_card_repayment", "amount": 5_000},
    {"type": "bill_payment", "amount": 200},
    {"type": "account_opening", "amount": 0},
    None,
)


def teller_pitch(customer_id: str, teller: int) -> dict[str, Any]:
    """A /v1/pitch body: the customer as teller `teller` (TELLER_TRANSACTIONS' index) saw them."""
    body: dict[str, Any] = {"customer_id": customer_id}
    if TELLER_TRANSACTIONS[teller] is not None:
        body["transaction"] = TELLER_TRANSACTIONS[teller]
    return body


def customer_payload(**overrides: Any) -> dict[str, Any]:
    """A valid wire-form profile: a salaried 28-year-old; override any field."""
    payload: dict[str, Any] = {
        "customer_id": "C00000001",
        "birth_date": "1998-05-17",
        "gender": "F",
        "branch_id": "B001",
        "occupation": "employee",
        "monthly_income": 12000,
        "income_stability": "stable",
        "salary_via_bank": True,
        "aum": 80000,
        "risk_level": "C3",
        "assessment_date": "2026-03-01",
        "holdings": [{"product_id": "mobile_banking", "open_date": "2020-01-01"}],
        "channel_habits": {"counter_visits_90d": 2, "mobile_logins_90d": 40},
        "recent_transactions": [
            {"type": "cash_withdrawal", "amount": 3000, "date": "2026-09-10", "channel": "counter"}
        ],
        "consent_marketing": True,
        "open_complaint": False,
        "manager_id": None,
        "customer_since": "2019-06-01",
    }
    payload.update(overrides)
    return payload


def make_customer(**overrides: Any) -> Customer:
    """A validated Customer; overrides use wire form (dates as strings, "C3" levels)."""
    customer: Customer = CustomerSchema().load(customer_payload(**overrides))
    return customer


def broken_copy(source: Path, directory: Path) -> Callable[[str, str], Path]:
    """A writer of a copy of `source` in `directory` with one exact text replaced (the text must
    be there)."""
    original = source.read_text(encoding="utf-8")

    def write(old: str, new: str) -> Path:
        assert old in original, f"test setup: {old!r} not in {source.name}"
        path = directory / source.name
        path.write_text(original.replace(old, new, 1), encoding="utf-8")
        return path

    return write
