"""The decision history's store read (recsvc.store.history_read), on SQLite and PostgreSQL: the
bank's pitches and the service's own with their current answers, only before the as-of day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from recsvc.store import load_customers, record_feedback, record_pitch
from recsvc.store.feedback_corrections import apply_correction, lock_feedback
from recsvc.store.history_read import pitch_records, pitch_records_of

DAY = dt.date(2026, 11, 2)


@pytest.fixture
def loaded(engine: Engine, bank_dir: Path) -> Engine:
    load_customers(engine, bank_dir)
    at = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    with Session(engine) as session:
        for n, (product, day) in enumerate([("FUND", DAY - dt.timedelta(days=1)),
                                            ("CD", DAY - dt.timedelta(days=3)),
                                            ("GOLD_PLAN", DAY)]):  # fmt: skip
            record_pitch(session, request_id=f"p{n}", customer_id="C00000001",
                         product_id=product, day=day, channel="teller")  # fmt: skip
        record_feedback(session, request_id="p0", product_id="FUND", outcome="accepted",
                        customer_id="C00000001", staff_id="T1", recorded_at=at)  # fmt: skip
        record_feedback(session, request_id="p2", product_id="GOLD_PLAN", outcome="declined",
                        customer_id="C00000001", staff_id="T1", recorded_at=at)  # fmt: skip
        session.commit()
    return engine


def test_bank_and_service_pitches_before_the_day(loaded: Engine) -> None:
    with loaded.connect() as connection:
        found = sorted(pitch_records(connection, "C00000001", DAY), key=lambda r: r[0])
        later = sorted(pitch_records(connection, "C00000001", DAY + dt.timedelta(days=1)))
        early = pitch_records(connection, "C00000001", dt.date(2026, 9, 10))
        many = pitch_records_of(connection, ["C00000003", "C00000001", "C00000009"], DAY)
    assert found == [
        (dt.date(2026, 9, 10), "GOLD_PLAN", "declined"),  # the bank's pitches.csv
        (DAY - dt.timedelta(days=3), "CD", None),  # pitched, no answer yet
        (DAY - dt.timedelta(days=1), "FUND", "accepted"),
    ]  # the pitch on DAY itself is not there yet
    assert (DAY, "GOLD_PLAN", "declined") in later and len(later) == 4
    assert early == []  # the bank's pitch on that very day is not known before it
    assert many["C00000003"] == [(dt.date(2026, 9, 12), "INS_REG", "accepted")]
    assert many["C00000009"] == [] and len(many["C00000001"]) == 3


def test_a_corrected_answer_is_read_as_corrected(loaded: Engine) -> None:
    at = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    with Session(loaded) as session:
        stored = lock_feedback(session, "p0", "FUND")
        assert stored is not None
        apply_correction(session, stored, outcome="not_interested", staff_id="T1",
                         audit_request_id="fix-1", at=at)  # fmt: skip
        session.commit()
    with loaded.connect() as connection:
        found = pitch_records(connection, "C00000001", DAY)
    assert (DAY - dt.timedelta(days=1), "FUND", "not_interested") in found
