"""What the teller does for a customer in each experiment arm: the simulator's per-arm hook.

An ArmPolicy gets the visit and a ServiceClient and returns a Decision (the product the teller
puts to the customer, or None). Today every arm the service knows is served by `ServicePitch`
(POST /v1/pitch, say what it says). Stand-ins until the service has arms of its own:
`NoPitch` (a hold-out on the simulator's side: no call, nothing said) and `TruthOracle`
(a challenger that sees the hidden truth: it asks /v1/recommendations for everything the rules
allow and pitches the product with the largest true uplift x value).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from training.simulate.client import ServiceClient
from training.synth.truth import Truth

MAX_LIMIT = 20  # recsvc.api.reco_schemas.MAX_LIMIT


@dataclass(frozen=True)
class Visit:
    """A customer at the counter on a simulated day."""

    day: int  # 0 = the first simulated day
    date: dt.date
    customer: int  # row in the bank's customers.csv (and the truth)
    customer_id: str
    transaction: dict[str, Any] | None  # the TransactionIn body, or None
    request_id: str
    arm: str  # from arm_of(customer_id)


@dataclass(frozen=True)
class Decision:
    product_id: str | None  # what the teller says; None = nothing
    request_id: str | None  # the audited request (None: no call was made)
    model_version: str | None = None
    arm: str | None = None  # the arm the service says it served, if it says one


class ArmPolicy(Protocol):
    def decide(self, client: ServiceClient, visit: Visit) -> Decision: ...


def arm_in_answer(answer: dict[str, Any]) -> str | None:
    """The arm an answer names: `arm` or `experiment.arm` (absent in today's service)."""
    arm = answer.get("arm")
    if arm is None and isinstance(answer.get("experiment"), dict):
        arm = answer["experiment"].get("arm")
    return None if arm is None else str(arm)


class ServicePitch:
    """Ask /v1/pitch and say what it says (every arm, once the service serves arms)."""

    def __init__(self, arm_from_answer: Callable[[dict[str, Any]], str | None] = arm_in_answer):
        self.arm_from_answer = arm_from_answer

    def decide(self, client: ServiceClient, visit: Visit) -> Decision:
        body = {"customer_id": visit.customer_id, "transaction": visit.transaction}
        answer = client.post("/v1/pitch", body, request_id=visit.request_id)
        pitch = answer.get("pitch")
        return Decision(
            product_id=pitch["product_id"] if pitch else None,
            request_id=answer.get("request_id", visit.request_id),
            model_version=answer.get("model_version"),
            arm=self.arm_from_answer(answer),
        )


class NoPitch:
    """A simulator-side hold-out: the teller says nothing and the service is not asked."""

    def decide(self, client: ServiceClient, visit: Visit) -> Decision:
        return Decision(product_id=None, request_id=None)


class TruthOracle:
    """A challenger that knows the truth: among the products the service's rules allow
    (/v1/recommendations), pitch the one with the largest uplift x value."""

    def __init__(self, truth: Truth, values: dict[str, float]) -> None:
        self.truth = truth
        self.column = {p: j for j, p in enumerate(truth.product_ids)}
        self.values = values

    def decide(self, client: ServiceClient, visit: Visit) -> Decision:
        body = {"customer_id": visit.customer_id, "channel": "teller",
                "transaction": visit.transaction, "limit": MAX_LIMIT}  # fmt: skip
        answer = client.post("/v1/recommendations", body, request_id=visit.request_id)
        allowed = [r["product_id"] for r in answer.get("recommendations", [])]
        gain = [
            self.truth.uplift[visit.customer, self.column[p]] * self.values.get(p, 0.0)
            if p in self.column else 0.0
            for p in allowed
        ]  # fmt: skip
        best = allowed[int(np.argmax(gain))] if allowed and max(gain) > 0 else None
        return Decision(product_id=best, request_id=answer.get("request_id", visit.request_id),
                        model_version=answer.get("model_version"))  # fmt: skip
