"""The audit payload: everything compliance needs to see why an answer was given — and no
name, ID number or phone number."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recsvc.customers.profile import Customer
from recsvc.service.answers import Answer, RecommendRequest


def audit_payload(
    request: RecommendRequest,
    customer: Customer,
    answer: Answer,
    candidates: Sequence[str],
    *,
    pitch_only: bool,
) -> dict[str, Any]:
    """Request, customer's risk facts, candidates, exclusions, scores, list, pitch, model."""
    txn = request.transaction
    pitch = answer.pitch
    return {
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
