"""`python -m training export`: nothing after the as-of date reaches a feature, pitches.csv or
decisions.csv; what was known on the date is there, as it was then."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from export_planting import DATE, LATER, TZ, differences, features, plant_future, plant_past
from sqlalchemy import Engine

import training.export.bank as bank_module
import training.export.decisions as decisions_module
from training.export import export_bank
from training.synth.reader import read_bank


def _export(engine: Engine, out: Path, as_of: dt.date = DATE, **kw: Any) -> Path:
    export_bank(engine, out, as_of=as_of, tz=TZ, chunk_size=97, **kw)
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_planted_future_events_change_no_feature(store: Engine, tmp_path: Path) -> None:
    who = plant_past(store)
    before = _export(store, tmp_path / "before")
    plant_future(store, who)
    after = _export(store, tmp_path / "after")
    assert differences(before, after) == []
    # the planted events are in the store: an export as of a later date sees every one
    later = _export(store, tmp_path / "later", LATER)
    ids, _ = features(later)
    assert "Z99999999" in ids.tolist()
    decided = {(d["request_id"], d["outcome"]) for d in _rows(later / "decisions.csv")}
    assert {("r7", "accepted"), ("r3", "accepted"), ("r4", "accepted")} <= decided
    customers = {c["customer_id"]: c for c in _rows(later / "customers.csv")}
    assert customers[who["unassessed"]]["risk_level"] == "C4"


def test_decisions_as_known_on_the_date(store: Engine, tmp_path: Path) -> None:
    who = plant_past(store)
    plant_future(store, who)
    out = _export(store, tmp_path / "x")
    decisions = {d["request_id"]: d for d in _rows(out / "decisions.csv")}
    assert sorted(decisions) == ["r1", "r2", "r3", "r4", "r5", "r6"]  # r7 is after DATE
    assert decisions["r1"] | {} == {
        "request_id": "r1", "decided_on": "2026-10-05", "customer_id": who["a"],
        "product_id": "credit_card", "channel": "teller", "experiment_id": "exp-1",
        "arm": "champion", "model_version": "v1", "outcome": "declined",
        "answered_on": "2026-10-05",
    }  # fmt: skip
    assert (decisions["r2"]["arm"], decisions["r2"]["model_version"]) == ("rules", "")
    assert (decisions["r3"]["outcome"], decisions["r3"]["answered_on"]) == ("", "")  # later
    assert decisions["r4"]["outcome"] == "declined"  # corrected only after DATE
    assert decisions["r5"]["outcome"] == "no_answer"  # answered, never logged as a pitch
    assert decisions["r6"]["outcome"] == "not_interested"  # corrected before DATE
    service = [p for p in _rows(out / "pitches.csv") if p["date"] >= "2026-10-01"]
    assert sorted((p["customer_id"], p["product_id"], p["outcome"]) for p in service) == sorted(
        (decisions[r]["customer_id"], decisions[r]["product_id"], decisions[r]["outcome"])
        for r in ("r1", "r2", "r4", "r5", "r6")
    )
    frames = read_bank(out)  # the contract's reader takes the export as it is
    assert frames.snapshot_dates == (DATE, dt.date(2026, 11, 30))
    customers = {c["customer_id"]: c for c in _rows(out / "customers.csv")}
    assert (customers[who["unassessed"]]["risk_level"],
            customers[who["unassessed"]]["assessment_date"]) == ("", "")  # fmt: skip
    assert "Z99999999" not in customers


def _later_transactions(real: Callable[..., Any]) -> Callable[..., Any]:
    def broken(conn: Any, ids: Any, **kw: Any) -> Any:
        return real(conn, ids, **{**kw, "transactions_until": LATER, "history_until": LATER})

    return broken


def _everyone(real: Callable[..., Any]) -> Callable[..., Any]:
    def broken(conn: Any, **kw: Any) -> Any:
        return real(conn, **{**kw, "joined_by": LATER})

    return broken


BROKEN: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "holdings opened later count as held": lambda mp: mp.setattr(
        bank_module, "held_on", lambda row, day: True
    ),
    "later assessments are known": lambda mp: mp.setattr(
        bank_module,
        "assessment_known",
        lambda row, as_of: (row.risk_level, row.assessment_date),
    ),
    "later answers are known": lambda mp: mp.setattr(
        decisions_module,
        "outcome_known",
        lambda said, fixes, as_of, tz: (said.outcome, as_of),
    ),
    "later transactions and pitch history are read": lambda mp: mp.setattr(
        bank_module, "chunk_rows", _later_transactions(bank_module.chunk_rows)
    ),
    "customers who joined later are exported": lambda mp: mp.setattr(
        bank_module, "customer_chunks", _everyone(bank_module.customer_chunks)
    ),
}


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_the_comparison_catches_each_missing_filter(
    sqlite_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """The test above can fail: with any one as-of filter removed, a planted event shows (on
    SQLite only: the comparison does not depend on the database)."""
    store = sqlite_store
    who = plant_past(store)
    before = _export(store, tmp_path / "before")
    plant_future(store, who)
    BROKEN[broken](monkeypatch)
    after = _export(store, tmp_path / "after")
    assert differences(before, after) != []
