"""GET /v1/audit/{request_id}: what was answered, why, by which model (compliance)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from recsvc.api.auth import requires
from recsvc.api.extensions import extensions
from recsvc.api.wire import Blueprint
from recsvc.service.audit import audited_record

blp = Blueprint("audit", __name__, url_prefix="/v1", description="The audit trail")


class AuditOut(Schema):
    request_id = fields.String()
    created_at = fields.DateTime()
    caller_role = fields.String()
    staff_id = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    model_version = fields.String(allow_none=True)
    model_hash = fields.String(allow_none=True)
    degraded = fields.Boolean()
    payload = fields.Dict()


@blp.route("/audit/<string:request_id>")
@blp.response(200, AuditOut)
@requires("compliance", "admin")
def get_audit_record(request_id: str) -> Any:
    """One audited answer, as it was given."""
    return audited_record(extensions().engine, request_id)
