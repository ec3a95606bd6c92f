"""replace_managers on PostgreSQL writes by COPY (recsvc.store.pgbulk.copy_upsert): the same
plan and audit rows as the row-by-row upserts, and as idempotent."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from contact_plan_support import WEEK
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_contact_plan_partition_write import _rows

import recsvc.store.contact_plan as store_plan
from recsvc.config import Settings
from recsvc.store import make_engine
from recsvc.store.contact_plan import ManagerSpan, replace_managers
from recsvc.store.tables import AuditLogRow, ContactPlanRow


def _write(engine: Engine, span: ManagerSpan, rows: Any, audits: Any, copy: bool | None) -> None:
    with Session(engine) as session:
        replace_managers(session, WEEK, span, rows, audits, copy=copy)
        session.commit()


def _stored(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as conn:
        plan = conn.execute(
            select(ContactPlanRow.__table__).order_by(ContactPlanRow.customer_id)
        ).all()
        audits = conn.execute(select(AuditLogRow.__table__).order_by(AuditLogRow.request_id)).all()
    return [tuple(r) for r in plan], [tuple(r) for r in audits]


def _varied(manager_id: str, customers: list[str], run: str) -> tuple[list[Any], list[Any]]:
    """_rows with what a real plan carries: flags, JSON lists and objects, unicode, nulls."""
    rows, audits = _rows(manager_id, customers, run)
    for i, (row, audit) in enumerate(zip(rows, audits, strict=True)):
        row.update(
            priority=10.0 / (i + 3),
            flag="REASSIGN" if i % 2 else None,
            products=["WM_R2", "LARGE_CD"][: i % 3],
            talking_points=[{"code": "SUGGESTION", "zh": '理财 "R2"\n\t', "en": "a\\b"}],
            created_at=dt.datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=dt.UTC),
        )
        audit.update(
            staff_id="S1" if i % 2 else None,
            model_version="v3",
            payload={"entry": {"rank": i, "products": row["products"], "none": None}},
            experiment_id="exp" if i % 2 else None,
        )
    return rows, audits


@pytest.mark.postgres
def test_copy_and_row_upserts_store_the_same_plan(
    two_postgres: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    by_rows, by_copy = two_postgres
    calls: list[str] = []
    real = store_plan.copy_upsert

    def spy(conn: Any, table: Any, keys: Any, rows: Any) -> int:
        calls.append(table.name)
        return real(conn, table, keys, rows)

    monkeypatch.setattr(store_plan, "copy_upsert", spy)
    low, high = ManagerSpan(None, "M5"), ManagerSpan("M5", None)
    customers = [f"C{i:03d}" for i in range(40)]
    writes = [
        (low, _varied("M1", customers[:25], "run1")),
        (high, _varied("M7", customers[25:], "run1")),
        (low, _varied("M1", customers[:25], "run1")),  # the retried partition
        (low, _varied("M1", customers[5:20], "run2")),  # a new run replaces the span
    ]
    for span, (rows, audits) in writes:
        _write(by_rows, span, rows, audits, copy=False)
        _write(by_copy, span, rows, audits, copy=None)  # PostgreSQL's default
        assert _stored(by_copy) == _stored(by_rows)
    plan, audits = _stored(by_copy)
    assert len(plan) == 15 + 15 and len(audits) == 25 + 15 + 15
    assert calls == ["audit_log", "contact_plan"] * len(writes)


def test_copy_on_sqlite_is_refused(store_settings: Settings) -> None:
    engine = make_engine(dataclasses.replace(store_settings).database_url)
    rows, audits = _rows("M1", ["C1"], "run1")
    with pytest.raises(ValueError, match="PostgreSQL"):
        _write(engine, ManagerSpan(), rows, audits, copy=True)
    assert _stored(engine) == ([], [])
    engine.dispose()
