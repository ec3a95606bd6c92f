"""Pitches put in front of customers, per day: what the daily contact cap counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from recsvc.store.prepared import PreparedSet, insert_into
from recsvc.store.tables import Base, PitchLogRow

_STATEMENTS = PreparedSet({"insert": insert_into(Base.metadata.tables["pitch_log"])})


def record_pitch(
    session: Session | Connection, *, request_id: str, customer_id: str, product_id: str,
    day: dt.date, channel: str,
) -> None:  # fmt: skip
    """Log a pitch in the caller's transaction (the same one that writes the audit record)."""
    _STATEMENTS.run(
        session,
        "insert",
        {
            "request_id": request_id,
            "customer_id": customer_id,
            "product_id": product_id,
            "day": day,
            "channel": channel,
        },
    )


def pitched_on(session: Session, customer_id: str, day: dt.date) -> list[str]:
    """Distinct products pitched to the customer that day, in the order first pitched."""
    rows = session.execute(
        select(PitchLogRow.product_id)
        .where(PitchLogRow.customer_id == customer_id, PitchLogRow.day == day)
        .order_by(PitchLogRow.id)
    )
    seen: list[str] = []
    for (product_id,) in rows:
        if product_id not in seen:
            seen.append(product_id)
    return seen
