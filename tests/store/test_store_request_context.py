"""The request path's reads and writes (prepared statements on the DBAPI cursor) give what the
ORM repositories give, on SQLite and PostgreSQL, and fail as SQLAlchemy errors without values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from store_reference import pitched_on, recent_declines

from recsvc.store import (
    AuditRecord,
    get_audit,
    get_customer,
    get_request_context,
    load_customers,
    record_feedback,
    record_pitch,
    write_audit,
)
from recsvc.store.tables import PitchLogRow

DAY = dt.date(2026, 11, 2)
SINCE = dt.date(2026, 9, 1)
CUSTOMERS = ("C00000001", "C00000002", "C00000003", "C00000004", "C99999999")


@pytest.fixture
def loaded(engine: Engine, bank_dir: Path) -> Engine:
    load_customers(engine, bank_dir)
    at = dt.datetime(2026, 11, 1, 23, 30, tzinfo=dt.UTC)  # 2 Nov 07:30 in Shanghai
    with Session(engine) as session:
        record_feedback(session, request_id="r1", product_id="WM_R3", outcome="declined",
                        customer_id="C00000001", staff_id="T1", recorded_at=at)  # fmt: skip
        record_feedback(session, request_id="r2", product_id="FUND", outcome="accepted",
                        customer_id="C00000001", staff_id="T1", recorded_at=at)  # fmt: skip
        for n, product in enumerate(["FUND", "GOLD_PLAN", "FUND"]):
            record_pitch(session, request_id=f"p{n}", customer_id="C00000001",
                         product_id=product, day=DAY, channel="teller", slots=2)  # fmt: skip
        record_pitch(session, request_id="p9", customer_id="C00000001", product_id="CD",
                     day=DAY - dt.timedelta(days=1), channel="teller")  # fmt: skip
        session.commit()
    return engine


@pytest.mark.parametrize("tz", [dt.UTC, dt.timezone(dt.timedelta(hours=8))])
@pytest.mark.parametrize("customer_id", CUSTOMERS)
def test_request_context_equals_the_repositories(
    loaded: Engine, customer_id: str, tz: dt.tzinfo
) -> None:
    with loaded.connect() as connection:
        context = get_request_context(connection, customer_id, since=SINCE, day=DAY, tz=tz)
        connection.commit()
    with Session(loaded) as session:
        assert context.customer == get_customer(session, customer_id)
        assert context.declines == recent_declines(session, customer_id, SINCE, tz=tz)
        assert context.pitched == pitched_on(session, customer_id, DAY)
    if customer_id == "C00000001":  # the fixture's data reached the comparison
        assert context.customer is not None and context.customer.holdings
        assert context.pitched == ["FUND", "GOLD_PLAN"]
        assert "WM_R3" in context.declines


def test_without_customer_reads_only_the_contact_policy(loaded: Engine) -> None:
    with loaded.connect() as connection:
        context = get_request_context(
            connection, "C00000001", since=SINCE, day=DAY, with_customer=False
        )
    assert context.customer is None and context.pitched == ["FUND", "GOLD_PLAN"]


def test_audit_round_trips_and_a_reused_request_id_is_an_integrity_error(engine: Engine) -> None:
    record = AuditRecord(
        request_id="req-secret-1", caller_role="teller", staff_id="T1", customer_id="C00000001",
        model_version="v1", model_hash="h", degraded=False,
        payload={"answer": {"text": "王女士您好", "n": 1.5, "none": None}},
        created_at=dt.datetime(2026, 11, 2, 8, 0, 0, 123456, tzinfo=dt.UTC),
    )  # fmt: skip
    with engine.connect() as connection:
        write_audit(connection, record)
        connection.commit()
    with Session(engine) as session:
        assert get_audit(session, "req-secret-1") == record
    with engine.connect() as connection:
        with pytest.raises(IntegrityError) as caught:
            write_audit(connection, record)
        connection.rollback()
    assert "王女士" not in str(caught.value) and "C00000001" not in str(caught.value)


def test_writes_share_the_callers_transaction(engine: Engine, bank_dir: Path) -> None:
    load_customers(engine, bank_dir)
    with engine.connect() as connection:
        record_pitch(connection, request_id="x1", customer_id="C00000001", product_id="FUND",
                     day=DAY, channel="teller")  # fmt: skip
        connection.rollback()  # nothing of a rolled-back request remains
    with Session(engine) as session:
        assert session.scalars(select(PitchLogRow)).all() == []
