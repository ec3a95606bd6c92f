"""The daily cap in the store: a customer's day has numbered slots; claiming one is an
insert-or-read on a unique constraint, so concurrent claims never exceed the cap (SQLite and
PostgreSQL); migration 0004 turns an old log (with repeats and races) into slots."""

from __future__ import annotations

import datetime as dt
import functools
import threading

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from store_reference import pitched_on
from threadtesting import run_threads

from recsvc.store import make_engine, record_pitch, upgrade
from recsvc.store.prepared import prepare_all
from recsvc.store.tables import PitchLogRow

DAY = dt.date(2026, 11, 2)


def claim(engine: Engine, request_id: str, product_id: str, slots: int = 1) -> list[str]:
    with engine.connect() as connection:
        found = record_pitch(
            connection, request_id=request_id, customer_id="C1", product_id=product_id,
            day=DAY, channel="teller", slots=slots,
        )  # fmt: skip
        connection.commit()
    return found


def test_the_first_product_takes_the_day_and_a_repeat_reads_it(engine: Engine) -> None:
    assert claim(engine, "r1", "FUND") == ["FUND"]
    assert claim(engine, "r2", "FUND") == ["FUND"]  # same product again: logged already
    assert claim(engine, "r3", "GOLD") == ["FUND"]  # another product: the day is used up
    with Session(engine) as session:
        assert pitched_on(session, "C1", DAY) == ["FUND"]
        assert session.scalars(select(PitchLogRow.request_id)).all() == ["r1"]


def test_a_cap_of_two_gives_two_slots(engine: Engine) -> None:
    assert claim(engine, "r1", "FUND", slots=2) == ["FUND"]
    assert claim(engine, "r2", "GOLD", slots=2) == ["FUND", "GOLD"]
    assert claim(engine, "r3", "CD", slots=2) == ["FUND", "GOLD"]
    assert claim(engine, "r4", "GOLD", slots=2) == ["FUND", "GOLD"]


def test_the_database_refuses_a_second_row_in_a_slot(engine: Engine) -> None:
    row = {"request_id": "r", "customer_id": "C1", "product_id": "FUND", "day": DAY,
           "channel": "teller", "slot": 0}  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(PitchLogRow), [row])
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(PitchLogRow), [{**row, "product_id": "GOLD"}])


def test_concurrent_claims_for_different_products_leave_one(engine: Engine) -> None:
    products = [f"P{i}" for i in range(8)]
    results: dict[str, list[str]] = {}
    start = threading.Barrier(len(products))

    def run(product: str) -> None:
        start.wait()
        results[product] = claim(engine, f"r-{product}", product)

    assert run_threads([functools.partial(run, p) for p in products]) == []
    with Session(engine) as session:
        logged = pitched_on(session, "C1", DAY)
    assert len(logged) == 1
    assert all(found == logged for found in results.values()), results


def test_migration_0004_merges_repeats_and_numbers_the_products(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0003")
        old = [
            ("a1", "C1", "FUND", DAY), ("a2", "C1", "FUND", DAY), ("a3", "C1", "GOLD", DAY),
            ("a4", "C1", "FUND", DAY + dt.timedelta(days=1)), ("a5", "C2", "CD", DAY),
        ]  # fmt: skip
        with engine.begin() as connection:
            for request_id, customer_id, product_id, day in old:
                connection.exec_driver_sql(
                    "INSERT INTO pitch_log (request_id, customer_id, product_id, day, channel)"
                    f" VALUES ('{request_id}', '{customer_id}', '{product_id}',"
                    f" '{day.isoformat()}', 'teller')"
                )
        upgrade(engine)
        with Session(engine) as session:
            rows = session.execute(
                select(PitchLogRow.request_id, PitchLogRow.slot).order_by(PitchLogRow.request_id)
            ).all()
        # the repeat a2 merged into a1; C1's two products of DAY (a race) keep slots 0 and 1
        assert [tuple(r) for r in rows] == [("a1", 0), ("a3", 1), ("a4", 0), ("a5", 0)]
        assert claim(engine, "b1", "CD") == ["FUND"]  # the day stays used up
    finally:
        engine.dispose()


def test_a_serving_worker_prepares_every_statement_on_its_own_dialect(engine: Engine) -> None:
    """A gunicorn worker compiles every prepared statement before its first request; the cap's
    claim exists per dialect, and the other dialect's form must not be compiled here (on
    PostgreSQL, SQLite's ON CONFLICT would not compile: no worker could boot)."""
    with engine.connect() as connection:
        assert prepare_all(connection) >= 1
    assert claim(engine, "r1", "FUND") == ["FUND"]
