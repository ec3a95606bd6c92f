"""Pitch wording checks: what a pitch may never say, read from the wording section of rules.yaml."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate

from recsvc.config import PACKAGE_DATA
from recsvc.locales import Text, check_locale, per_locale

DEFAULT_WORDING_PATH = PACKAGE_DATA / "rules.yaml"
PLACEHOLDERS = ("salutation", "product", "reason")


class WordingConfigError(ValueError):
    """The wording section is malformed; the message names the field."""


@dataclass(frozen=True)
class WordingRules:
    """Banned phrases per locale, banned patterns for all locales, and pitch length limits."""

    banned_phrases: dict[str, tuple[str, ...]]
    banned_patterns: tuple[re.Pattern[str], ...]
    max_pitch_chars: dict[str, int]
    sample_salutation: Text
    sample_reason: Text


def _regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(f"not a valid regular expression: {exc}") from exc


class _LengthCheckSchema(Schema):
    salutation = per_locale(fields.String(validate=validate.Length(min=1)))
    reason = per_locale(fields.String(validate=validate.Length(min=1)))


class _WordingSchema(Schema):
    banned_phrases = per_locale(fields.List(fields.String(validate=validate.Length(min=1))))
    banned_patterns = fields.List(fields.String(validate=_regex), required=True)
    max_pitch_chars = per_locale(fields.Integer(validate=validate.Range(min=1)))
    length_check = fields.Nested(_LengthCheckSchema, required=True)


def wording_from_dict(raw: Any, source: str = "rules.yaml") -> WordingRules:
    """Validate an already-parsed wording section; errors name the field."""
    try:
        data = _WordingSchema().load(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        raise WordingConfigError(f"{source}: field 'wording': {exc.messages}") from exc
    return WordingRules(
        banned_phrases={k: tuple(v) for k, v in data["banned_phrases"].items()},
        banned_patterns=tuple(re.compile(p, re.IGNORECASE) for p in data["banned_patterns"]),
        max_pitch_chars=dict(data["max_pitch_chars"]),
        sample_salutation=Text(data["length_check"]["salutation"]),
        sample_reason=Text(data["length_check"]["reason"]),
    )


def load_wording_rules(path: Path = DEFAULT_WORDING_PATH) -> WordingRules:
    """Read the `wording` section of a rules file."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise WordingConfigError(f"{path}: cannot read: {exc}") from exc
    section = raw.get("wording") if isinstance(raw, dict) else None
    if section is None:
        raise WordingConfigError(f"{Path(path).name}: field 'wording': missing")
    return wording_from_dict(section, Path(path).name)


@lru_cache(maxsize=1)
def default_wording_rules() -> WordingRules:
    """The packaged wording rules, read once on first use (never at import)."""
    return load_wording_rules(DEFAULT_WORDING_PATH)


def find_banned_wording(text: str, locale: str, rules: WordingRules | None = None) -> list[str]:
    """Every banned phrase or yield figure found in a text, as it appears there; [] if clean."""
    check_locale(locale)
    rules = rules or default_wording_rules()
    lowered = text.casefold()
    found = [p for p in rules.banned_phrases.get(locale, ()) if p.casefold() in lowered]
    for pattern in rules.banned_patterns:
        found.extend(m.group(0) for m in pattern.finditer(text))
    return found


def template_placeholders(template: str) -> list[str]:
    """Names of the {placeholders} in a template; raises ValueError on malformed braces."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} may not carry a format spec or conversion")
        names.append(name)
    return names


def render_sample(template: str, product_name: str, locale: str, rules: WordingRules) -> str:
    """The template filled with the longest plausible salutation and reason, to check its length."""
    return template.format(
        salutation=rules.sample_salutation.in_locale(locale),
        product=product_name,
        reason=rules.sample_reason.in_locale(locale),
    )
