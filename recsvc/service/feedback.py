"""Recording what the customer said to a pitch; it feeds the contact policy on the next request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from recsvc.service.errors import Invalid, NotFound, Unavailable
from recsvc.store import get_audit, record_feedback


def offered_products(payload: dict[str, Any]) -> set[str]:
    """Products an audited answer put in front of the caller (the pitch and the list)."""
    answer = payload.get("answer", {})
    offered = {r["product_id"] for r in answer.get("recommendations", [])}
    if answer.get("pitch"):
        offered.add(answer["pitch"]["product_id"])
    return offered


def save_feedback(
    engine: Engine,
    *,
    request_id: str,
    product_id: str,
    outcome: str,
    staff_id: str,
) -> bool:
    """True the first time, False on a repeat; committed before the caller hears back."""
    try:
        with Session(engine) as session:
            audit = get_audit(session, request_id)
            if audit is None:
                raise NotFound(f"no audited request {request_id!r}")
            if product_id not in offered_products(audit.payload):
                raise Invalid("product_id", "was not offered in that request")
            session.commit()  # audit rows never change: write in a fresh, short transaction
            created = record_feedback(
                session, request_id=request_id, product_id=product_id, outcome=outcome,
                customer_id=audit.customer_id, staff_id=staff_id,
            )  # fmt: skip
            session.commit()
    except SQLAlchemyError as exc:
        raise Unavailable("the store is unavailable; the feedback was not recorded") from exc
    return created
