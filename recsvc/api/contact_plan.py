"""GET /v1/managers/{id}/contact-plan: the client manager's week, written by score-book."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from recsvc.api.auth import requires
from recsvc.api.extensions import extensions
from recsvc.api.recommend import caller
from recsvc.api.wire import Blueprint
from recsvc.service.weeks import week_of, week_start

blp = Blueprint("contact_plan", __name__, url_prefix="/v1", description="Weekly contact plans")


class ContactPlanQuery(Schema):
    class Meta:
        unknown = RAISE

    week = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$"),  # ASCII digits only
        metadata={"description": "ISO week YYYY-Www; default: this week"},
    )

    @validates("week")
    def _real_week(self, value: str | None, **_: Any) -> None:
        """Shape alone lets 0000-W01 or 2026-W53 through: the calendar must have the week."""
        if value is None:
            return
        try:
            week_start(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class TalkingPointOut(Schema):
    code = fields.String()
    zh_cn = fields.String(data_key="zh-CN")
    en = fields.String()


class WithdrawnOut(Schema):
    product_id = fields.String()
    codes = fields.List(fields.String())


class PlanEntryOut(Schema):
    customer_id = fields.String()
    rank = fields.Integer()
    priority = fields.Float()
    flag = fields.String(
        allow_none=True, metadata={"description": "REASSIGN: tier needs a more senior manager"}
    )
    triggers = fields.List(fields.String())
    products = fields.List(fields.String(), metadata={"description": "suitable, best first"})
    talking_points = fields.List(fields.Nested(TalkingPointOut))
    channel = fields.String(metadata={"description": "app_message, phone or branch_visit"})
    request_id = fields.String(metadata={"description": "for POST /v1/feedback"})
    blocked = fields.List(
        fields.String(),
        metadata={"description": "reason codes: the customer may not be contacted now"},
    )
    withdrawn = fields.List(
        fields.Nested(WithdrawnOut),
        metadata={"description": "planned products that no longer pass the rules, with why"},
    )


class ContactPlanOut(Schema):
    manager_id = fields.String()
    week = fields.String()
    entries = fields.List(fields.Nested(PlanEntryOut))


@blp.route("/managers/<string:manager_id>/contact-plan")
@requires("manager", "admin")
@blp.arguments(ContactPlanQuery(), location="query")
@blp.response(200, ContactPlanOut)
def contact_plan(query: dict[str, Any], manager_id: str) -> dict[str, Any]:
    """A client manager's contact plan for a week, highest priority first (own plan only).

    Each entry is checked again when served: customers no longer in the book are left out,
    those who may not be contacted now are `blocked`, products that no longer pass are
    `withdrawn`, each with its reason codes."""
    ext = extensions()
    svc = ext.service
    week = query["week"] or week_of(svc.today())
    entries = svc.contact_plan(caller(), manager_id, week)
    for entry in entries:
        entry["talking_points"] = [
            {"code": p["code"], "zh_cn": p["zh-CN"], "en": p["en"]} for p in entry["talking_points"]
        ]
    return {"manager_id": manager_id, "week": week, "entries": entries}
