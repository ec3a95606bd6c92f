"""A contact plan's entries and the rows they are stored as: the plan row a manager reads, and
the audit row whose request id (`cp-<week>-<run>-<customer_id>`) POST /v1/feedback accepts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from recsvc.service.experiment import CHALLENGER, CHAMPION

HOLDOUT_FLAG = "HOLDOUT"  # an experiment's hold-out: triggers listed, no product suggested


@dataclass(frozen=True)
class PlanEntry:
    """One customer to contact: why, what to suggest, what to say, how, and how urgent."""

    customer_id: str
    manager_id: str
    triggers: tuple[str, ...]
    products: tuple[str, ...]
    talking_points: tuple[dict[str, str], ...]
    priority: float
    channel: str
    flag: str | None = None
    arm: str = CHAMPION  # the experiment arm (recsvc.service.experiment), champion if none
    model_version: str | None = None
    model_hash: str | None = None


@dataclass
class PlanSummary:
    week: str
    as_of: dt.date
    run_id: str
    customers: int = 0
    candidates: int = 0
    entries: int = 0
    reassign: int = 0
    per_manager: dict[str, int] = field(default_factory=dict)


def plan_row(
    entry: PlanEntry, week: str, rank: int, request_id: str, now: dt.datetime
) -> dict[str, object]:
    return {
        "week": week, "customer_id": entry.customer_id, "manager_id": entry.manager_id,
        "rank": rank, "priority": entry.priority, "flag": entry.flag,
        "triggers": list(entry.triggers), "products": list(entry.products),
        "talking_points": list(entry.talking_points), "channel": entry.channel,
        "request_id": request_id, "created_at": now,
    }  # fmt: skip


def plan_audit_row(
    entry: PlanEntry, summary: PlanSummary, request_id: str, experiment_id: str | None,
    now: dt.datetime,
) -> dict[str, object]:  # fmt: skip
    """The audit row of an entry: what the plan put in front of the manager; POST /v1/feedback
    accepts outcomes for exactly these products."""
    recommendations = [{"product_id": p} for p in entry.products]
    return {
        "request_id": request_id,
        "created_at": now,
        "caller_role": "batch",
        "staff_id": None,
        "customer_id": entry.customer_id,
        "model_version": entry.model_version,
        "model_hash": entry.model_hash,
        "degraded": entry.model_version is None and entry.arm in (CHAMPION, CHALLENGER),
        "experiment_id": experiment_id,
        "arm": entry.arm,
        "payload": {
            "source": "contact_plan",
            "week": summary.week,
            "as_of": summary.as_of.isoformat(),
            "triggers": list(entry.triggers),
            "answer": {
                "recommendations": recommendations,
                "pitch": None,
                "experiment": {"id": experiment_id, "arm": entry.arm},
            },
        },
    }
