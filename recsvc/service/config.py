"""Arbitration weights and contact policy, from service.yaml, checked once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from marshmallow import ValidationError, fields, validate

from recsvc.catalog.product import PITCH_CHANNELS
from recsvc.locales import Text
from recsvc.security import ROLES
from recsvc.strict import Strict

DAILY_PITCH_LIMIT = "DAILY_PITCH_LIMIT"
FAMILY_LIMIT = "FAMILY_LIMIT"


class ServiceConfigError(ValueError):
    """service.yaml is malformed; the message names the key."""


class ChannelNotAllowed(ValueError):
    """The caller's role may not act for the requested channel."""


@dataclass(frozen=True)
class RoleChannels:
    """A role's own channel and the others it may act for (service.yaml `channels`)."""

    own: str
    may_act_for: frozenset[str]

    @property
    def channels(self) -> list[str]:
        return [self.own, *sorted(self.may_act_for - {self.own})]


@dataclass(frozen=True)
class ServiceConfig:
    timezone: ZoneInfo
    max_per_family: int
    family_weights: dict[str, float]
    product_weights: dict[str, float]
    degraded_propensity: float
    max_products_per_day: int
    policy_texts: dict[str, Text]
    default_limit: int
    max_limit: int
    reasons_per_product: int
    # role -> (the channel its answers are for, the other channels it may act for)
    role_channels: dict[str, RoleChannels] = field(default_factory=dict)

    def channel_for(self, role: str, requested: str | None) -> str:
        """The channel a caller's answer is for: the role's own unless the role may act for
        the one requested. ChannelNotAllowed otherwise (or for a role with no channel)."""
        allowed = self.role_channels.get(role)
        if allowed is None:
            raise ChannelNotAllowed(f"the role {role!r} answers for no channel")
        if requested is None or requested == allowed.own:
            return allowed.own
        if requested in allowed.may_act_for:
            return requested
        raise ChannelNotAllowed(
            f"a {role} may ask for the channels {', '.join(allowed.channels)}, not {requested!r}"
        )

    def weight(self, product_id: str, family: str) -> float:
        """The business weight of a product: its own lever times its family's."""
        return self.product_weights.get(product_id, 1.0) * self.family_weights.get(family, 1.0)


_WEIGHTS = fields.Dict(
    keys=fields.String(), values=fields.Float(validate=validate.Range(min=0)), load_default=dict
)


class _Arbitration(Strict):
    max_per_family = fields.Integer(required=True, validate=validate.Range(min=1))
    family_weights = _WEIGHTS
    product_weights = _WEIGHTS
    degraded_propensity = fields.Float(required=True, validate=validate.Range(min=0, max=1))


class _Policy(Strict):
    max_products_per_day = fields.Integer(required=True, validate=validate.Range(min=1))
    texts = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String())
    )


class _Recommendations(Strict):
    default_limit = fields.Integer(required=True, validate=validate.Range(min=1))
    max_limit = fields.Integer(required=True, validate=validate.Range(min=1))
    reasons_per_product = fields.Integer(required=True, validate=validate.Range(min=0))


_CHANNEL = fields.String(validate=validate.OneOf(PITCH_CHANNELS))


class _RoleChannels(Strict):
    own = fields.String(required=True, validate=validate.OneOf(PITCH_CHANNELS))
    may_act_for = fields.List(_CHANNEL, load_default=list)


class _ServiceSchema(Strict):
    timezone = fields.String(required=True)
    channels = fields.Dict(
        keys=fields.String(validate=validate.OneOf(ROLES)),
        values=fields.Nested(_RoleChannels),
        required=True,
    )
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
        try:
            texts[code] = Text(texts.get(code, {}))
        except ValueError:
            key = f"contact_policy.texts.{code}"
            raise ServiceConfigError(f"{path}: key {key!r} needs zh-CN and en") from None
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
        role_channels={
            role: RoleChannels(c["own"], frozenset(c["may_act_for"]))
            for role, c in data["channels"].items()
        },
    )
