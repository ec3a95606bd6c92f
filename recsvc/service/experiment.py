"""Experiment arms and who is in which: a salted hash of the customer id, nothing else.

Pure: no store, no Flask. The assignment depends only on the experiment's salt and the customer
id, so it is the same on every channel, day, worker and host, and independent of everything the
model sees. A new split starts a new experiment with a new salt (one analysis, one design).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

CHAMPION, CHALLENGER, RULES, HOLDOUT = "champion", "challenger", "rules", "holdout"
ARMS: tuple[str, ...] = (CHAMPION, CHALLENGER, RULES, HOLDOUT)
BUCKETS = 10_000  # basis points: a split is in whole percent, so 100 buckets per percent


class InvalidSplit(ValueError):
    """A split the service refuses; `field` names the offending part of the request."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_split(split: Mapping[str, object]) -> dict[str, int]:
    """The split as {arm: whole percent} in the arms' order, or InvalidSplit naming the field.

    Arms are champion/challenger/rules/holdout; each share a whole number 0..100; they sum to
    100; arms left out get 0."""
    if not isinstance(split, Mapping) or not split:
        raise InvalidSplit("split", "give each arm's share in percent, e.g. {'champion': 100}")
    for arm, share in split.items():
        if arm not in ARMS:
            raise InvalidSplit(f"split.{arm}", f"unknown arm; arms are {', '.join(ARMS)}")
        if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
            raise InvalidSplit(f"split.{arm}", "must be a whole number of percent, 0 to 100")
    total = sum(int(v) for v in split.values())  # type: ignore[call-overload]
    if total != 100:
        raise InvalidSplit("split", f"the shares must sum to 100, not {total}")
    return {arm: int(split.get(arm, 0)) for arm in ARMS}  # type: ignore[call-overload]


def bucket(salt: str, customer_id: str) -> int:
    """The customer's bucket 0..BUCKETS-1 under this salt (sha256, uniform, stable)."""
    digest = hashlib.sha256(f"{salt}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_for(split: Mapping[str, int], salt: str, customer_id: str) -> str:
    """The arm of a customer: buckets are dealt to the arms in ARMS order by their shares."""
    b = bucket(salt, customer_id)
    edge = 0
    for arm in ARMS:
        edge += split.get(arm, 0) * (BUCKETS // 100)
        if b < edge:
            return arm
    return CHAMPION  # unreachable for a checked split (shares sum to 100)


@dataclass(frozen=True)
class Experiment:
    """One design: its id, split and salt, who set it and when (ISO UTC)."""

    experiment_id: str
    split: dict[str, int]
    salt: str
    created_at: str = ""
    created_by: str | None = None
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def arm_of(self, customer_id: str) -> str:
        return arm_for(self.split, self.salt, customer_id)

    def to_dict(self) -> dict[str, object]:
        return {
            "experiment_id": self.experiment_id,
            "split": dict(self.split),
            "salt": self.salt,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "note": self.note,
        }


@dataclass(frozen=True)
class Assignment:
    """What a request is served as: the experiment (None: no experiment set, everyone is
    champion), the assigned arm, and the arm actually served (`rules` when the assigned arm
    has no usable model) with why."""

    id: str | None  # the experiment's id
    arm: str
    served: str
    fallback: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "arm": self.arm,
            "served": self.served,
            "fallback": self.fallback,
        }


def assign(experiment: Experiment | None, customer_id: str) -> str:
    """The arm of a customer under the current experiment; champion when none is set."""
    return CHAMPION if experiment is None else experiment.arm_of(customer_id)
