"""A what-if overlay: changes to the arbitration weights, the rules' limits, the catalogue's
eligibility and the contact policy, checked as strictly as the files they change, and refused
when they loosen a suitability rule below the law (recsvc/data/law.yaml).

An overlay is YAML shaped like the files it changes:

    service:   {arbitration: {product_weights: {credit_card: 2.0}}, contact_policy: {...}}
    rules:     {assessment: {...}, age: {...}, fatigue: {...}}
    catalogue: {credit_card: {eligibility: {min_monthly_income: 5000}, channels: [teller]}}

Every key is optional; what it names replaces the configured value (weights are merged per key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import yaml
from marshmallow import ValidationError, fields, validate

from recsvc.catalog import Catalogue
from recsvc.catalog.product import CATEGORIES, FAMILIES, PITCH_CHANNELS, Product
from recsvc.catalog.schema import ProductRiskField, flatten_messages
from recsvc.customers.bank import BankConfig
from recsvc.rules import ElderlyLimit, RulesConfig
from recsvc.service.config import ServiceConfig
from recsvc.service.law import Law, law_refusals
from recsvc.strict import Strict

MAX_OVERLAY_BYTES = 32 * 1024  # a few lines; the console takes it under RECSVC_MAX_BODY_BYTES


class OverlayError(ValueError):
    """A malformed overlay; `errors` maps each bad field (dotted path) to its messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {k: list(v) for k, v in errors.items()}
        super().__init__(
            "; ".join(f"overlay field '{f}': {m}" for f, ms in self.errors.items() for m in ms)
        )


class IllegalOverlay(OverlayError):
    """An overlay that loosens a suitability rule below the law; `rules` names the rules."""

    def __init__(self, errors: Mapping[str, list[str]], rules: list[str]) -> None:
        super().__init__(errors)
        self.rules = rules


@dataclass(frozen=True)
class DecisionConfig:
    """What a decision is made with, apart from the customer and the model: one side of a
    what-if (as configured, or with an overlay applied)."""

    catalogue: Catalogue
    rules: RulesConfig
    service_config: ServiceConfig
    order: dict[str, int] = field(init=False)  # product id -> catalogue position

    def __post_init__(self) -> None:
        order = {p.product_id: i for i, p in enumerate(self.catalogue.products)}
        object.__setattr__(self, "order", order)


# ---- the schema ----------------------------------------------------------------------------


class _Int(fields.Integer):
    """A YAML integer: "30" (a string) or true (a boolean) is the wrong type, not a number."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be an integer")
        return super()._deserialize(value, attr, data, **kwargs)


class _Num(fields.Float):
    """A YAML number (integer or decimal), never a string or a boolean."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("must be a number")
        return super()._deserialize(value, attr, data, **kwargs)


_WEIGHT = _Num(validate=validate.Range(min=0), allow_nan=False)
_DAYS = _Int(validate=validate.Range(min=1, max=3650))
_CATEGORIES = fields.List(fields.String(validate=validate.OneOf(CATEGORIES)))


class _Arbitration(Strict):
    max_per_family = _Int(validate=validate.Range(min=1))
    family_weights = fields.Dict(keys=fields.String(validate=validate.OneOf(FAMILIES)),
                                 values=_WEIGHT)  # fmt: skip
    product_weights = fields.Dict(keys=fields.String(), values=_WEIGHT)
    degraded_propensity = _Num(validate=validate.Range(min=0, max=1), allow_nan=False)


class _ContactPolicy(Strict):
    max_products_per_day = _Int(validate=validate.Range(min=1, max=100))


class _Service(Strict):
    arbitration = fields.Nested(_Arbitration)
    contact_policy = fields.Nested(_ContactPolicy)


class _Assessment(Strict):
    validity_days = _DAYS
    expiring_warning_days = _Int(validate=validate.Range(min=0, max=3650))
    unassessed_max_risk = ProductRiskField()


class _Elderly(Strict):
    from_age = _Int(required=True, validate=validate.Range(min=0, max=150))
    max_risk = ProductRiskField(required=True)


class _Age(Strict):
    minor_below = _Int(validate=validate.Range(min=0, max=150))
    minor_excluded_categories = _CATEGORIES
    minor_excluded_rated_categories = _CATEGORIES
    elderly = fields.List(fields.Nested(_Elderly))


