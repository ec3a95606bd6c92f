"""The suitability limits that are law (recsvc/data/law.yaml, from ../shared/docs/domain.md):
the floor a what-if overlay may tighten but never loosen. A loosening is refused naming the
rule's reason code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError, fields, validate

from recsvc.catalog import Catalogue
from recsvc.catalog.schema import ProductRiskField, flatten_messages
from recsvc.config import PACKAGE_DATA
from recsvc.rules import ElderlyLimit, RulesConfig
from recsvc.rules import codes as rule_codes
from recsvc.rules.config import AgeSchema
from recsvc.strict import Strict

DEFAULT_LAW = PACKAGE_DATA / "law.yaml"


@dataclass(frozen=True)
class Law:
    """The loosest suitability limits regulation allows (recsvc/data/law.yaml)."""

    unassessed_max_risk: int
    validity_days: int
    minor_below: int
    minor_excluded_categories: frozenset[str]
    minor_excluded_rated_categories: frozenset[str]
    elderly: tuple[ElderlyLimit, ...]

    def elderly_max_risk(self, age: int) -> int | None:
        limit = None
        for rule in self.elderly:
            if age >= rule.from_age:
                limit = rule.max_risk if limit is None else min(limit, rule.max_risk)
        return limit


class _Assessment(Strict):
    unassessed_max_risk = ProductRiskField(required=True)
    validity_days = fields.Integer(required=True, validate=validate.Range(min=1))


class _LawSchema(Strict):
    assessment = fields.Nested(_Assessment, required=True)
    age = fields.Nested(AgeSchema, required=True)


def load_law(path: Path = DEFAULT_LAW) -> Law:
    """The legal floor; a malformed file is an error naming the field."""
    try:
        data = _LawSchema().load(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
        a, age = data["assessment"], data["age"]
        return Law(
            unassessed_max_risk=a["unassessed_max_risk"],
            validity_days=a["validity_days"],
            minor_below=age["minor_below"],
            minor_excluded_categories=frozenset(age["minor_excluded_categories"]),
            minor_excluded_rated_categories=frozenset(age["minor_excluded_rated_categories"]),
            elderly=tuple(ElderlyLimit(**e) for e in age["elderly"]),
        )
    except ValidationError as exc:
        pairs = flatten_messages(exc.messages)
        raise ValueError("; ".join(f"{path}: field '{f}': {m}" for f, m in pairs)) from exc
    except (OSError, yaml.YAMLError, KeyError) as exc:
        raise ValueError(f"{path}: cannot read the law's limits: {exc}") from exc


def law_refusals(
    before: Catalogue, after: RulesConfig, data: Mapping[str, Any], law: Law
) -> tuple[dict[str, list[str]], list[str]]:
    """Each field the overlay sets that loosens a legal limit -> why, and the rules named."""
    refused: dict[str, list[str]] = {}
    named: list[str] = []

    def refuse(where: str, rules: tuple[str, ...], message: str) -> None:
        rule = " / ".join(rules)
        refused.setdefault(where, []).append(f"refused: loosens the rule {rule}: {message}")
        named.extend(r for r in rules if r not in named)

    rules = data.get("rules") or {}
    assessment, age = rules.get("assessment") or {}, rules.get("age") or {}
    new = after
    if "unassessed_max_risk" in assessment and new.unassessed_max_risk > law.unassessed_max_risk:
        refuse("rules.assessment.unassessed_max_risk",
               (rule_codes.ASSESSMENT_MISSING, rule_codes.ASSESSMENT_EXPIRED),
               f"without a valid risk assessment the law allows R{law.unassessed_max_risk} at"
               f" most, not R{new.unassessed_max_risk}")  # fmt: skip
    if "validity_days" in assessment and new.assessment_validity_days > law.validity_days:
        refuse("rules.assessment.validity_days", (rule_codes.ASSESSMENT_EXPIRED,),
               f"a risk assessment is valid for {law.validity_days} days at most, not"
               f" {new.assessment_validity_days}")  # fmt: skip
    if "minor_below" in age and new.minor_below < law.minor_below:
        refuse("rules.age.minor_below", (rule_codes.AGE_MINOR,),
               f"customers under {law.minor_below} are minors, not only under"
               f" {new.minor_below}")  # fmt: skip
    if {"minor_excluded_categories", "minor_excluded_rated_categories"} & set(age):
        for where, message in _minor_gaps(new, law):
            refuse(where, (rule_codes.AGE_MINOR,), message)
    if "elderly" in age:
        gap = _elderly_gap(new, law)
        if gap:
            refuse("rules.age.elderly", (rule_codes.AGE_ELDERLY,), gap)
    for product_id, change in (data.get("catalogue") or {}).items():
        was = before.get(product_id)
        rated = None if was is None else was.risk_level
        if "risk_level" in change and rated is not None and change["risk_level"] < rated:
            refuse(f"catalogue.{product_id}.risk_level",
                   (rule_codes.RISK_ABOVE_CUSTOMER_LEVEL,),
                   f"the product is rated R{rated} (the higher of the bank's and the"
                   f" issuer's ratings applies); it may not be sold as"
                   f" R{change['risk_level']}")  # fmt: skip
    return refused, named


def _minor_gaps(rules: RulesConfig, law: Law) -> list[tuple[str, str]]:
    gaps = []
    for category in sorted(law.minor_excluded_categories - rules.minor_excluded_categories):
        gaps.append(("rules.age.minor_excluded_categories",
                     f"minors may hold no {category} product"))  # fmt: skip
    every = rules.minor_excluded_categories | rules.minor_excluded_rated_categories
    for category in sorted(law.minor_excluded_rated_categories - every):
        gaps.append(("rules.age.minor_excluded_rated_categories",
                     f"minors may hold no risk-rated {category} product"))  # fmt: skip
    return gaps


def _elderly_gap(rules: RulesConfig, law: Law) -> str | None:
    """The first age at which the overlay's elderly limit is looser than the law's."""
    for age in range(0, 151):
        legal = law.elderly_max_risk(age)
        if legal is None:
            continue
        mine = rules.elderly_max_risk(age)
        if mine is None or mine > legal:
            shown = "no limit" if mine is None else f"R{mine}"
            return f"from age {age} the law allows R{legal} at most, the overlay {shown}"
    return None
