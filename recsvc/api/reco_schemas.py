"""Wire schemas of the recommendation, pitch and feedback endpoints."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from recsvc.catalog.product import LOCALES, PITCH_CHANNELS
from recsvc.customers.profile import (
    CHANNELS_USED,
    MONEY_RANGE,
    TRANSACTION_TYPES,
    CustomerSchema,
)
from recsvc.store.constants import PITCH_OUTCOMES
from recsvc.strict import Strict

MAX_LIMIT = 20
_ID = validate.Length(min=1, max=64)


class TransactionIn(Strict):
    type = fields.String(required=True, validate=validate.OneOf(TRANSACTION_TYPES))
    amount = fields.Float(load_default=0.0, validate=MONEY_RANGE, allow_nan=False)
    channel = fields.String(load_default="counter", validate=validate.OneOf(CHANNELS_USED))


class PitchIn(Strict):
    customer_id = fields.String(required=True, validate=_ID)
    transaction = fields.Nested(TransactionIn, load_default=None, allow_none=True)
    locale = fields.String(load_default="zh-CN", validate=validate.OneOf(LOCALES))


class RecommendationsIn(Strict):
    customer_id = fields.String(load_default=None, validate=_ID)
    customer = fields.Nested(CustomerSchema, load_default=None)
    channel = fields.String(
        load_default=None,
        validate=validate.OneOf(PITCH_CHANNELS),
        metadata={"description": "default: the caller's role's own channel"},
    )
    transaction = fields.Nested(TransactionIn, load_default=None, allow_none=True)
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=MAX_LIMIT))
    locale = fields.String(load_default="zh-CN", validate=validate.OneOf(LOCALES))

    @validates_schema
    def _one_customer(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("customer_id") is None) == (data.get("customer") is None):
            raise ValidationError("give exactly one of customer_id or customer", "customer_id")


class CustomerRecommendationsQuery(Strict):
    channel = fields.String(load_default=None, validate=validate.OneOf(PITCH_CHANNELS))
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=MAX_LIMIT))
    locale = fields.String(load_default="zh-CN", validate=validate.OneOf(LOCALES))


class FeedbackIn(Strict):
    request_id = fields.String(required=True, validate=_ID)
    product_id = fields.String(required=True, validate=_ID)
    outcome = fields.String(required=True, validate=validate.OneOf(PITCH_OUTCOMES))
    staff_id = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "optional: the caller's own (from the API key) or 403"},
    )


class ReasonOut(Schema):
    code = fields.String()
    text = fields.String()


class NextActionOut(Schema):
    code = fields.String()
    text = fields.String()


class RecommendationOut(Schema):
    product_id = fields.String()
    name = fields.String()
    family = fields.String()
    risk_level = fields.String(allow_none=True)
    propensity = fields.Float(
        allow_none=True, metadata={"description": "calibrated; null if degraded"}
    )
    expected_value = fields.Float()
    score = fields.Float()
    reasons = fields.List(fields.Nested(ReasonOut))
    requires_dual_recording = fields.Boolean()


class ExcludedOut(Schema):
    product_id = fields.String()
    code = fields.String(metadata={"description": "the primary reason code"})
    text = fields.String()
    codes = fields.List(fields.String(), metadata={"description": "every rule that excludes it"})


class PitchOut(Schema):
    product_id = fields.String()
    name = fields.String()
    text = fields.String(metadata={"description": "the one sentence to say"})
    risk_notice = fields.String(allow_none=True)
    requires_dual_recording = fields.Boolean()
    reasons = fields.List(fields.Nested(ReasonOut))
    next_action = fields.Nested(NextActionOut, allow_none=True)


class ExperimentArmOut(Schema):
    id = fields.String(allow_none=True, metadata={"description": "null: no experiment set"})
    arm = fields.String(metadata={"description": "champion, challenger, rules or holdout"})
    served = fields.String(metadata={"description": "the arm served: `rules` on a fallback"})
    fallback = fields.String(allow_none=True, metadata={"description": "why it fell back"})


class PitchAnswerOut(Schema):
    request_id = fields.String()
    model_version = fields.String(allow_none=True)
    degraded = fields.Boolean()
    pitch = fields.Nested(PitchOut, allow_none=True)
    next_actions = fields.List(fields.Nested(NextActionOut))
    experiment = fields.Nested(ExperimentArmOut, allow_none=True)


class RecommendationsAnswerOut(PitchAnswerOut):
    recommendations = fields.List(fields.Nested(RecommendationOut))
    excluded = fields.List(fields.Nested(ExcludedOut))


class FeedbackOut(Schema):
    request_id = fields.String()
    product_id = fields.String()
    outcome = fields.String()
    created = fields.Boolean(metadata={"description": "false when this was a repeat"})