class _Fatigue(Strict):
    declined_days = _DAYS
    opening_days = _DAYS


class _Rules(Strict):
    assessment = fields.Nested(_Assessment)
    age = fields.Nested(_Age)
    fatigue = fields.Nested(_Fatigue)


class _Eligibility(Strict):
    min_age = _Int(allow_none=True, validate=validate.Range(0, 150))
    max_age = _Int(allow_none=True, validate=validate.Range(0, 150))
    min_aum = _Num(validate=validate.Range(min=0), allow_nan=False)
    min_monthly_income = _Num(validate=validate.Range(min=0), allow_nan=False)
    tiers = fields.List(fields.String(validate=validate.Length(min=1)), allow_none=True,
                        validate=validate.Length(min=1))  # fmt: skip
    required_holdings = fields.List(fields.String(validate=validate.Length(min=1)))


class _Product(Strict):
    eligibility = fields.Nested(_Eligibility)
    channels = fields.List(fields.String(validate=validate.OneOf(PITCH_CHANNELS)),
                           validate=validate.Length(min=1))  # fmt: skip
    risk_level = ProductRiskField()


class _Overlay(Strict):
    note = fields.String(validate=validate.Length(max=500))
    service = fields.Nested(_Service)
    rules = fields.Nested(_Rules)
    catalogue = fields.Dict(keys=fields.String(), values=fields.Raw())  # each: _Product


# ---- reading ------------------------------------------------------------------------------


def parse_overlay(text: str | bytes) -> dict[str, Any]:
    """The overlay's YAML, checked against the schema (unknown keys and wrong types are errors
    naming the field); not yet checked against a catalogue or the law."""
    if len(text) > MAX_OVERLAY_BYTES:
        raise OverlayError({"_file": [f"larger than {MAX_OVERLAY_BYTES} bytes"]})
    try:
        raw = yaml.safe_load(text) if text else None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise OverlayError({"_file": [f"not valid YAML{where}"]}) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise OverlayError({"_file": ["must be a mapping (service, rules, catalogue)"]})
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    try:
        data = _Overlay().load(raw)
    except ValidationError as exc:
        _collect(errors, exc, "")
    products: dict[str, Any] = {}
    given = raw.get("catalogue")
    for product_id, entry in (given if isinstance(given, dict) else {}).items():
        # one product at a time: a product's own field named `value` must not read as
        # marshmallow's marker for a dict's values
        if not isinstance(entry, dict):
            errors.setdefault(f"catalogue.{product_id}", []).append("must be a mapping")
            continue
        try:
            products[product_id] = _Product().load(entry)
        except ValidationError as exc:
            _collect(errors, exc, f"catalogue.{product_id}.")
    if errors:
        raise OverlayError(errors)
    if products:
        data["catalogue"] = products
    return data


def _collect(errors: dict[str, list[str]], exc: ValidationError, prefix: str) -> None:
    for name, message in flatten_messages(exc.messages):
        errors.setdefault(f"{prefix}{name}", []).append(message)


# ---- applying -----------------------------------------------------------------------------


def apply_overlay(
    base: DecisionConfig, data: Mapping[str, Any], *, bank: BankConfig, law: Law
) -> DecisionConfig:
    """The configuration with the overlay applied; OverlayError naming the field for a product,
    family or tier that does not exist, IllegalOverlay naming the rule for a loosening."""
    errors: dict[str, list[str]] = {}
    service = _service(base.service_config, data.get("service") or {}, base.catalogue, errors)
    rules = _rules(base.rules, data.get("rules") or {}, errors)
    catalogue = _catalogue(base.catalogue, data.get("catalogue") or {}, bank, errors)
    if errors:
        raise OverlayError(errors)
    after = DecisionConfig(catalogue=catalogue, rules=rules, service_config=service)
    refused, named = law_refusals(base.catalogue, after.rules, data, law)
    if refused:
        raise IllegalOverlay(refused, named)
    return after


