"""pitch.yaml: how a teller addresses a customer, and which transactions suggest what."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from marshmallow import ValidationError, fields, validate, validates_schema

from recsvc.catalog.schema import flatten_messages
from recsvc.config import PACKAGE_DATA
from recsvc.customers.profile import CHANNELS_USED, GENDERS, TRANSACTION_TYPES
from recsvc.locales import Text, per_locale
from recsvc.strict import Strict

DEFAULT_PITCH_PATH = PACKAGE_DATA / "pitch.yaml"


class PitchConfigError(ValueError):
    """pitch.yaml is malformed; the message names the key."""


@dataclass(frozen=True)
class TriggerRule:
    """A kind of transaction at the counter that suggests products, in priority order."""

    code: str
    types: frozenset[str]
    channels: frozenset[str] | None  # None: every channel
    min_amount: float | None  # amount >= min_amount
    below_amount: float | None  # amount < below_amount
    products: tuple[str, ...]
    weight_first: float
    weight_rest: float
    texts: Text


@dataclass(frozen=True)
class PitchConfig:
    """Salutation words and transaction triggers; read-only once loaded."""

    honorifics: Mapping[str, Mapping[str, str]]  # locale -> gender -> honorific
    fallback_salutation: Text  # the greeting without a name
    compound_surnames: frozenset[str]
    romanised_surnames: Mapping[str, str]  # surname -> its reading as a family name
    max_reason_chars: Mapping[str, int]
    triggers: tuple[TriggerRule, ...]


_TEXT = fields.String(validate=validate.Length(min=1))
_AMOUNT = validate.Range(min=0)


class _SalutationSchema(Strict):
    honorifics = per_locale(
        fields.Dict(
            keys=fields.String(validate=validate.OneOf(GENDERS)),
            values=_TEXT,
            validate=validate.Length(equal=len(GENDERS)),
        )
    )
    fallback = per_locale(_TEXT)
    compound_surnames = fields.List(fields.String(validate=validate.Length(equal=2)), required=True)
    romanised_surnames = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=2)),
        values=fields.String(validate=validate.Regexp(r"^[A-Z][a-z]+$")),
        required=True,
    )


class _WeightSchema(Strict):
    first = fields.Float(required=True, validate=validate.Range(min=0), allow_nan=False)
    rest = fields.Float(required=True, validate=validate.Range(min=0), allow_nan=False)


class _TriggerSchema(Strict):
    code = fields.String(required=True, validate=validate.Regexp(r"^TXN_[A-Z0-9_]+$"))
    types = fields.List(
        fields.String(validate=validate.OneOf(TRANSACTION_TYPES)),
        required=True,
        validate=validate.Length(min=1),
    )
    channels = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS_USED)),
        load_default=None,
        validate=validate.Length(min=1),
    )
    min_amount = fields.Float(load_default=None, validate=_AMOUNT, allow_nan=False)
    below_amount = fields.Float(load_default=None, validate=_AMOUNT, allow_nan=False)
    products = fields.List(
        fields.String(validate=validate.Length(min=1)),
        required=True,
        validate=validate.Length(min=1),
    )
    weight = fields.Nested(_WeightSchema, required=True)
    text = per_locale(_TEXT)

    @validates_schema
    def _amounts_in_order(self, data: dict[str, Any], **_: Any) -> None:
        low, high = data.get("min_amount"), data.get("below_amount")
        if low is not None and high is not None and high <= low:
            raise ValidationError(f"must be above min_amount {low}", "below_amount")
        if len(set(data.get("products", []))) != len(data.get("products", [])):
            raise ValidationError("must not list a product twice", "products")


class _PitchSchema(Strict):
    salutation = fields.Nested(_SalutationSchema, required=True)
    max_reason_chars = per_locale(fields.Integer(validate=validate.Range(min=1)))
    triggers = fields.List(fields.Nested(_TriggerSchema), required=True)


def load_pitch_config(
    path: Path = DEFAULT_PITCH_PATH, *, product_ids: Collection[str] | None = None
) -> PitchConfig:
    """Read and check pitch.yaml; pass the catalogue's product_ids to check trigger products too."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise PitchConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        data = _PitchSchema().load(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        problems = [f"key '{k}': {m}" for k, m in flatten_messages(exc.messages)]
        raise PitchConfigError(f"{path.name}: " + "; ".join(problems)) from exc
    problems = _trigger_problems(data, product_ids)
    if problems:
        raise PitchConfigError(f"{path.name}: " + "; ".join(problems))
    return _build(data)


def _trigger_problems(data: dict[str, Any], product_ids: Collection[str] | None) -> list[str]:
    problems: list[str] = []
    limits = data["max_reason_chars"]
    codes = [t["code"] for t in data["triggers"]]
    for i, trigger in enumerate(data["triggers"]):
        where = f"key 'triggers[{i}]"
        if codes.count(trigger["code"]) > 1:
            problems.append(f"{where}.code': duplicate code {trigger['code']!r}")
        for locale, text in trigger["text"].items():
            if len(text) > limits[locale]:
                problems.append(
                    f"{where}.text.{locale}': {len(text)} characters > {limits[locale]}"
                )
        if product_ids is not None:
            problems.extend(
                f"{where}.products': {p!r} is not in the catalogue"
                for p in trigger["products"]
                if p not in product_ids
            )
    return problems


def _build(data: dict[str, Any]) -> PitchConfig:
    words = data["salutation"]
    triggers = tuple(
        TriggerRule(
            code=t["code"],
            types=frozenset(t["types"]),
            channels=None if t["channels"] is None else frozenset(t["channels"]),
            min_amount=t["min_amount"],
            below_amount=t["below_amount"],
            products=tuple(t["products"]),
            weight_first=t["weight"]["first"],
            weight_rest=t["weight"]["rest"],
            texts=Text(t["text"]),
        )
        for t in data["triggers"]
    )
    return PitchConfig(
        honorifics=MappingProxyType(
            {loc: MappingProxyType(dict(g)) for loc, g in words["honorifics"].items()}
        ),
        fallback_salutation=Text(words["fallback"]),
        compound_surnames=frozenset(words["compound_surnames"]),
        romanised_surnames=MappingProxyType(dict(words["romanised_surnames"])),
        max_reason_chars=MappingProxyType(dict(data["max_reason_chars"])),
        triggers=triggers,
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key written twice (a surname listed twice is a typo)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
