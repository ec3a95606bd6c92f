"""Correcting a mis-clicked pitch answer: same staff member, within a window, audited, the
original kept (in feedback_corrections); the feedback row then holds the corrected outcome, so
the contact policy reads it at once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from recsvc.service.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from recsvc.store import AuditRecord, write_audit
from recsvc.store.constants import PITCH_OUTCOMES
from recsvc.store.feedback_corrections import StoredFeedback, apply_correction, lock_feedback

DEFAULT_WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Correction:
    request_id: str
    product_id: str
    previous_outcome: str
    outcome: str
    corrected: bool  # False: the outcome was already this one (nothing written)

    def to_dict(self) -> dict[str, object]:
        return {
            "request_id": self.request_id,
            "product_id": self.product_id,
            "previous_outcome": self.previous_outcome,
            "outcome": self.outcome,
            "corrected": self.corrected,
        }


def correctable(
    feedback: StoredFeedback, *, staff_id: str, now: dt.datetime, window: dt.timedelta
) -> bool:
    """Whether this staff member may still correct this answer (for showing the buttons)."""
    return feedback.staff_id == staff_id and now - feedback.recorded_at <= window


def correct_feedback(
    engine: Engine,
    *,
    request_id: str,
    product_id: str,
    outcome: str,
    staff_id: str,
    caller_role: str,
    audit_request_id: str,
    window: dt.timedelta = DEFAULT_WINDOW,
    now: dt.datetime | None = None,
) -> Correction:
    """Replace the recorded outcome; the correction is audited under `audit_request_id`."""
    if outcome not in PITCH_OUTCOMES:
        raise Invalid("outcome", f"must be one of {', '.join(PITCH_OUTCOMES)}")
    moment = now or dt.datetime.now(dt.UTC)
    try:
        with Session(engine) as session:
            feedback = lock_feedback(session, request_id, product_id)
            if feedback is None:
                raise NotFound(f"no answer recorded for {product_id!r} in request {request_id!r}")
            if feedback.staff_id != staff_id:
                raise Forbidden("only the staff member who recorded an answer may correct it")
            if moment - feedback.recorded_at > window:
                minutes = int(window.total_seconds() // 60)
                raise Conflict(f"an answer can be corrected within {minutes} minutes only")
            if feedback.outcome == outcome:
                return Correction(request_id, product_id, outcome, outcome, corrected=False)
            write_audit(
                session,
                AuditRecord(
                    request_id=audit_request_id,
                    caller_role=caller_role,
                    staff_id=staff_id,
                    customer_id=feedback.customer_id,
                    created_at=moment,
                    payload={
                        "endpoint": "feedback_correction",
                        "corrects": {"request_id": request_id, "product_id": product_id},
                        "previous_outcome": feedback.outcome,
                        "outcome": outcome,
                        "recorded_at": feedback.recorded_at.isoformat(),
                    },
                ),
            )
            apply_correction(
                session, feedback, outcome=outcome, staff_id=staff_id,
                audit_request_id=audit_request_id, at=moment,
            )  # fmt: skip
            session.commit()
    except SQLAlchemyError as exc:
        raise Unavailable("the store is unavailable; the correction was not recorded") from exc
    return Correction(request_id, product_id, feedback.outcome, outcome, corrected=True)
