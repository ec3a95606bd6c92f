"""Human reasons behind a score: the strongest positive feature contributions, in plain words.

The rules live in reasons.yaml. A reason is given only when a feature pushed the score up
AND its value says something true about the customer (a high contribution of `age` for a
59-year-old is not "senior").
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from marshmallow import ValidationError, fields, validate, validates_schema

from recsvc.catalog.schema import flatten_messages
from recsvc.config import PACKAGE_DATA
from recsvc.locales import Text, per_locale, text_field
from recsvc.strict import Strict

DEFAULT_REASONS_PATH = PACKAGE_DATA / "reasons.yaml"
_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TRANSFORMS: dict[str, Callable[[float], float]] = {"log1p": math.log1p}


class ReasonsConfigError(ValueError):
    """reasons.yaml is malformed or names a feature the model does not have."""


@dataclass(frozen=True)
class Reason:
    """One reason, in both languages; contribution is the feature's push on the raw score."""

    code: str
    texts: Text
    shorts: Text
    feature: str | None  # None for the fallback
    contribution: float

    def text(self, locale: str) -> str:
        """What a client manager reads."""
        return self.texts.in_locale(locale)

    def short(self, locale: str) -> str:
        """A clause for a pitch's {reason} placeholder."""
        return self.shorts.in_locale(locale)


@dataclass(frozen=True)
class ReasonRule:
    """A feature value that means something to a person, e.g. salary_via_bank == 1."""

    code: str
    op: str
    threshold: float  # after the transform, in the feature's own units
    texts: Text
    shorts: Text

    def holds(self, value: float, dtype: np.dtype[Any]) -> bool:
        """Compare at the row's precision, so ln(1 + 50000) in float32 still meets its threshold."""
        if math.isnan(value):
            return False
        threshold = self.threshold
        if np.issubdtype(dtype, np.floating):
            threshold = float(dtype.type(threshold))
        return _OPS[self.op](value, threshold)

    def reason(self, feature: str | None, contribution: float) -> Reason:
        return Reason(self.code, self.texts, self.shorts, feature, contribution)


class ReasonExplainer:
    """Maps a pred_contrib row (F features + bias) to at most `top` reasons, strongest first."""

    def __init__(
        self,
        *,
        feature_names: Sequence[str],
        rules_by_feature: Sequence[Sequence[ReasonRule]],
        fallback: ReasonRule,
    ) -> None:
        self.feature_names = tuple(feature_names)
        self.rules_by_feature = tuple(tuple(r) for r in rules_by_feature)
        self.fallback = fallback

    @classmethod
    def from_file(cls, path: Path, feature_names: Sequence[str]) -> ReasonExplainer:
        """Read reasons.yaml and bind its rules to the model's feature order."""
        names = tuple(feature_names)
        data = _load(Path(path))
        entries = data["rules"]
        problems = [
            f"key 'rules[{i}]': {_unknown(e)} matches no feature of the model"
            for i, e in enumerate(entries)
            if not any(_applies(e, n) for n in names)
        ]
        if problems:
            raise ReasonsConfigError(f"{Path(path).name}: " + "; ".join(problems))
        bound = [[_rule(e) for e in entries if _applies(e, n)] for n in names]
        return cls(feature_names=names, rules_by_feature=bound, fallback=_rule(data["fallback"]))

    def explain(self, x_row: np.ndarray, contrib_row: np.ndarray, *, top: int = 3) -> list[Reason]:
        """Features that raised the score and whose value fits a rule; else the fallback."""
        x, contrib = np.ravel(x_row), np.ravel(contrib_row)
        n = len(self.feature_names)
        if x.shape != (n,) or contrib.shape != (n + 1,):
            raise ValueError(
                f"expected {n} feature values and {n + 1} contributions (last = bias),"
                f" got {x.size} and {contrib.size}"
            )
        if top <= 0:
            return []
        candidates: list[tuple[float, int, ReasonRule]] = []
        for i, rules in enumerate(self.rules_by_feature):
            push = float(contrib[i])
            if not push > 0 or not math.isfinite(push):
                continue
            rule = next((r for r in rules if r.holds(float(x[i]), x.dtype)), None)
            if rule is not None:
                candidates.append((push, i, rule))
        candidates.sort(key=lambda c: (-c[0], c[1]))
        reasons: dict[str, Reason] = {}
        for push, i, rule in candidates:
            if rule.code not in reasons:
                reasons[rule.code] = rule.reason(self.feature_names[i], push)
        chosen = list(reasons.values())[:top]
        return chosen or [self.fallback.reason(None, 0.0)]


def _applies(entry: dict[str, Any], name: str) -> bool:
    if entry.get("feature") is not None:
        return bool(name == entry["feature"])
    return name.startswith(entry["feature_prefix"])


def _unknown(entry: dict[str, Any]) -> str:
    if entry.get("feature") is not None:
        return f"feature {entry['feature']!r}"
    return f"feature_prefix {entry['feature_prefix']!r}"


def _rule(entry: dict[str, Any]) -> ReasonRule:
    written = float(entry.get("threshold", 0.0))
    transform = entry.get("transform")
    threshold = _TRANSFORMS[transform](written) if transform else written
    return ReasonRule(
        code=entry["code"],
        op=entry.get("op", "=="),
        threshold=threshold,
        texts=Text(entry["text"]),
        shorts=Text(entry["short"]),
    )


_CODE = validate.Regexp(r"^[A-Z][A-Z0-9_]*$")


class _FallbackSchema(Strict):
    code = fields.String(required=True, validate=_CODE)
    text = text_field()
    short = text_field()


class _RuleSchema(_FallbackSchema):
    feature = fields.String(load_default=None, validate=validate.Length(min=1))
    feature_prefix = fields.String(load_default=None, validate=validate.Length(min=1))
    op = fields.String(required=True, validate=validate.OneOf(tuple(_OPS)))
    threshold = fields.Float(required=True, allow_nan=False)
    transform = fields.String(load_default=None, validate=validate.OneOf(tuple(_TRANSFORMS)))

    @validates_schema
    def _one_feature(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("feature") is None) == (data.get("feature_prefix") is None):
            raise ValidationError("give exactly one of feature and feature_prefix", "feature")


class _ReasonsSchema(Strict):
    max_short_chars = per_locale(fields.Integer(validate=validate.Range(min=1)))
    fallback = fields.Nested(_FallbackSchema, required=True)
    rules = fields.List(fields.Nested(_RuleSchema), required=True)


def _load(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReasonsConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        data: dict[str, Any] = _ReasonsSchema().load(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        problems = [f"key '{k}': {m}" for k, m in flatten_messages(exc.messages)]
        raise ReasonsConfigError(f"{path.name}: " + "; ".join(problems)) from exc
    limits = data["max_short_chars"]
    entries = [("fallback", data["fallback"])] + [
        (f"rules[{i}]", e) for i, e in enumerate(data["rules"])
    ]
    too_long = [
        f"key '{where}.short.{loc}': {len(text)} characters > {limits[loc]}"
        for where, e in entries
        for loc, text in e["short"].items()
        if len(text) > limits[loc]
    ]
    if too_long:
        raise ReasonsConfigError(f"{path.name}: " + "; ".join(too_long))
    return data
