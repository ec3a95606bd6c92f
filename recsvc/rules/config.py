"""The suitability numbers and reason texts from rules.yaml, checked once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from marshmallow import ValidationError, fields, validate

from recsvc.catalog.product import CATEGORIES
from recsvc.catalog.schema import ProductRiskField, flatten_messages
from recsvc.catalog.wording import WordingConfigError, WordingRules, wording_from_dict
from recsvc.locales import Text
from recsvc.rules.codes import NEXT_ACTION_CODES, REASON_CODES
from recsvc.strict import Strict


class RulesConfigError(ValueError):
    """rules.yaml is malformed; the message names the field."""


@dataclass(frozen=True)
class ElderlyLimit:
    """From this age on, nothing riskier than max_risk."""

    from_age: int
    max_risk: int


@dataclass(frozen=True)
class RulesConfig:
    """Business numbers the suitability rules read; a text per reason and next-action code."""

    assessment_validity_days: int
    assessment_expiring_days: int
    unassessed_max_risk: int
    minor_below: int
    minor_excluded_categories: frozenset[str]
    minor_excluded_rated_categories: frozenset[str]
    elderly: tuple[ElderlyLimit, ...]  # ascending from_age
    declined_fatigue_days: int
    reasons: Mapping[str, Text]
    next_actions: Mapping[str, Text]
    wording: WordingRules
    opening_days: int = 30

    def elderly_max_risk(self, age: int) -> int | None:
        """The tightest limit whose age has been reached, None below every from_age."""
        limit = None
        for rule in self.elderly:
            if age >= rule.from_age:
                limit = rule.max_risk
        return limit


_DAYS = validate.Range(min=1, max=3650)
_CATEGORY_LIST = fields.List(fields.String(validate=validate.OneOf(CATEGORIES)), required=True)


class _AssessmentSchema(Strict):
    validity_days = fields.Integer(required=True, validate=_DAYS)
    expiring_warning_days = fields.Integer(required=True, validate=validate.Range(min=0, max=3650))
    unassessed_max_risk = ProductRiskField(required=True)


class _ElderlySchema(Strict):
    from_age = fields.Integer(required=True, validate=validate.Range(min=0, max=150))
    max_risk = ProductRiskField(required=True)


class AgeSchema(Strict):
    """The age limits (rules.yaml's and law.yaml's `age`)."""

    minor_below = fields.Integer(required=True, validate=validate.Range(min=0, max=150))
    minor_excluded_categories = _CATEGORY_LIST
    minor_excluded_rated_categories = _CATEGORY_LIST
    elderly = fields.List(fields.Nested(_ElderlySchema), required=True)


class _FatigueSchema(Strict):
    declined_days = fields.Integer(required=True, validate=_DAYS)
    opening_days = fields.Integer(required=True, validate=_DAYS)


class _TextsSchema(Strict):
    zh_cn = fields.String(required=True, data_key="zh-CN", validate=validate.Length(min=1))
    en = fields.String(required=True, validate=validate.Length(min=1))


def _texts(codes: tuple[str, ...]) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(codes)),
        values=fields.Nested(_TextsSchema),
        required=True,
    )


class _RulesSchema(Strict):
    assessment = fields.Nested(_AssessmentSchema, required=True)
    age = fields.Nested(AgeSchema, required=True)
    fatigue = fields.Nested(_FatigueSchema, required=True)
    reasons = _texts(REASON_CODES)
    next_actions = _texts(NEXT_ACTION_CODES)
    wording = fields.Dict(required=True)


def load_rules_config(path: Path) -> RulesConfig:
    """Read rules.yaml; every reason and next-action code needs a text in each locale."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        data = _RulesSchema().load(raw if isinstance(raw, dict) else {})
        wording = wording_from_dict(data["wording"], path.name)
    except (OSError, yaml.YAMLError) as exc:
        raise RulesConfigError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        pairs = flatten_messages(exc.messages)
        raise RulesConfigError(
            "; ".join(f"{path.name}: field '{f}': {m}" for f, m in pairs)
        ) from exc
    except WordingConfigError as exc:
        raise RulesConfigError(str(exc)) from exc
    _check_complete(path.name, "reasons", data["reasons"], REASON_CODES)
    _check_complete(path.name, "next_actions", data["next_actions"], NEXT_ACTION_CODES)
    elderly = _elderly(path.name, data["age"]["elderly"])
    return RulesConfig(
        assessment_validity_days=data["assessment"]["validity_days"],
        assessment_expiring_days=data["assessment"]["expiring_warning_days"],
        unassessed_max_risk=data["assessment"]["unassessed_max_risk"],
        minor_below=data["age"]["minor_below"],
        minor_excluded_categories=frozenset(data["age"]["minor_excluded_categories"]),
        minor_excluded_rated_categories=frozenset(data["age"]["minor_excluded_rated_categories"]),
        elderly=elderly,
        declined_fatigue_days=data["fatigue"]["declined_days"],
        opening_days=data["fatigue"]["opening_days"],
        reasons=_texts_of(data["reasons"]),
        next_actions=_texts_of(data["next_actions"]),
        wording=wording,
    )


def _check_complete(source: str, name: str, texts: dict[str, Any], codes: tuple[str, ...]) -> None:
    missing = [code for code in codes if code not in texts]
    if missing:
        raise RulesConfigError(f"{source}: field '{name}': missing text for {missing}")


def _elderly(source: str, rows: list[dict[str, int]]) -> tuple[ElderlyLimit, ...]:
    limits = tuple(ElderlyLimit(**row) for row in sorted(rows, key=lambda r: r["from_age"]))
    for younger, older in pairwise(limits):
        if older.from_age == younger.from_age or older.max_risk > younger.max_risk:
            raise RulesConfigError(
                f"{source}: field 'age.elderly': from age {older.from_age} the limit must be"
                f" stricter than from age {younger.from_age}"
            )
    return limits


def _texts_of(texts: dict[str, dict[str, str]]) -> Mapping[str, Text]:
    return MappingProxyType(
        {code: Text({"zh-CN": t["zh_cn"], "en": t["en"]}) for code, t in texts.items()}
    )
