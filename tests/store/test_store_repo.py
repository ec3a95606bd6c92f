"""Reading customers back: the Customer that went in comes out, one or in bounded chunks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from recsvc.customers import Customer
from recsvc.store import get_customer, load_customers

Tables = dict[str, list[dict[str, Any]]]
Expected = Callable[[Tables, str], Customer]
IDS = ["C00000001", "C00000002", "C00000003", "C00000004"]


@pytest.fixture
def loaded(engine: Engine, bank_dir: Path) -> Engine:
    load_customers(engine, bank_dir)
    return engine


@pytest.mark.parametrize("customer_id", IDS)
def test_get_customer_round_trips(
    loaded: Engine, tables: Tables, expected: Expected, customer_id: str
) -> None:
    with Session(loaded) as session:
        customer = get_customer(session, customer_id)
    want = expected(tables, customer_id)
    assert customer == want
    assert customer is not None
    assert (customer.name, customer.id_number, customer.phone) == (
        want.name,
        want.id_number,
        want.phone,
    )


def test_get_customer_details(loaded: Engine) -> None:
    with Session(loaded) as session:
        first = get_customer(session, "C00000001")
        recent = get_customer(session, "C00000001", transactions_since=dt.date(2026, 9, 1))
        assert get_customer(session, "C99999999") is None
    assert first is not None and recent is not None
    assert first.risk_level == 3
    assert first.held_product_ids == {"CREDIT_CARD", "WM_R2"}  # the last snapshot only
    assert [t.type for t in first.recent_transactions] == [
        "cash_withdrawal",
        "bill_payment",
        "bill_payment",
    ]
    assert [t.date for t in recent.recent_transactions] == [dt.date(2026, 9, 2)] * 2
