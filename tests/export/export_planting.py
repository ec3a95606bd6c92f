"""Planting the service's decisions and future events in a store, through the store's writers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from recsvc.store import AuditRecord, record_feedback, record_pitch, write_audit
from recsvc.store.feedback_corrections import apply_correction, lock_feedback
from recsvc.store.tables import (
    CustomerRow,
    HoldingRow,
    PitchHistoryRow,
    TransactionRow,
)
from training.synth.reader import read_bank
from training.synthetic import featurizer_for

TZ = ZoneInfo("Asia/Shanghai")
DATE = dt.date(2026, 10, 15)  # the export's as-of date in these tests
LATER = dt.date(2026, 11, 20)  # an as-of date after every planted event


def at(day: dt.date, hour: int = 10, minute: int = 0, tz: dt.tzinfo = TZ) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def decide(
    session: Session, request_id: str, customer_id: str, product_id: str, day: dt.date, *,
    arm: str = "champion", pitched: bool = True, model: str | None = "v1",
    audited_at: dt.datetime | None = None,
) -> None:  # fmt: skip
    """An audited answer on the service's `day` that (if `pitched`) put `product_id` to the
    customer; `audited_at`: the audit's wall-clock time, when the service's clock is another
    (the simulator sets the service's day)."""
    write_audit(
        session,
        AuditRecord(
            request_id=request_id, caller_role="teller",
            payload={"request": {"channel": "teller"}, "answer": {"as_of": day.isoformat()}},
            staff_id="T0000101", customer_id=customer_id, model_version=model,
            created_at=audited_at or at(day), experiment_id="exp-1", arm=arm,
        ),
    )  # fmt: skip
    if pitched:
        record_pitch(
            session, request_id=request_id, customer_id=customer_id, product_id=product_id,
            day=day, channel="teller", slots=3, experiment_id="exp-1", arm=arm,
            model_version=model,
        )  # fmt: skip


def answer(
    session: Session, request_id: str, customer_id: str, product_id: str, outcome: str,
    when: dt.datetime,
) -> None:  # fmt: skip
    record_feedback(
        session, request_id=request_id, product_id=product_id, outcome=outcome,
        customer_id=customer_id, staff_id="T0000101", recorded_at=when,
    )  # fmt: skip


def correct(session: Session, request_id: str, product_id: str, outcome: str, when: dt.datetime
            ) -> None:  # fmt: skip
    stored = lock_feedback(session, request_id, product_id)
    assert stored is not None
    apply_correction(session, stored, outcome=outcome, staff_id="S1",
                     audit_request_id=f"fix-{request_id}", at=when)  # fmt: skip


def opened(
    session: Session, customer_id: str, product_id: str, amount: float, day: dt.date
) -> None:
    """A holding opened on `day` (no maturity, no value change: NULL)."""
    session.execute(
        insert(HoldingRow).values(
            customer_id=customer_id, product_id=product_id, amount=amount, open_date=day
        )
    )


def deposited(session: Session, customer_id: str, amount: float, day: dt.date) -> None:
    """A cash deposit at the counter on `day`."""
    session.execute(
        insert(TransactionRow).values(
            customer_id=customer_id, date=day, type="cash_deposit", amount=amount, channel="counter"
        )
    )


def customers(engine: Engine) -> dict[str, str]:
    """Customer ids the tests use, chosen from the loaded bank by what they are."""
    with engine.connect() as conn:
        ids = (
            conn.execute(select(CustomerRow.customer_id).order_by(CustomerRow.customer_id).limit(8))
            .scalars()
            .all()
        )
        unassessed = conn.execute(
            select(CustomerRow.customer_id)
            .where(CustomerRow.risk_level.is_(None))
            .order_by(CustomerRow.customer_id)
            .limit(1)
        ).scalar_one()
    return {"a": ids[0], "b": ids[1], "c": ids[2], "d": ids[3], "e": ids[4], "f": ids[5],
            "unassessed": unassessed}  # fmt: skip


def plant_past(engine: Engine) -> dict[str, str]:
    """The service's decisions made (and partly answered) by DATE."""
    who = customers(engine)
    with Session(engine) as s:
        decide(s, "r1", who["a"], "credit_card", dt.date(2026, 10, 5),
               audited_at=at(dt.date(2026, 12, 1)))  # fmt: skip
        answer(s, "r1", who["a"], "credit_card", "declined", at(dt.date(2026, 10, 5), 11))
        decide(s, "r2", who["b"], "fund_plan", dt.date(2026, 10, 8), arm="rules", model=None)
        answer(s, "r2", who["b"], "fund_plan", "accepted", at(dt.date(2026, 10, 9)))
        decide(s, "r3", who["c"], "gold_plan", dt.date(2026, 10, 12))  # answered after DATE
        decide(s, "r4", who["d"], "time_deposit", dt.date(2026, 10, 10), arm="challenger",
               model="v2")  # fmt: skip
        answer(s, "r4", who["d"], "time_deposit", "declined", at(dt.date(2026, 10, 10)))
        decide(s, "r5", who["e"], "large_cd", dt.date(2026, 10, 11), pitched=False)
        answer(s, "r5", who["e"], "large_cd", "no_answer", at(dt.date(2026, 10, 11)))
        decide(s, "r6", who["f"], "sms_alert", dt.date(2026, 10, 2), arm="rules", model=None)
        answer(s, "r6", who["f"], "sms_alert", "declined", at(dt.date(2026, 10, 2)))
        correct(s, "r6", "sms_alert", "not_interested", at(dt.date(2026, 10, 3)))
        s.commit()
    return who


def plant_future(engine: Engine, who: dict[str, str]) -> None:
    """Everything that happens after DATE (in the branches' time zone)."""
    after = DATE + dt.timedelta(days=1)
    with Session(engine) as s:
        held = set(s.scalars(select(HoldingRow.product_id).where(
            HoldingRow.customer_id == who["a"])))  # fmt: skip
        new_product = next(p for p in ("gov_bond", "large_cd", "physical_gold") if p not in held)
        opened(s, who["a"], new_product, 50000.0, DATE + dt.timedelta(days=5))
        deposited(s, who["a"], 900000.0, after)
        s.execute(insert(PitchHistoryRow).values(
            customer_id=who["a"], product_id="wealth_r2", date=after, channel="teller",
            outcome="declined", staff_id="T0000101"))  # fmt: skip
        # a pitch and its answer after DATE
        decide(s, "r7", who["a"], "insurance_regular", DATE + dt.timedelta(days=2))
        answer(s, "r7", who["a"], "insurance_regular", "accepted", at(DATE + dt.timedelta(days=2)))
        # an answer after DATE to a pitch before it: 23:30 UTC on DATE is the next day in Shanghai
        answer(s, "r3", who["c"], "gold_plan", "accepted", at(DATE, 23, 30, dt.UTC))
        # a correction after DATE of an answer recorded before it
        correct(s, "r4", "time_deposit", "accepted", at(DATE + dt.timedelta(days=5)))
        # a risk assessment dated after DATE (the store keeps only the latest)
        s.execute(
            update(CustomerRow)
            .where(CustomerRow.customer_id == who["unassessed"])
            .values(risk_level=4, assessment_date=DATE + dt.timedelta(days=10))
        )
        # a customer who joined after DATE
        row = s.execute(select(CustomerRow.__table__).where(
            CustomerRow.customer_id == who["a"])).mappings().one()  # fmt: skip
        s.execute(
            insert(CustomerRow).values(
                {**row, "customer_id": "Z99999999", "customer_since": DATE + dt.timedelta(days=3)}
            )
        )
        opened(s, "Z99999999", "credit_card", 0.0, DATE + dt.timedelta(days=3))
        deposited(s, "Z99999999", 10.0, DATE - dt.timedelta(days=1))
        s.commit()


def features(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """(customer ids, the featurizer's rows at the first snapshot), as training computes them."""
    frames = read_bank(directory)
    as_of = frames.snapshot_dates[0]
    now = frames.holdings[frames.holdings["snapshot_date"] == pd.Timestamp(as_of)]
    x = featurizer_for().transform_frames(frames.customers, now, frames.transactions, as_of)
    return frames.customers["customer_id"].to_numpy(dtype=str), x


def first_snapshot_lines(directory: Path) -> list[str]:
    lines = (directory / "holdings.csv").read_text(encoding="utf-8").splitlines()
    return [line for line in lines[1:] if line.startswith(DATE.isoformat())]


def differences(base: Path, other: Path) -> list[str]:
    """What an as-of-DATE export `other` shows differently from `base` (empty: nothing)."""
    found = []
    for name in ("customers.csv", "transactions.csv", "pitches.csv", "decisions.csv",
                 "managers.csv"):  # fmt: skip
        if (base / name).read_bytes() != (other / name).read_bytes():
            found.append(name)
    if first_snapshot_lines(base) != first_snapshot_lines(other):
        found.append("holdings.csv (first snapshot)")
    ids_a, x_a = features(base)
    ids_b, x_b = features(other)
    if ids_a.tolist() != ids_b.tolist() or x_a.shape != x_b.shape:
        found.append("feature rows")
    elif not np.array_equal(x_a, x_b, equal_nan=True):
        found.append("features")
    return found
