"""GET /v1/products: the catalogue, for any authenticated role."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from recsvc.api.auth import requires
from recsvc.api.extensions import extensions
from recsvc.api.wire import Blueprint
from recsvc.security import ROLES

blp = Blueprint("products", __name__, url_prefix="/v1", description="The product catalogue")


class EligibilityOutSchema(Schema):
    min_age = fields.Integer(allow_none=True)
    max_age = fields.Integer(allow_none=True)
    min_aum = fields.Float()
    min_monthly_income = fields.Float()
    tiers = fields.List(fields.String(), allow_none=True)
    required_holdings = fields.List(fields.String())


class ProductOutSchema(Schema):
    product_id = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    family = fields.String()
    category = fields.String()
    risk_level = fields.String(
        allow_none=True, metadata={"description": "R1..R5; null for services"}
    )
    bank_risk_level = fields.String(allow_none=True)
    issuer_risk_level = fields.String(allow_none=True)
    eligibility = fields.Nested(EligibilityOutSchema)
    channels = fields.List(fields.String())
    repeatable = fields.Boolean()
    value = fields.Float()
    dual_recording = fields.Boolean()
    term_months = fields.Integer(allow_none=True)
    risk_notice = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True)
    pitch_templates = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    tags = fields.List(fields.String())


class CatalogueOutSchema(Schema):
    products = fields.List(fields.Nested(ProductOutSchema))


@blp.route("/products")
@blp.response(200, CatalogueOutSchema)
@requires(*ROLES)
def list_products() -> dict[str, Any]:
    """Every product the bank offers, with eligibility facts and pitch templates."""
    return {"products": extensions().catalogue_json}
