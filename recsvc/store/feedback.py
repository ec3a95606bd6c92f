"""Pitch outcomes: recording feedback once per (request, product) and reading contact fatigue."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from recsvc.store.constants import PITCH_OUTCOMES
from recsvc.store.tables import FeedbackRow

R = TypeVar("R")


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC; naive datetimes (as SQLite returns them) are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def record_of(cls: type[R], row: object, *, utc: tuple[str, ...] = ()) -> R:
    """The dataclass `cls` from a row's columns of the same names; the `utc` ones as_utc."""
    values = {f.name: getattr(row, f.name) for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**values | {name: as_utc(values[name]) for name in utc})


def day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return as_utc(dt.datetime.combine(day, dt.time(), tzinfo=tz))


def record_feedback(
    session: Session,
    *,
    request_id: str,
    product_id: str,
    outcome: str,
    customer_id: str | None = None,
    staff_id: str | None = None,
    recorded_at: dt.datetime | None = None,
) -> bool:
    """True if this (request_id, product_id) is new; False if already recorded (no change).

    The unique constraint decides, atomically, even when two sessions race; the caller commits.
    """
    if outcome not in PITCH_OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(PITCH_OUTCOMES)}, got {outcome!r}")
    values = {
        "request_id": request_id,
        "product_id": product_id,
        "outcome": outcome,
        "customer_id": customer_id,
        "staff_id": staff_id,
        "recorded_at": as_utc(recorded_at or dt.datetime.now(dt.UTC)),
    }
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[session.get_bind().dialect.name]
    statement = (
        dialect.insert(FeedbackRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=["request_id", "product_id"])
        .returning(FeedbackRow.id)
    )
    return session.execute(statement).first() is not None
