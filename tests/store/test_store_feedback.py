"""Feedback is recorded once per (request, product), even under a race; audit round-trips."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from store_reference import pitched_today, recent_declines
from threadtesting import run_threads

from recsvc.store import (
    AuditRecord,
    get_audit,
    load_customers,
    record_feedback,
    write_audit,
)
from recsvc.store.tables import FeedbackRow

NOON = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


def _feedback(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "request_id": "req-1",
        "product_id": "GOLD_PLAN",
        "outcome": "declined",
        "customer_id": "C00000001",
        "staff_id": "T07",
        "recorded_at": NOON,
    }
    values.update(overrides)
    return values


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(FeedbackRow)) or 0


def test_record_feedback_is_idempotent_per_request_and_product(engine: Engine) -> None:
    with Session(engine) as session:
        assert record_feedback(session, **_feedback()) is True
        assert record_feedback(session, **_feedback(outcome="accepted")) is False
        assert record_feedback(session, **_feedback(product_id="CREDIT_CARD")) is True
        session.commit()
    with Session(engine) as session:
        assert record_feedback(session, **_feedback()) is False
        session.commit()
        outcomes = session.scalars(select(FeedbackRow.outcome).order_by(FeedbackRow.id)).all()
    assert outcomes == ["declined", "declined"]  # the first answer stands


def test_record_feedback_rejects_unknown_outcome(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(ValueError, match="outcome"):
        record_feedback(session, **_feedback(outcome="maybe"))


def test_record_feedback_while_another_session_holds_the_row(engine: Engine) -> None:
    results: list[bool] = []

    def second() -> None:
        with Session(engine) as session:
            results.append(record_feedback(session, **_feedback()))
            session.commit()

    first = Session(engine)
    try:
        assert record_feedback(first, **_feedback()) is True  # inserted, not yet committed
        other = threading.Thread(target=second)
        other.start()  # waits on the uncommitted row (or runs after the commit)
        first.commit()
    finally:
        first.close()
    other.join()
    assert results == [False]
    assert _count(engine) == 1


def test_racing_sessions_record_exactly_once(engine: Engine) -> None:
    racers = 4
    barrier = threading.Barrier(racers)
    results: list[bool] = []

    def race() -> None:
        with Session(engine) as session:
            barrier.wait()
            results.append(record_feedback(session, **_feedback()))
            session.commit()

    assert run_threads([race] * racers) == []
    assert sorted(results) == [False] * (racers - 1) + [True]
    assert _count(engine) == 1


def test_recent_declines_merge_feedback_and_pitch_history(engine: Engine, bank_dir: Path) -> None:
    load_customers(engine, bank_dir)  # pitch history: C00000001 declined GOLD_PLAN on 2026-09-10
    with Session(engine) as session:
        record_feedback(session, **_feedback(request_id="r1", product_id="WM_R3"))
        record_feedback(
            session, **_feedback(request_id="r2", product_id="FUND", outcome="accepted")
        )
        record_feedback(
            session, **_feedback(request_id="r3", product_id="GOLD_PLAN", outcome="not_interested")
        )
        record_feedback(session, **_feedback(request_id="r4", customer_id="C00000003"))
        session.commit()
        assert recent_declines(session, "C00000001", dt.date(2026, 9, 1)) == {
            "WM_R3": dt.date(2026, 11, 2),
            "GOLD_PLAN": dt.date(2026, 11, 2),
        }
        assert recent_declines(session, "C00000001", dt.date(2026, 11, 3)) == {}
        record_feedback(session, **_feedback(request_id="r5", recorded_at=NOON.replace(month=8)))
        assert recent_declines(session, "C00000002", dt.date(2026, 1, 1)) == {}


def test_recent_declines_from_history_alone(engine: Engine, bank_dir: Path) -> None:
    load_customers(engine, bank_dir)
    with Session(engine) as session:
        declines = recent_declines(session, "C00000001", dt.date(2026, 9, 1))
    assert declines == {"GOLD_PLAN": dt.date(2026, 9, 10)}


def test_pitched_today_uses_the_branch_day(engine: Engine, bank_dir: Path) -> None:
    load_customers(engine, bank_dir)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    late_utc = dt.datetime(2026, 11, 2, 20, 0, tzinfo=dt.UTC)  # 04:00 on Nov 3 in Shanghai
    with Session(engine) as session:
        record_feedback(session, **_feedback(request_id="a", product_id="P1"))
        record_feedback(session, **_feedback(request_id="b", product_id="P2", recorded_at=late_utc))
        record_feedback(session, **_feedback(request_id="c", product_id="P1", outcome="accepted"))
        session.commit()
        assert pitched_today(session, "C00000001", dt.date(2026, 11, 2)) == ["P1", "P2"]
        assert pitched_today(session, "C00000001", dt.date(2026, 11, 2), tz=shanghai) == ["P1"]
        assert pitched_today(session, "C00000001", dt.date(2026, 11, 3), tz=shanghai) == ["P2"]
        assert pitched_today(session, "C00000003", dt.date(2026, 9, 12)) == ["INS_REG"]
        assert pitched_today(session, "C00000004", dt.date(2026, 11, 2)) == []


def test_audit_round_trip(engine: Engine) -> None:
    record = AuditRecord(
        request_id="req-9",
        caller_role="teller",
        staff_id="T07",
        customer_id="C00000001",
        model_version="2026-11-01.1",
        model_hash="ab" * 32,
        degraded=True,
        payload={"products": ["GOLD_PLAN"], "scores": [0.25], "sentence": "黄金积存，每月定投"},
        created_at=dt.datetime(2026, 11, 2, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    )
    with Session(engine) as session:
        write_audit(session, record)
        session.commit()
    with Session(engine) as session:
        assert get_audit(session, "req-9") == record
        assert get_audit(session, "req-404") is None
        loaded = get_audit(session, "req-9")
    assert loaded is not None and loaded.created_at.utcoffset() == dt.timedelta(0)


def test_audit_request_id_is_unique(engine: Engine) -> None:
    record = AuditRecord(request_id="req-1", caller_role="teller", payload={})
    with Session(engine) as session:
        write_audit(session, record)
        session.commit()
    with Session(engine) as session, pytest.raises(IntegrityError):
        write_audit(session, record)
