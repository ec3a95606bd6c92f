"""What the service answers: plain data the API serialises and the audit stores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
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
    channel: str | None  # None: the caller's role's own channel (service.yaml `channels`)
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

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text}


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "family": self.family,
            "risk_level": self.risk_level,
            "propensity": self.propensity,
            "expected_value": self.expected_value,
            "score": self.score,
            "reasons": [r.to_dict() for r in self.reasons],
            "requires_dual_recording": self.requires_dual_recording,
        }


@dataclass(frozen=True)
class ExcludedOut:
    product_id: str
    code: str
    text: str
    codes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "code": self.code,
            "text": self.text,
            "codes": list(self.codes),
        }


@dataclass(frozen=True)
class NextActionOut:
    code: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True)
class PitchOut:
    product_id: str
    name: str
    text: str
    risk_notice: str | None
    requires_dual_recording: bool
    reasons: list[ReasonOut]
    next_action: NextActionOut | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "text": self.text,
            "risk_notice": self.risk_notice,
            "requires_dual_recording": self.requires_dual_recording,
            "reasons": [r.to_dict() for r in self.reasons],
            "next_action": None if self.next_action is None else self.next_action.to_dict(),
        }


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (dates as ISO strings), built once for the audit and the response."""
        return self._dict

    @cached_property
    def _dict(self) -> dict[str, Any]:
        """The JSON-able form, built on first use:
        what dataclasses.asdict gives (fresh dicts and lists, field order kept), written out
        per type instead of its generic walk and deepcopy (a test holds them equal)."""
        return {
            "request_id": self.request_id,
            "model_version": self.model_version,
            "model_hash": self.model_hash,
            "degraded": self.degraded,
            "as_of": self.as_of.isoformat(),
            "recommendations": [r.to_dict() for r in self.recommendations],
            "excluded": [e.to_dict() for e in self.excluded],
            "pitch": None if self.pitch is None else self.pitch.to_dict(),
            "next_actions": [a.to_dict() for a in self.next_actions],
        }
