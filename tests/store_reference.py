"""Reference implementations: the plain ORM readers the request path's prepared statements
replaced (recsvc.store.request_context). Tests compare the statements with them; nothing in
recsvc uses them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from recsvc.store.constants import DECLINE_OUTCOMES
from recsvc.store.feedback import as_utc, day_start
from recsvc.store.tables import FeedbackCorrectionRow, FeedbackRow, PitchHistoryRow, PitchLogRow


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


def pitched_on(session: Session, customer_id: str, day: dt.date) -> list[str]:
    """Distinct products pitched to the customer that day, in the order first pitched."""
    rows = session.execute(
        select(PitchLogRow.product_id)
        .where(PitchLogRow.customer_id == customer_id, PitchLogRow.day == day)
        .order_by(PitchLogRow.slot, PitchLogRow.id)
    )
    seen: list[str] = []
    for (product_id,) in rows:
        if product_id not in seen:
            seen.append(product_id)
    return seen


def corrections_of(session: Session, feedback_id: int) -> list[tuple[str, str, str]]:
    """(previous outcome, outcome, staff id) of each correction of a feedback row, in order."""
    rows = session.execute(
        select(
            FeedbackCorrectionRow.previous_outcome,
            FeedbackCorrectionRow.outcome,
            FeedbackCorrectionRow.staff_id,
        )
        .where(FeedbackCorrectionRow.feedback_id == feedback_id)
        .order_by(FeedbackCorrectionRow.id)
    )
    return [(p, o, s) for p, o, s in rows]
