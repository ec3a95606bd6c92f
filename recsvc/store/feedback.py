"""Pitch outcomes: recording feedback once per (request, product) and reading contact fatigue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from recsvc.store.constants import DECLINE_OUTCOMES, PITCH_OUTCOMES
from recsvc.store.tables import FeedbackRow, PitchHistoryRow


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC; naive datetimes (as SQLite returns them) are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


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


def _latest(pairs: Iterable[tuple[str, dt.date]], into: dict[str, dt.date]) -> None:
    for product_id, day in pairs:
        if product_id not in into or day > into[product_id]:
            into[product_id] = day


def recent_declines(
    session: Session, customer_id: str, since: dt.date, *, tz: dt.tzinfo = dt.UTC
) -> dict[str, dt.date]:
    """Product id -> the latest day (in tz) the customer turned it down, since `since`."""
    declines: dict[str, dt.date] = {}
    feedback = session.execute(
        select(FeedbackRow.product_id, FeedbackRow.recorded_at).where(
            FeedbackRow.customer_id == customer_id,
            FeedbackRow.outcome.in_(DECLINE_OUTCOMES),
            FeedbackRow.recorded_at >= day_start(since, tz),
        )
    )
    _latest(((p, as_utc(at).astimezone(tz).date()) for p, at in feedback), declines)
    history = session.execute(
        select(PitchHistoryRow.product_id, PitchHistoryRow.date).where(
            PitchHistoryRow.customer_id == customer_id,
            PitchHistoryRow.outcome.in_(DECLINE_OUTCOMES),
            PitchHistoryRow.date >= since,
        )
    )
    _latest(((p, d) for p, d in history), declines)
    return declines


def pitched_today(
    session: Session, customer_id: str, day: dt.date, *, tz: dt.tzinfo = dt.UTC
) -> list[str]:
    """The product ids already pitched to the customer on `day` (in tz), whatever the outcome."""
    start, end = day_start(day, tz), day_start(day + dt.timedelta(days=1), tz)
    feedback = session.scalars(
        select(FeedbackRow.product_id).where(
            FeedbackRow.customer_id == customer_id,
            FeedbackRow.recorded_at >= start,
            FeedbackRow.recorded_at < end,
        )
    )
    history = session.scalars(
        select(PitchHistoryRow.product_id).where(
            PitchHistoryRow.customer_id == customer_id, PitchHistoryRow.date == day
        )
    )
    return sorted(set(feedback) | set(history))