def _service(
    config: ServiceConfig, data: Mapping[str, Any], catalogue: Catalogue,
    errors: dict[str, list[str]],
) -> ServiceConfig:  # fmt: skip
    arb = data.get("arbitration") or {}
    for product_id in arb.get("product_weights") or {}:
        if product_id not in catalogue:
            where = f"service.arbitration.product_weights.{product_id}"
            errors.setdefault(where, []).append("no such product in the catalogue")
    changes: dict[str, Any] = {}
    for name in ("max_per_family", "degraded_propensity"):
        if name in arb:
            changes[name] = arb[name]
    for name in ("family_weights", "product_weights"):
        if name in arb:
            changes[name] = {**getattr(config, name), **arb[name]}
    policy = data.get("contact_policy") or {}
    if "max_products_per_day" in policy:
        changes["max_products_per_day"] = policy["max_products_per_day"]
    return replace(config, **changes) if changes else config


_RULE_FIELDS = {
    ("assessment", "validity_days"): "assessment_validity_days",
    ("assessment", "expiring_warning_days"): "assessment_expiring_days",
    ("assessment", "unassessed_max_risk"): "unassessed_max_risk",
    ("age", "minor_below"): "minor_below",
    ("fatigue", "declined_days"): "declined_fatigue_days",
    ("fatigue", "opening_days"): "opening_days",
}


def _rules(
    config: RulesConfig, data: Mapping[str, Any], errors: dict[str, list[str]]
) -> RulesConfig:
    changes: dict[str, Any] = {}
    for (section, key), name in _RULE_FIELDS.items():
        if key in (data.get(section) or {}):
            changes[name] = data[section][key]
    age = data.get("age") or {}
    for key in ("minor_excluded_categories", "minor_excluded_rated_categories"):
        if key in age:
            changes[key] = frozenset(age[key])
    if "elderly" in age:
        limits = tuple(
            ElderlyLimit(**row) for row in sorted(age["elderly"], key=lambda r: r["from_age"])
        )
        for younger, older in pairwise(limits):
            if older.from_age == younger.from_age or older.max_risk > younger.max_risk:
                errors.setdefault("rules.age.elderly", []).append(
                    f"from age {older.from_age} the limit must be stricter than from age"
                    f" {younger.from_age}"
                )
        changes["elderly"] = limits
    return replace(config, **changes) if changes else config  # unchanged: the same object


def _catalogue(
    catalogue: Catalogue, data: Mapping[str, Any], bank: BankConfig,
    errors: dict[str, list[str]],
) -> Catalogue:  # fmt: skip
    tiers = {bank.ordinary.code, *(t.code for t in bank.tiers)}
    changed: dict[str, Product] = {}
    for product_id, change in data.items():
        where = f"catalogue.{product_id}"
        product = catalogue.get(product_id)
        if product is None:
            errors.setdefault(where, []).append("no such product in the catalogue")
            continue
        eligibility = replace(product.eligibility, **_eligibility(change, where, catalogue,
                                                                  tiers, errors))  # fmt: skip
        low, high = eligibility.min_age, eligibility.max_age
        if low is not None and high is not None and high < low:
            errors.setdefault(f"{where}.eligibility.max_age", []).append(
                f"must not be below min_age {low}"
            )
        updated = replace(product, eligibility=eligibility)
        if "channels" in change:
            updated = replace(updated, channels=frozenset(change["channels"]))
        if "risk_level" in change:
            updated = replace(updated, risk_level=change["risk_level"])
        changed[product_id] = updated
    if not changed:
        return catalogue  # the same object: the what-if then evaluates the rules once
    return Catalogue(tuple(changed.get(p.product_id, p) for p in catalogue.products))


def _eligibility(
    change: Mapping[str, Any], where: str, catalogue: Catalogue, tiers: set[str],
    errors: dict[str, list[str]],
) -> dict[str, Any]:  # fmt: skip
    given = dict(change.get("eligibility") or {})
    for code in given.get("tiers") or ():
        if code not in tiers:
            errors.setdefault(f"{where}.eligibility.tiers", []).append(
                f"unknown tier {code!r}; known: {sorted(tiers)}"
            )
    for held in given.get("required_holdings") or ():
        if held not in catalogue:
            errors.setdefault(f"{where}.eligibility.required_holdings", []).append(
                f"no such product {held!r} in the catalogue"
            )
    for key in ("tiers", "required_holdings"):
        if given.get(key) is not None:
            given[key] = tuple(given[key])
    return given
