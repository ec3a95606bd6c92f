"""What the service answers: plain data the API serialises and the audit stores."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from recsvc.customers.profile import Customer, Transaction
from recsvc.service.experiment import Assignment


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


class _Plain:
    """The answer's parts: their JSON-able form is their dataclass fields, in order."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError  # replaced by @plain


_AS_IS = {"str", "str | None", "float", "float | None", "bool", "int"}
T = TypeVar("T")


def _expression(name: str, kind: str, parts: set[str]) -> str:
    """How one field is written, from its annotation (a string: `from __future__ import
    annotations`)."""
    value = f"self.{name}"
    if kind in _AS_IS:
        return value
    if kind == "list[str]":
        return f"list({value})"
    if kind == "dt.date":
        return f"{value}.isoformat()"
    if kind.startswith("list[") and kind[5:-1] in parts:
        return f"[item.to_dict() for item in {value}]"
    if kind.removesuffix(" | None") in parts:
        return f"None if {value} is None else {value}.to_dict()"
    raise TypeError(f"no JSON form for field {name}: {kind}")


def compile_to_dict(cls: type) -> Callable[[Any], dict[str, Any]]:
    """A dataclass's JSON-able form, compiled once from its fields (as dataclasses compiles
    __init__): what dataclasses.asdict gives (fresh dicts and lists, field order kept), dates
    as ISO strings, without asdict's generic walk and deepcopy."""
    # the answer's own parts, and the experiment's Assignment (recsvc.service.experiment)
    parts = {c.__name__ for c in _Plain.__subclasses__()} | {"Assignment"}
    items = ", ".join(
        f"{f.name!r}: {_expression(f.name, str(f.type), parts)}" for f in dataclasses.fields(cls)
    )
    namespace: dict[str, Any] = {}
    exec(f"def to_dict(self):\n    return {{{items}}}\n", {}, namespace)
    to_dict: Callable[[Any], dict[str, Any]] = namespace["to_dict"]
    return to_dict


def plain(cls: type[T]) -> type[T]:
    """Give a part of the answer its compiled `to_dict()`."""
    cls.to_dict = compile_to_dict(cls)  # type: ignore[attr-defined]
    return cls


@plain
@dataclass(frozen=True)
class ReasonOut(_Plain):
    code: str
    text: str


@plain
@dataclass(frozen=True)
class RecommendationOut(_Plain):
    product_id: str
    name: str
    family: str
    risk_level: str | None
    propensity: float | None
    expected_value: float
    score: float
    reasons: list[ReasonOut]
    requires_dual_recording: bool


@plain
@dataclass(frozen=True)
class ExcludedOut(_Plain):
    product_id: str
    code: str
    text: str
    codes: list[str]


@plain
@dataclass(frozen=True)
class NextActionOut(_Plain):
    code: str
    text: str


@plain
@dataclass(frozen=True)
class PitchOut(_Plain):
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
    experiment: Assignment | None = None  # the experiment arm this answer was served in

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (dates as ISO strings), built once for the audit and the response."""
        return self._dict

    @cached_property
    def _dict(self) -> dict[str, Any]:
        return _ANSWER_TO_DICT(self)


_ANSWER_TO_DICT = compile_to_dict(Answer)
