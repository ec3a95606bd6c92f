"""POST /v1/feedback/corrections: the same staff member corrects a mis-clicked answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from recsvc.api.auth import current_principal, requires
from recsvc.api.context import request_id
from recsvc.api.extensions import extensions
from recsvc.api.wire import Blueprint
from recsvc.security import Principal
from recsvc.service.corrections import Correction, correct_feedback
from recsvc.store.constants import PITCH_OUTCOMES

blp = Blueprint(
    "feedback_corrections", __name__, url_prefix="/v1", description="Correcting recorded answers"
)
_ID = validate.Length(min=1, max=64)


class CorrectionIn(Schema):
    class Meta:
        unknown = RAISE

    request_id = fields.String(required=True, validate=_ID)
    product_id = fields.String(required=True, validate=_ID)
    outcome = fields.String(required=True, validate=validate.OneOf(PITCH_OUTCOMES))


class CorrectionOut(Schema):
    request_id = fields.String()
    product_id = fields.String()
    previous_outcome = fields.String(metadata={"description": "the outcome replaced"})
    outcome = fields.String()
    corrected = fields.Boolean(metadata={"description": "false if it already was this outcome"})
    audit_request_id = fields.String(metadata={"description": "the audit record of the change"})


def staff_of(principal: Principal) -> str:
    """Who answers for a recorded outcome: the key's staff id, else the key itself."""
    return principal.staff_id or principal.key_id


def correction_window() -> dt.timedelta:
    settings = extensions().settings
    return dt.timedelta(minutes=settings.feedback_correction_minutes)


def correct(principal: Principal, *, request_id_: str, product_id: str, outcome: str) -> Correction:
    """The one path the API and the console both take."""
    return correct_feedback(
        extensions().engine,
        request_id=request_id_,
        product_id=product_id,
        outcome=outcome,
        staff_id=staff_of(principal),
        caller_role=principal.role,
        audit_request_id=request_id(),
        window=correction_window(),
        now=extensions().service.clock(),
    )


@blp.route("/feedback/corrections", methods=["POST"])
@requires("teller", "manager")
@blp.arguments(CorrectionIn())
@blp.response(200, CorrectionOut)
def correct_answer(body: dict[str, Any]) -> dict[str, Any]:
    """Replace a recorded outcome: only its own staff member, only within the window
    (RECSVC_FEEDBACK_CORRECTION_MINUTES, default 10); the original is kept and the change
    audited. 404 if nothing was recorded, 403 for another staff member, 409 once too late."""
    principal = current_principal()
    assert principal is not None
    done = correct(
        principal,
        request_id_=body["request_id"],
        product_id=body["product_id"],
        outcome=body["outcome"],
    )
    return {**done.to_dict(), "audit_request_id": request_id()}
