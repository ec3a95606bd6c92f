"""Contact-plan test helpers: a hand-made book of customers stored in a fresh store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from factories import make_customer
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from recsvc.customers import Customer
from recsvc.store.customer_repo import customer_to_row
from recsvc.store.tables import ClientManagerRow, CustomerRow, HoldingRow

WEEK = "2026-W48"
MONDAY = dt.date(2026, 11, 23)


def days(n: int) -> str:
    """MONDAY + n days, in wire form."""
    return (MONDAY + dt.timedelta(days=n)).isoformat()


def book_customer(customer_id: str, manager_id: str, **overrides: Any) -> Customer:
    """A gold-tier 46-year-old with a valid assessment and no key date in the plan's week."""
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "manager_id": manager_id,
        "birth_date": "1980-06-15",
        "customer_since": None,
        "aum": 300_000,
        "assessment_date": days(-100),
        "holdings": [],
        "recent_transactions": [],
    }
    values.update(overrides)
    return make_customer(**values)


def store_book(
    engine: Engine, customers: list[Customer], managers: dict[str, tuple[int, int]]
) -> None:
    """Customers with holdings, and client managers as {id: (level, cap)}."""
    with Session(engine) as session:
        session.execute(
            insert(ClientManagerRow),
            [{"manager_id": m, "branch_id": "B001", "level": lv, "book_size_cap": cap}
             for m, (lv, cap) in managers.items()],
        )  # fmt: skip
        session.execute(insert(CustomerRow), [customer_to_row(c) for c in customers])
        holdings = [
            {"customer_id": c.customer_id, **dataclasses.asdict(h)}
            for c in customers
            for h in c.holdings
        ]
        if holdings:
            session.execute(insert(HoldingRow), holdings)
        session.commit()
