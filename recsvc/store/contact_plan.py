"""Contact plans and the per-chunk reads the nightly batch needs (one query per chunk, not per
customer)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from recsvc.store.constants import DECLINE_OUTCOMES
from recsvc.store.feedback import as_utc
from recsvc.store.tables import (
    ClientManagerRow,
    ContactPlanRow,
    FeedbackRow,
    PitchHistoryRow,
    PitchLogRow,
)

PLAN_COLUMNS = (
    "week", "customer_id", "manager_id", "rank", "priority", "flag", "triggers", "products",
    "talking_points", "channel", "request_id", "created_at",
)  # fmt: skip


def manager_levels(session: Session) -> dict[str, tuple[int, int]]:
    """manager_id -> (level, book_size_cap) for every client manager."""
    rows = session.execute(
        select(ClientManagerRow.manager_id, ClientManagerRow.level, ClientManagerRow.book_size_cap)
    )
    return {m: (int(level), int(cap)) for m, level, cap in rows}


def contacted_between(
    session: Session, ids: Sequence[str], start: dt.datetime, end: dt.datetime,
    first_day: dt.date, last_day: dt.date,
) -> set[str]:  # fmt: skip
    """Customers with feedback recorded in [start, end) or a pitch logged on a day in range."""
    feedback = session.scalars(
        select(FeedbackRow.customer_id).where(
            FeedbackRow.customer_id.in_(ids),
            FeedbackRow.recorded_at >= as_utc(start),
            FeedbackRow.recorded_at < as_utc(end),
        )
    )
    pitched = session.scalars(
        select(PitchLogRow.customer_id).where(
            PitchLogRow.customer_id.in_(ids),
            PitchLogRow.day >= first_day,
            PitchLogRow.day <= last_day,
        )
    )
    return {c for c in feedback if c is not None} | set(pitched)


def declines_of(
    session: Session, ids: Sequence[str], since: dt.date, *, tz: dt.tzinfo
) -> dict[str, dict[str, dt.date]]:
    """customer_id -> product_id -> latest decline day (in tz) since `since`, as
    store.recent_declines reads it for one customer."""
    start = as_utc(dt.datetime.combine(since, dt.time(), tzinfo=tz))
    out: dict[str, dict[str, dt.date]] = defaultdict(dict)

    def keep(customer_id: str | None, product_id: str, day: dt.date) -> None:
        if customer_id is None:
            return
        seen = out[customer_id].get(product_id)
        if seen is None or day > seen:
            out[customer_id][product_id] = day

    for cid, pid, at in session.execute(
        select(FeedbackRow.customer_id, FeedbackRow.product_id, FeedbackRow.recorded_at).where(
            FeedbackRow.customer_id.in_(ids),
            FeedbackRow.outcome.in_(DECLINE_OUTCOMES),
            FeedbackRow.recorded_at >= start,
        )
    ):
        keep(cid, pid, as_utc(at).astimezone(tz).date())
    for cid, pid, day in session.execute(
        select(PitchHistoryRow.customer_id, PitchHistoryRow.product_id, PitchHistoryRow.date).where(
            PitchHistoryRow.customer_id.in_(ids),
            PitchHistoryRow.outcome.in_(DECLINE_OUTCOMES),
            PitchHistoryRow.date >= since,
        )
    ):
        keep(cid, pid, day)
    return dict(out)


def replace_week(session: Session, week: str, rows: Sequence[dict[str, Any]]) -> None:
    """Swap the week's plan for these rows in the caller's transaction (readers see old or new)."""
    session.execute(delete(ContactPlanRow).where(ContactPlanRow.week == week))
    if rows:
        session.execute(insert(ContactPlanRow), list(rows))


def plan_of(session: Session, week: str, manager_id: str) -> list[dict[str, Any]]:
    """A manager's plan for a week, highest priority first."""
    rows = session.scalars(
        select(ContactPlanRow)
        .where(ContactPlanRow.week == week, ContactPlanRow.manager_id == manager_id)
        .order_by(ContactPlanRow.rank, ContactPlanRow.customer_id)
    )
    return [{c: getattr(r, c) for c in PLAN_COLUMNS} for r in rows]
