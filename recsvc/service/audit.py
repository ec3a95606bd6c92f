"""The audit payload: everything compliance needs to see why an answer was given — and no
name, ID number or phone number."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from recsvc.customers.profile import Customer, CustomerSchema
from recsvc.service.answers import Answer, RecommendRequest
from recsvc.service.errors import NotFound
from recsvc.store import AuditRecord, get_audit

_PROFILE = CustomerSchema()
SO_AND_SO = "某"  # 王某: "a person surnamed Wang", how Chinese records leave a name out


def profile_record(customer: Customer, surname: str | None) -> dict[str, Any]:
    """The profile an inline answer was given for, in wire form (CustomerSchema loads it back
    for a replay): no ID number, no phone, and of the name only the surname the greeting used
    (`surname`, written 王某 so that a replay greets the same way)."""
    record: dict[str, Any] = _PROFILE.dump(customer)
    name = None if surname is None else surname + SO_AND_SO
    record.update(name=name, id_number=None, phone=None)
    return record


def audit_payload(
    request: RecommendRequest,
    customer: Customer,
    answer: Answer,
    candidates: Sequence[str],
    *,
    pitch_only: bool,
    surname: str | None = None,
) -> dict[str, Any]:
    """Request, customer's risk facts, candidates, exclusions, scores, list, pitch, model; for
    an inline profile, the whole profile the answer was given for."""
    txn = request.transaction
    pitch = answer.pitch
    payload: dict[str, Any] = {
        "endpoint": "pitch" if pitch_only else "recommendations",
        "request": {
            "customer_id": customer.customer_id,
            "inline_profile": request.customer is not None,
            "channel": request.channel,
            "locale": request.locale,
            "limit": request.limit,
            "transaction": None if txn is None else {"type": txn.type, "amount": txn.amount},
        },
        "caller": {"role": request.caller.role, "staff_id": request.caller.staff_id},
        "customer": {
            "risk_level": f"C{customer.risk_level}" if customer.risk_level else None,
            "assessment_date": (
                customer.assessment_date.isoformat() if customer.assessment_date else None
            ),
            "consent_marketing": customer.consent_marketing,
        },
        "candidates": list(candidates),
        "requires_dual_recording": bool(pitch and pitch.requires_dual_recording),
        "answer": answer.to_dict(),
    }
    if request.customer is not None:
        payload["profile"] = profile_record(customer, surname)
    return payload


def audited_record(engine: Engine, request_id: str) -> AuditRecord:
    """One audited answer, as it was given (404 when the request was never audited)."""
    with Session(engine) as session:
        record = get_audit(session, request_id)
    if record is None:
        raise NotFound(f"no audited request {request_id!r}")
    return record
