"""The bank's segment numbers (tiers, value class), loaded from bank.yaml and checked once."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, post_load, validate

from recsvc.locales import Text


class BankConfigError(ValueError):
    """bank.yaml is malformed; the message names the entry and field."""


@dataclass(frozen=True)
class Tier:
    code: str
    names: Text
    min_aum: float
    manager_level: int


@dataclass(frozen=True)
class ValueClassRule:
    aum_margin: float
    salary_margin: float
    value_per_product: float
    base_cost: float
    cost_per_counter_visit: float
    mvc_min_value: float
    mgc_min_monthly_income: float
    mgc_max_age: int


@dataclass(frozen=True)
class BankConfig:
    tiers: tuple[Tier, ...]
    ordinary: Tier
    value_class: ValueClassRule


class _TierSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+$"))
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    min_aum = fields.Float(load_default=0.0, validate=validate.Range(min=0))
    manager_level = fields.Integer(required=True, validate=validate.Range(min=0))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Tier:
        names = Text({"zh-CN": data.pop("name_zh"), "en": data.pop("name_en")})
        return Tier(names=names, **data)


class _ValueClassSchema(Schema):
    aum_margin = fields.Float(required=True, validate=validate.Range(min=0))
    salary_margin = fields.Float(required=True, validate=validate.Range(min=0))
    value_per_product = fields.Float(required=True, validate=validate.Range(min=0))
    base_cost = fields.Float(required=True, validate=validate.Range(min=0))
    cost_per_counter_visit = fields.Float(required=True, validate=validate.Range(min=0))
    mvc_min_value = fields.Float(required=True, validate=validate.Range(min=0))
    mgc_min_monthly_income = fields.Float(required=True, validate=validate.Range(min=0))
    mgc_max_age = fields.Integer(required=True, validate=validate.Range(min=0, max=150))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ValueClassRule:
        return ValueClassRule(**data)


class _BankSchema(Schema):
    tiers = fields.List(fields.Nested(_TierSchema), required=True, validate=validate.Length(min=1))
    ordinary_tier = fields.Nested(_TierSchema, required=True)
    value_class = fields.Nested(_ValueClassSchema, required=True)


def load_bank_config(path: Path) -> BankConfig:
    """Read bank.yaml; tiers must rise strictly in min_aum."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        data = _BankSchema().load(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise BankConfigError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        raise BankConfigError(f"{path}: {exc.messages}") from exc
    tiers = tuple(data["tiers"])
    for lower, upper in itertools.pairwise(tiers):
        if upper.min_aum <= lower.min_aum:
            raise BankConfigError(
                f"{path}: tier {upper.code!r} field min_aum must exceed {lower.code!r}'s"
            )
    return BankConfig(tiers=tiers, ordinary=data["ordinary_tier"], value_class=data["value_class"])
