"""What the service answers: plain data the API serialises and the audit stores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from recsvc.customers.profile import Customer, Transaction


@dataclass(frozen=True)
class Caller:
    """Who is asking (from the API key)."""

    role: str
    staff_id: str | None = None
    branch_id: str | None = None
    manager_id: str | None = None


@dataclass(frozen=True)
class RecommendRequest:
    """One ask for suggestions: a stored customer (by id) or an inline profile."""

    request_id: str
    caller: Caller
    channel: str
    customer_id: str | None = None
    customer: Customer | None = None
    transaction: Transaction | None = None
    limit: int = 5
    locale: str = "zh-CN"
    as_of: dt.date | None = None  # default: today in the bank's time zone; set for replays


@dataclass(frozen=True)
class ReasonOut:
    code: str
    text: str


@dataclass(frozen=True)
class RecommendationOut:
    product_id: str
    name: str
    family: str
    risk_level: str | None
    propensity: float | None
    expected_value: float
    score: float
    reasons: list[ReasonOut]
    requires_dual_recording: bool


@dataclass(frozen=True)
class ExcludedOut:
    product_id: str
    code: str
    text: str
    codes: list[str]


@dataclass(frozen=True)
class NextActionOut:
    code: str
    text: str


@dataclass(frozen=True)
class PitchOut:
    product_id: str
    name: str
    text: str
    risk_notice: str | None
    requires_dual_recording: bool
    reasons: list[ReasonOut]
    next_action: NextActionOut | None


@dataclass(frozen=True)
class Answer:
    request_id: str
    model_version: str | None
    model_hash: str | None
    degraded: bool
    as_of: dt.date
    recommendations: list[RecommendationOut]
    excluded: list[ExcludedOut]
    pitch: PitchOut | None
    next_actions: list[NextActionOut] = field(default_factory=list)

    @cached_property
    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (dates as ISO strings), built once for the audit and the response."""
        data: dict[str, Any] = _plain(self)
        data["as_of"] = self.as_of.isoformat()
        return data

    def to_dict(self) -> dict[str, Any]:
        return self.as_dict


_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls))
    for cls in (ReasonOut, RecommendationOut, ExcludedOut, NextActionOut, PitchOut, Answer)
}


def _plain(value: Any) -> Any:
    """What dataclasses.asdict gives for these answer types (fresh dicts and lists, field
    order kept), without its generic deepcopy of every leaf: leaves here are immutable."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    names = _FIELDS.get(type(value))
    if names is None:
        return value
    return {name: _plain(getattr(value, name)) for name in names}
