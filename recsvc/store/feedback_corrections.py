"""Correcting a recorded pitch outcome (a mis-click): the row locked, the old outcome kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from recsvc.store.feedback import as_utc, record_of
from recsvc.store.tables import FeedbackCorrectionRow, FeedbackRow


@dataclass(frozen=True)
class StoredFeedback:
    """A feedback row as it stands (outcome: the current one, after any correction)."""

    id: int
    request_id: str
    product_id: str
    outcome: str
    staff_id: str | None
    customer_id: str | None
    recorded_at: dt.datetime


def _stored(row: FeedbackRow) -> StoredFeedback:
    return record_of(StoredFeedback, row, utc=("recorded_at",))


def lock_feedback(session: Session, request_id: str, product_id: str) -> StoredFeedback | None:
    """The feedback of (request, product), locked until the transaction ends, or None.

    A no-op UPDATE takes the write lock first (the row's on PostgreSQL, the database's on
    SQLite), so what is read next cannot change under a concurrent correction.
    """
    where = (FeedbackRow.request_id == request_id, FeedbackRow.product_id == product_id)
    session.execute(update(FeedbackRow).where(*where).values(outcome=FeedbackRow.outcome))
    row = session.scalars(select(FeedbackRow).where(*where)).first()
    return None if row is None else _stored(row)


def apply_correction(
    session: Session,
    feedback: StoredFeedback,
    *,
    outcome: str,
    staff_id: str,
    audit_request_id: str,
    at: dt.datetime,
) -> None:
    """Keep the outcome being replaced, then replace it; the caller holds the lock, commits."""
    session.execute(
        insert(FeedbackCorrectionRow).values(
            feedback_id=feedback.id,
            previous_outcome=feedback.outcome,
            outcome=outcome,
            staff_id=staff_id,
            audit_request_id=audit_request_id,
            corrected_at=as_utc(at),
        )
    )
    session.execute(
        update(FeedbackRow).where(FeedbackRow.id == feedback.id).values(outcome=outcome)
    )


def feedback_of(session: Session, request_ids: Sequence[str]) -> list[StoredFeedback]:
    """Every feedback row of these requests, oldest first."""
    if not request_ids:
        return []
    rows = session.scalars(
        select(FeedbackRow)
        .where(FeedbackRow.request_id.in_(list(request_ids)))
        .order_by(FeedbackRow.recorded_at, FeedbackRow.id)
    )
    return [_stored(r) for r in rows]
