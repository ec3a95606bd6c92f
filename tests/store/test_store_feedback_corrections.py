"""Correcting a recorded answer: same staff member, within the window, original kept, audited;
concurrent corrections serialise on the feedback row (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import functools
import itertools

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from store_reference import corrections_of
from threadtesting import run_threads

from recsvc.service.corrections import correct_feedback
from recsvc.service.errors import Conflict, Forbidden, NotFound
from recsvc.store import get_audit, record_feedback
from recsvc.store.feedback_corrections import feedback_of
from recsvc.store.tables import FeedbackRow

NOON = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=10)


def _recorded(engine: Engine, outcome: str = "declined", request_id: str = "req-1") -> None:
    with Session(engine) as session:
        assert record_feedback(
            session, request_id=request_id, product_id="gold_plan", outcome=outcome,
            customer_id="C00000001", staff_id="T07", recorded_at=NOON,
        )  # fmt: skip
        session.commit()


def _correct(engine: Engine, outcome: str, **overrides: object) -> object:
    values: dict[str, object] = {
        "request_id": "req-1", "product_id": "gold_plan", "outcome": outcome,
        "staff_id": "T07", "caller_role": "teller", "audit_request_id": "fix-0001",
        "window": WINDOW, "now": NOON + dt.timedelta(minutes=3),
    }  # fmt: skip
    values.update(overrides)
    return correct_feedback(engine, **values)  # type: ignore[arg-type]


def _outcome(engine: Engine) -> str:
    with Session(engine) as session:
        return str(session.scalar(select(FeedbackRow.outcome)))


def test_a_correction_replaces_the_outcome_keeps_the_original_and_is_audited(
    engine: Engine,
) -> None:
    _recorded(engine)
    done = _correct(engine, "accepted")
    assert done.to_dict() == {  # type: ignore[attr-defined]
        "request_id": "req-1", "product_id": "gold_plan", "previous_outcome": "declined",
        "outcome": "accepted", "corrected": True,
    }  # fmt: skip
    assert _outcome(engine) == "accepted"
    with Session(engine) as session:
        (row,) = feedback_of(session, ["req-1"])
        assert corrections_of(session, row.id) == [("declined", "accepted", "T07")]
        audit = get_audit(session, "fix-0001")
    assert audit is not None and audit.staff_id == "T07"
    assert audit.payload["previous_outcome"] == "declined"
    assert audit.payload["corrects"] == {"request_id": "req-1", "product_id": "gold_plan"}


def test_the_same_outcome_again_changes_nothing(engine: Engine) -> None:
    _recorded(engine)
    assert _correct(engine, "declined").corrected is False  # type: ignore[attr-defined]
    with Session(engine) as session:
        (row,) = feedback_of(session, ["req-1"])
        assert corrections_of(session, row.id) == []
        assert get_audit(session, "fix-0001") is None


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"staff_id": "T08"}, Forbidden),
        ({"now": NOON + WINDOW + dt.timedelta(seconds=1)}, Conflict),
        ({"request_id": "req-2"}, NotFound),
    ],
)
def test_another_staff_member_a_late_correction_or_nothing_recorded_is_refused(
    engine: Engine, overrides: dict[str, object], error: type[Exception]
) -> None:
    _recorded(engine)
    with pytest.raises(error):
        _correct(engine, "accepted", **overrides)
    assert _outcome(engine) == "declined"
    with Session(engine) as session:
        (row,) = feedback_of(session, ["req-1"])
        assert corrections_of(session, row.id) == []


def test_concurrent_corrections_each_keep_the_outcome_they_replaced(engine: Engine) -> None:
    _recorded(engine)
    outcomes = ["accepted", "not_interested", "no_answer", "accepted", "declined", "no_answer"]

    def fix(i: int, outcome: str) -> None:
        _correct(engine, outcome, audit_request_id=f"fix-{i:04d}")

    assert run_threads([functools.partial(fix, i, o) for i, o in enumerate(outcomes)]) == []
    with Session(engine) as session:
        (row,) = feedback_of(session, ["req-1"])
        chain = corrections_of(session, row.id)
    # a chain: each correction replaced what the one before it wrote
    assert chain[0][0] == "declined"
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chain))
    assert (chain[-1][1] if chain else "declined") == row.outcome
