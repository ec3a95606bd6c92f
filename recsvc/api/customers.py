"""GET /v1/customers/{id} and its recommendations: client managers, own book only."""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from recsvc.api.auth import requires
from recsvc.api.context import request_id
from recsvc.api.extensions import extensions
from recsvc.api.reco_schemas import CustomerRecommendationsQuery, RecommendationsAnswerOut
from recsvc.api.recommend import answer_response, caller
from recsvc.api.wire import Blueprint
from recsvc.service.answers import RecommendRequest
from recsvc.service.profiles import profile_view

blp = Blueprint("customers", __name__, url_prefix="/v1", description="A manager's book")


class HoldingOut(Schema):
    product_id = fields.String()
    amount = fields.Float()
    open_date = fields.Date(allow_none=True)
    maturity_date = fields.Date(allow_none=True)
    value_change_pct = fields.Float(allow_none=True)


class CustomerOut(Schema):
    customer_id = fields.String()
    name = fields.String(allow_none=True, metadata={"description": "masked: surname only"})
    phone = fields.String(allow_none=True, metadata={"description": "masked"})
    id_number = fields.String(allow_none=True, metadata={"description": "masked"})
    age = fields.Integer()
    gender = fields.String()
    occupation = fields.String()
    branch_id = fields.String()
    manager_id = fields.String(allow_none=True)
    tier = fields.String()
    tier_name = fields.Dict(keys=fields.String(), values=fields.String())
    value_class = fields.String()
    aum = fields.Float()
    monthly_income = fields.Float()
    salary_via_bank = fields.Boolean()
    risk_level = fields.String(allow_none=True)
    assessment_date = fields.Date(allow_none=True)
    consent_marketing = fields.Boolean()
    open_complaint = fields.Boolean()
    holdings = fields.List(fields.Nested(HoldingOut))
    channel_habits = fields.Dict(keys=fields.String(), values=fields.Integer())


@blp.route("/customers/<string:customer_id>")
@blp.response(200, CustomerOut)
@requires("manager")
def get_customer(customer_id: str) -> dict[str, Any]:
    """A customer of the caller's book (404 for anyone else's), personal data masked."""
    ext = extensions()
    svc = ext.service
    with Session(ext.engine) as session:
        customer = svc.customer(session, caller(), customer_id)
    return profile_view(customer, bank=ext.services.bank, as_of=svc.today())


@blp.route("/customers/<string:customer_id>/recommendations")
@requires("manager")
@blp.arguments(CustomerRecommendationsQuery(), location="query")
@blp.response(200, RecommendationsAnswerOut)
def customer_recommendations(query: dict[str, Any], customer_id: str) -> Response:
    """Ranked suggestions for a customer of the caller's book."""
    request = RecommendRequest(
        request_id=request_id(),
        caller=caller(),
        channel=query["channel"],
        customer_id=customer_id,
        limit=query["limit"],
        locale=query["locale"],
    )
    return answer_response(extensions().service.recommend(request), RecommendationsAnswerOut)
