"""Marshmallow schema for one catalogue entry: shapes and ranges; cross-field checks elsewhere."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate

from recsvc.catalog.product import CATEGORIES, FAMILIES, LOCALES, PITCH_CHANNELS, Eligibility
from recsvc.locales import Text
from recsvc.strict import Strict

RISK_LEVELS = (1, 5)


def risk_label(level: int | None) -> str | None:
    """Wire form of a product risk level: 3 -> "R3"."""
    return None if level is None else f"R{level}"


class ProductRiskField(fields.Field):
    """R1..R5 on the wire and in YAML, 1..5 inside."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return risk_label(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = str(value).strip().upper()
        low, high = RISK_LEVELS
        if (
            len(text) == 2
            and text[0] == "R"
            and text[1] in "0123456789"
            and low <= int(text[1]) <= high
        ):
            return int(text[1])
        raise ValidationError(f"must be one of R{low}..R{high}, got {value!r}")


def _optional_risk() -> ProductRiskField:
    return ProductRiskField(load_default=None, allow_none=True)


def _per_locale(values: fields.Field, *, required: bool) -> fields.Dict:
    keys = fields.String(validate=validate.OneOf(LOCALES))
    if required:
        return fields.Dict(keys=keys, values=values, required=True)
    return fields.Dict(keys=keys, values=values, load_default=None, allow_none=True)


class EligibilitySchema(Strict):
    min_age = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 150))
    max_age = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 150))
    min_aum = fields.Float(load_default=0.0, validate=validate.Range(min=0), allow_nan=False)
    min_monthly_income = fields.Float(
        load_default=0.0, validate=validate.Range(min=0), allow_nan=False
    )
    tiers = fields.List(
        fields.String(validate=validate.Length(min=1)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1),
    )
    required_holdings = fields.List(
        fields.String(validate=validate.Length(min=1)), load_default=list
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Eligibility:
        low, high = data["min_age"], data["max_age"]
        if low is not None and high is not None and high < low:
            raise ValidationError(f"must not be below min_age {low}", "max_age")
        tiers = data["tiers"]
        return Eligibility(
            min_age=low,
            max_age=high,
            min_aum=data["min_aum"],
            min_monthly_income=data["min_monthly_income"],
            tiers=None if tiers is None else tuple(tiers),
            required_holdings=tuple(data["required_holdings"]),
        )


class ProductSchema(Strict):
    """One product as written in catalogue.yaml; loads a dict of Product fields."""

    product_id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$"))
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=80))
    family = fields.String(required=True, validate=validate.OneOf(FAMILIES))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    risk_level = _optional_risk()
    bank_risk_level = _optional_risk()
    issuer_risk_level = _optional_risk()
    eligibility = fields.Nested(EligibilitySchema, load_default=Eligibility)
    channels = fields.List(
        fields.String(validate=validate.OneOf(PITCH_CHANNELS)),
        required=True,
        validate=validate.Length(min=1),
    )
    repeatable = fields.Boolean(required=True)
    value = fields.Float(required=True, validate=validate.Range(min=0), allow_nan=False)
    dual_recording = fields.Boolean(required=True)
    term_months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1))
    risk_notice = _per_locale(fields.String(validate=validate.Length(min=1)), required=False)
    pitch_templates = _per_locale(
        fields.List(
            fields.String(validate=validate.Length(min=1)), validate=validate.Length(min=2)
        ),
        required=True,
    )
    tags = fields.List(fields.String(), load_default=list)

    @post_load
    def _freeze(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["names"] = Text({"zh-CN": data.pop("name_zh"), "en": data.pop("name_en")})
        data["channels"] = frozenset(data["channels"])
        data["pitch_templates"] = {k: tuple(v) for k, v in data["pitch_templates"].items()}
        data["tags"] = tuple(data["tags"])
        return data


def flatten_messages(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Marshmallow's nested error dict as (dotted field, message) pairs."""
    if isinstance(messages, dict):
        pairs: list[tuple[str, str]] = []
        for key, inner in messages.items():
            name = prefix if key in ("key", "value", "_schema") and prefix else str(key)
            if prefix and name != prefix:
                name = f"{prefix}.{key}" if not isinstance(key, int) else f"{prefix}[{key}]"
            pairs.extend(flatten_messages(inner, name))
        return pairs
    if isinstance(messages, list):
        return [pair for msg in messages for pair in flatten_messages(msg, prefix)]
    return [(prefix or "_schema", str(messages))]
