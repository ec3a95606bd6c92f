"""Recording what the customer said to a pitch; it feeds the contact policy on the next request.

Only the caller who received the answer, or the client manager whose book holds the customer,
may answer for it; the staff id is the caller's (from the API key), never the body's. An answer
the customer heard (accepted or declined) means the product was put to them: it is logged as a
pitch of the day (a client manager recording a contact), within the daily cap."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from recsvc.service.answers import Caller
from recsvc.service.errors import Forbidden, Invalid, NotFound, Unavailable
from recsvc.store import get_audit, manager_of, record_feedback, record_pitch
from recsvc.store.audit import AuditRecord
from recsvc.store.constants import HEARD_OUTCOMES

CONTACT_CHANNEL = "manager"  # a contact-plan entry is worked by the client manager


def offered_products(payload: dict[str, Any]) -> set[str]:
    """Products an audited answer put in front of the caller (the pitch and the list)."""
    answer = payload.get("answer", {})
    offered = {r["product_id"] for r in answer.get("recommendations", [])}
    if answer.get("pitch"):
        offered.add(answer["pitch"]["product_id"])
    return offered


def check_answerer(session: Session, caller: Caller, audit: AuditRecord) -> None:
    """The caller received that answer, or has the customer in their book (else 403)."""
    if caller.staff_id is not None and audit.staff_id == caller.staff_id:
        return
    in_book = caller.role == "manager" and caller.manager_id is not None and audit.customer_id
    if in_book and manager_of(session, str(audit.customer_id)) == caller.manager_id:
        return
    raise Forbidden("only the staff member who got that answer, or the customer's client "
                    "manager, may record the customer's answer")  # fmt: skip


def save_feedback(
    engine: Engine,
    *,
    request_id: str,
    product_id: str,
    outcome: str,
    caller: Caller,
    staff_id: str | None = None,
    day: dt.date,
    slots: int = 1,
    recorded_at: dt.datetime | None = None,
) -> bool:
    """True the first time, False on a repeat; committed before the caller hears back.
    `recorded_at` is the service's clock (default: now), as `day` is its calendar.

    The staff id recorded is the caller's; a `staff_id` sent in a body must be the same."""
    if staff_id is not None and staff_id != caller.staff_id:
        message = "must be your own staff id (or left out)"
        errors = {"errors": {"staff_id": [message]}}
        raise Forbidden(f"field 'staff_id': {message}", extensions=errors)
    try:
        with Session(engine) as session:
            audit = get_audit(session, request_id)
            if audit is None:
                raise NotFound(f"no audited request {request_id!r}")
            check_answerer(session, caller, audit)
            if product_id not in offered_products(audit.payload):
                raise Invalid("product_id", "was not offered in that request")
            session.commit()  # audit rows never change: write in a fresh, short transaction
            created = record_feedback(
                session, request_id=request_id, product_id=product_id, outcome=outcome,
                customer_id=audit.customer_id, staff_id=caller.staff_id, recorded_at=recorded_at,
            )  # fmt: skip
            if created and outcome in HEARD_OUTCOMES and audit.customer_id:
                channel = audit.payload.get("request", {}).get("channel", CONTACT_CHANNEL)
                record_pitch(
                    session, request_id=request_id, customer_id=audit.customer_id,
                    product_id=product_id, day=day, channel=channel, slots=slots,
                    experiment_id=audit.experiment_id, arm=audit.arm,
                    model_version=audit.model_version,
                )  # fmt: skip
            session.commit()
    except SQLAlchemyError as exc:
        raise Unavailable("the store is unavailable; the feedback was not recorded") from exc
    return created
