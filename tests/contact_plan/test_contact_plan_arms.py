"""score-book under an experiment (issue 12): the API's assignment; hold-out customers keep
their triggers, marked HOLDOUT, with no product suggested; every entry's audit row names its
experiment and arm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contact_plan_support import WEEK, book_customer, days, store_book
from sqlalchemy import select
from sqlalchemy.orm import Session

from recsvc.service.answers import Caller
from recsvc.service.contact_plan import HOLDOUT_FLAG, ContactPlanner
from recsvc.service.experiment import arm_for
from recsvc.service.experiments import ExperimentSource
from recsvc.store.tables import AuditLogRow

Plan = Callable[[str], dict[str, dict[str, Any]]]
N = 40


def _book(planner: ContactPlanner) -> None:
    maturing = [{"product_id": "time_deposit", "amount": 50000, "maturity_date": days(10)}]
    customers = [book_customer(f"CX{i:03d}", "M9", holdings=maturing) for i in range(N)]
    store_book(planner.engine, customers, {"M9": (3, 1000)})


def _set(planner: ContactPlanner, split: dict[str, int]) -> str:
    made = ExperimentSource(planner.engine).set_split(
        split, caller=Caller("data_scientist", "DS1"), request_id=f"req-{sorted(split.items())}",
        salt="plan-salt",
    )  # fmt: skip
    return made.experiment_id


def _audits(planner: ContactPlanner) -> dict[str, AuditLogRow]:
    with Session(planner.engine) as session:
        rows = session.scalars(select(AuditLogRow).where(AuditLogRow.caller_role == "batch"))
        return {r.request_id: r for r in rows}


def test_holdout_customers_keep_their_triggers_and_get_no_product(
    planner: ContactPlanner, plan_of: Plan
) -> None:
    _book(planner)
    planner.plan_week(WEEK)
    before = plan_of("M9")
    assert len(before) == N and all(e["products"] and e["flag"] is None for e in before.values())
    split = {"champion": 50, "challenger": 0, "rules": 0, "holdout": 50}
    experiment_id = _set(planner, split)
    planner.plan_week(WEEK)
    after = plan_of("M9")
    assert set(after) == set(before)  # the same customers, the same triggers
    arms = {c: arm_for(split, "plan-salt", c) for c in after}
    assert set(arms.values()) == {"champion", "holdout"}
    for customer_id, entry in after.items():
        assert entry["triggers"] == before[customer_id]["triggers"]
        if arms[customer_id] == "holdout":
            assert entry["products"] == [] and entry["flag"] == HOLDOUT_FLAG
            assert all(p["code"] != "SUGGESTION" for p in entry["talking_points"])
        else:
            assert entry["products"] == before[customer_id]["products"]
            assert entry["flag"] is None
    audits = _audits(planner)
    for entry in after.values():
        audit = audits[entry["request_id"]]
        assert (audit.experiment_id, audit.arm) == (experiment_id, arms[entry["customer_id"]])
        offered = audit.payload["answer"]["recommendations"]
        assert (offered == []) == (arms[entry["customer_id"]] == "holdout")


def test_rules_arm_entries_are_ranked_without_a_model_and_say_so(
    planner: ContactPlanner, plan_of: Plan
) -> None:
    _book(planner)
    experiment_id = _set(planner, {"rules": 100})
    planner.plan_week(WEEK)
    plan = plan_of("M9")
    assert len(plan) == N and all(e["products"] for e in plan.values())
    audits = _audits(planner)
    for entry in plan.values():
        audit = audits[entry["request_id"]]
        assert (audit.experiment_id, audit.arm, audit.model_version) == (experiment_id, "rules",
                                                                          None)  # fmt: skip
        assert audit.degraded is False  # by design, not for want of a model
