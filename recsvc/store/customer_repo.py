"""Reading customers back as recsvc.customers.Customer, one or a bounded chunk at a time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from recsvc.customers.profile import ChannelHabits, Customer, Holding, Transaction
from recsvc.store.constants import CHANNEL_HABIT_COLUMNS, CUSTOMER_COLUMNS
from recsvc.store.tables import CustomerRow, HoldingRow, TransactionRow

_PLAIN_COLUMNS = tuple(c for c in CUSTOMER_COLUMNS if c not in CHANNEL_HABIT_COLUMNS)


def customer_to_row(customer: Customer) -> dict[str, Any]:
    """The customers table values of a Customer (holdings and transactions live elsewhere)."""
    row = {column: getattr(customer, column) for column in _PLAIN_COLUMNS}
    row.update(dataclasses.asdict(customer.channel_habits))
    return row


def customer_from_row(row: Any, holdings: Sequence[Any], transactions: Sequence[Any]) -> Customer:
    """A Customer from its customers row and its holdings and transactions rows (ORM objects
    or Core rows: read by attribute)."""
    values = {column: getattr(row, column) for column in _PLAIN_COLUMNS}
    habits = ChannelHabits(**{column: getattr(row, column) for column in CHANNEL_HABIT_COLUMNS})
    return Customer(
        **values,
        channel_habits=habits,
        holdings=tuple(
            Holding(
                product_id=h.product_id,
                amount=h.amount,
                open_date=h.open_date,
                maturity_date=h.maturity_date,
                value_change_pct=h.value_change_pct,
            )
            for h in holdings
        ),
        recent_transactions=tuple(
            Transaction(type=t.type, amount=t.amount, date=t.date, channel=t.channel)
            for t in transactions
        ),
    )


def get_customer(
    session: Session, customer_id: str, *, transactions_since: dt.date | None = None
) -> Customer | None:
    """The customer with holdings (by product_id) and transactions (oldest first), or None."""
    row = session.get(CustomerRow, customer_id)
    if row is None:
        return None
    holdings = session.scalars(
        select(HoldingRow)
        .where(HoldingRow.customer_id == customer_id)
        .order_by(HoldingRow.product_id)
    ).all()
    query = select(TransactionRow).where(TransactionRow.customer_id == customer_id)
    if transactions_since is not None:
        query = query.where(TransactionRow.date >= transactions_since)
    transactions = session.scalars(query.order_by(TransactionRow.date, TransactionRow.id)).all()
    return customer_from_row(row, holdings, transactions)


def manager_of(session: Session, customer_id: str) -> str | None:
    """The client manager whose book holds the customer (None: no one's, or no such customer)."""
    return session.scalar(
        select(CustomerRow.manager_id).where(CustomerRow.customer_id == customer_id)
    )
