"""Pitches put in front of customers, per day: what the daily contact cap counts.

A customer's day has `slots` places (the cap). Claiming one is an insert-or-read on the unique
(customer_id, day, slot): the database decides who gets a slot when two requests race, on SQLite
and PostgreSQL alike; nobody checks first and inserts after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ClauseElement

from recsvc.store.prepared import PreparedSet
from recsvc.store.tables import PitchLogRow

_TABLE = PitchLogRow.__table__
_KEY = ("customer_id", "day", "slot")


def _claim(insert: Any) -> ClauseElement:
    """INSERT ... ON CONFLICT (customer_id, day, slot) DO NOTHING, in the dialect's own form."""
    values = {c.key: bindparam(c.key, type_=c.type) for c in _TABLE.columns if c.key != "id"}
    statement: ClauseElement = (
        insert(_TABLE).values(values).on_conflict_do_nothing(index_elements=list(_KEY))
    )
    return statement


_IN_SLOT = select(_TABLE.c.product_id).where(
    _TABLE.c.customer_id == bindparam("customer_id"),
    _TABLE.c.day == bindparam("day", type_=_TABLE.c.day.type),
    _TABLE.c.slot == bindparam("slot", type_=_TABLE.c.slot.type),
)
_STATEMENTS = {
    name: PreparedSet({"claim": _claim(insert), "in_slot": _IN_SLOT}, dialect=name)
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}


def record_pitch(
    on: Session | Connection, *, request_id: str, customer_id: str, product_id: str,
    day: dt.date, channel: str, slots: int = 1, experiment_id: str | None = None,
    arm: str | None = None, model_version: str | None = None,
) -> list[str]:  # fmt: skip
    """Claim a slot of the customer's day for the product, in the caller's transaction.

    Returns the products found in the day's slots up to the one that holds this product: the
    product was logged (or already was) if and only if it is in the list; otherwise every slot
    is taken by another product (the list) and the cap is used up."""
    connection = on.connection() if isinstance(on, Session) else on
    statements = _STATEMENTS[connection.dialect.name]
    found: list[str] = []
    for slot in range(slots):
        key = {"customer_id": customer_id, "day": day, "slot": slot}
        statements.run(
            connection, "claim", {**key, "request_id": request_id, "product_id": product_id,
                                  "channel": channel, "experiment_id": experiment_id,
                                  "arm": arm, "model_version": model_version},
        )  # fmt: skip
        (held,) = statements.rows(connection, "in_slot", key)[0]
        found.append(held)
        if held == product_id:
            break
    return found
