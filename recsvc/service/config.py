"""Arbitration weights and contact policy, from service.yaml, checked once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate

DAILY_PITCH_LIMIT = "DAILY_PITCH_LIMIT"
FAMILY_LIMIT = "FAMILY_LIMIT"


class ServiceConfigError(ValueError):
    """service.yaml is malformed; the message names the key."""


@dataclass(frozen=True)
class ServiceConfig:
    timezone: ZoneInfo
    max_per_family: int
    family_weights: dict[str, float]
    product_weights: dict[str, float]
    degraded_propensity: float
    max_products_per_day: int
    policy_texts: dict[str, dict[str, str]]
    default_limit: int
    max_limit: int
    reasons_per_product: int

    def weight(self, product_id: str, family: str) -> float:
        """The business weight of a product: its own lever times its family's."""
        return self.product_weights.get(product_id, 1.0) * self.family_weights.get(family, 1.0)


_WEIGHTS = fields.Dict(
    keys=fields.String(), values=fields.Float(validate=validate.Range(min=0)), load_default=dict
)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Arbitration(_Strict):
    max_per_family = fields.Integer(required=True, validate=validate.Range(min=1))
    family_weights = _WEIGHTS
    product_weights = _WEIGHTS
    degraded_propensity = fields.Float(required=True, validate=validate.Range(min=0, max=1))


class _Policy(_Strict):
    max_products_per_day = fields.Integer(required=True, validate=validate.Range(min=1))
    texts = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String())
    )


class _Recommendations(_Strict):
    default_limit = fields.Integer(required=True, validate=validate.Range(min=1))
    max_limit = fields.Integer(required=True, validate=validate.Range(min=1))
    reasons_per_product = fields.Integer(required=True, validate=validate.Range(min=0))


class _ServiceSchema(_Strict):
    timezone = fields.String(required=True)
    arbitration = fields.Nested(_Arbitration, required=True)
    contact_policy = fields.Nested(_Policy, required=True)
    recommendations = fields.Nested(_Recommendations, required=True)


def load_service_config(path: Path) -> ServiceConfig:
    """Read service.yaml; errors name the file and the key."""
    try:
        raw: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        data = _ServiceSchema().load(raw)
        zone = ZoneInfo(data["timezone"])
    except (OSError, yaml.YAMLError) as exc:
        raise ServiceConfigError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        raise ServiceConfigError(f"{path}: {exc.messages}") from exc
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ServiceConfigError(f"{path}: key 'timezone': unknown zone") from exc
    texts = data["contact_policy"]["texts"]
    for code in (DAILY_PITCH_LIMIT, FAMILY_LIMIT):
        if code not in texts or set(texts[code]) != {"zh-CN", "en"}:
            key = f"contact_policy.texts.{code}"
            raise ServiceConfigError(f"{path}: key {key!r} needs zh-CN and en")
    arb, rec = data["arbitration"], data["recommendations"]
    return ServiceConfig(
        timezone=zone,
        max_per_family=arb["max_per_family"],
        family_weights=dict(arb["family_weights"]),
        product_weights=dict(arb["product_weights"]),
        degraded_propensity=arb["degraded_propensity"],
        max_products_per_day=data["contact_policy"]["max_products_per_day"],
        policy_texts=texts,
        default_limit=rec["default_limit"],
        max_limit=rec["max_limit"],
        reasons_per_product=rec["reasons_per_product"],
    )
