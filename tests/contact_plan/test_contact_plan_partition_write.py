"""replace_managers, the write of one partition: only its managers' rows of the week change, and
writing the same rows again (a retried partition) leaves one copy of each, audit rows too."""

from __future__ import annotations

import datetime as dt
from typing import Any

from contact_plan_support import WEEK
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recsvc.config import Settings
from recsvc.store import make_engine
from recsvc.store.contact_plan import ManagerSpan, replace_managers
from recsvc.store.tables import AuditLogRow, ContactPlanRow

NOW = dt.datetime(2026, 11, 23, 1, tzinfo=dt.UTC)


def _rows(manager_id: str, customers: list[str], run: str) -> tuple[list[Any], list[Any]]:
    rows, audits = [], []
    for rank, customer_id in enumerate(customers, 1):
        request_id = f"cp-{WEEK}-{run}-{customer_id}"
        rows.append({
            "week": WEEK, "customer_id": customer_id, "manager_id": manager_id, "rank": rank,
            "priority": 10.0, "flag": None, "triggers": ["KEY_DATE"], "products": [],
            "talking_points": [], "channel": "phone", "request_id": request_id, "created_at": NOW,
        })  # fmt: skip
        audits.append({
            "request_id": request_id, "created_at": NOW, "caller_role": "batch", "staff_id": None,
            "customer_id": customer_id, "model_version": None, "model_hash": None,
            "degraded": True, "payload": {"run": run}, "experiment_id": None, "arm": "champion",
        })  # fmt: skip
    return rows, audits


def _write(engine: Any, span: ManagerSpan, rows: list[Any], audits: list[Any]) -> None:
    with Session(engine) as session:
        replace_managers(session, WEEK, span, rows, audits)
        session.commit()


def _stored(engine: Any) -> tuple[list[tuple[str, str, str]], int]:
    with Session(engine) as session:
        plan = session.execute(
            select(
                ContactPlanRow.manager_id, ContactPlanRow.customer_id, ContactPlanRow.request_id
            ).order_by(ContactPlanRow.customer_id)
        ).all()
        audits = session.scalar(select(func.count()).select_from(AuditLogRow))
    return [tuple(r) for r in plan], int(audits or 0)


def test_a_partition_written_twice_leaves_one_copy_and_the_other_spans_alone(
    store_settings: Settings,
) -> None:
    engine = make_engine(store_settings.database_url)
    low, high = ManagerSpan(None, "M5"), ManagerSpan("M5", None)
    _write(engine, low, *_rows("M1", ["C1", "C2"], "run1"))
    _write(engine, high, *_rows("M7", ["C7"], "run1"))
    first = _stored(engine)
    _write(engine, low, *_rows("M1", ["C1", "C2"], "run1"))  # the retried partition
    assert _stored(engine) == first
    assert first[1] == 3
    _write(engine, low, *_rows("M1", ["C2"], "run2"))  # a new run replaces the span only
    plan, _ = _stored(engine)
    assert plan == [("M1", "C2", f"cp-{WEEK}-run2-C2"), ("M7", "C7", f"cp-{WEEK}-run1-C7")]
    engine.dispose()
