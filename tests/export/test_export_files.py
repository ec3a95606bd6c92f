"""The export's files: the same bytes twice, replaced as a whole, never half-written, and taken
by the trainer and the store's loader as they are."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from export_planting import DATE, TZ, plant_past
from sqlalchemy import Engine

import training.export.bank as bank_module
from recsvc.store import make_engine, upgrade
from recsvc.store.loader import load_customers
from training.cli import main
from training.datasets import load_dataset, load_spec
from training.export import export_bank, next_month_end


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_same_store_same_date_same_bytes(store: Engine, tmp_path: Path) -> None:
    plant_past(store)
    export_bank(store, tmp_path / "one", as_of=DATE, tz=TZ, chunk_size=50)
    export_bank(store, tmp_path / "two", as_of=DATE, tz=TZ, chunk_size=333)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert sorted(one) == [
        "customers.csv", "decisions.csv", "holdings.csv", "managers.csv", "manifest.json",
        "pitches.csv", "responses.csv", "transactions.csv",
    ]  # fmt: skip
    assert one == two
    manifest = json.loads(one["manifest.json"])
    assert manifest["snapshot_dates"] == ["2026-10-15", "2026-11-30"]
    assert manifest["files"]["decisions.csv"]["rows"] == 6


def test_an_existing_directory_is_replaced_as_a_whole(sqlite_store: Engine, tmp_path: Path
                                                      ) -> None:  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.csv").write_text("old\n")
    export_bank(sqlite_store, out, as_of=DATE, tz=TZ)
    assert not (out / "stale.csv").exists()
    assert (out / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "out"]  # nothing left beside


def test_a_failed_export_leaves_the_old_directory(
    sqlite_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    export_bank(sqlite_store, out, as_of=DATE, tz=TZ)
    before = _files(out)
    calls = {"n": 0}
    real = bank_module.customer_row

    def failing(row: object, as_of: dt.date) -> list[str]:
        calls["n"] += 1
        if calls["n"] > 150:  # in the second chunk: files already half written
            raise RuntimeError("disk full")
        return real(row, as_of)

    monkeypatch.setattr(bank_module, "customer_row", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        export_bank(sqlite_store, out, as_of=dt.date(2026, 10, 1), tz=TZ, chunk_size=100)
    assert _files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "out"]


def test_the_synthetic_spec_trains_on_an_export_unchanged(store: Engine, tmp_path: Path) -> None:
    out = tmp_path / "x"
    export_bank(store, out, as_of=dt.date(2026, 9, 30), label_date=dt.date(2026, 10, 31), tz=TZ)
    data = load_dataset(load_spec("synthetic"), out)
    assert len(data.ids) == 400
    assert data.labels.sum() > 0  # additions between the snapshots are labels
    assert not (data.labels & data.held).any()


def test_the_export_loads_back_into_a_store(store: Engine, tmp_path: Path) -> None:
    plant_past(store)
    out = tmp_path / "x"
    export_bank(store, out, as_of=DATE, tz=TZ)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    report = load_customers(other, out)  # checks every row and the manifest's hashes
    other.dispose()
    assert report.tables["customers"].inserted == 400


def test_the_command_line(sqlite_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", str(sqlite_store.url))
    out = tmp_path / "cli"
    assert main(["export", "--as-of", "2026-10-15", "--out", str(out), "--quiet"]) == 0
    assert "as of 2026-10-15 (labels 2026-11-30)" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"] == "python -m training export"
    assert main(["export", "--as-of", "2026-10-15", "--label-date", "2026-10-01",
                 "--out", str(out)]) == 2  # fmt: skip
    assert "must be after" in capsys.readouterr().err


def test_next_month_end() -> None:
    got = [next_month_end(dt.date(2026, m, 15)) for m in (1, 11, 12)]
    assert got == [dt.date(2026, 2, 28), dt.date(2026, 12, 31), dt.date(2027, 1, 31)]
    assert np.all([next_month_end(dt.date(2024, 1, 31)) == dt.date(2024, 2, 29)])


def test_a_pitch_already_in_the_bank_history_is_written_once(store: Engine, tmp_path: Path
                                                             ) -> None:  # fmt: skip
    from sqlalchemy import insert

    from recsvc.store.tables import PitchHistoryRow

    who = plant_past(store)
    with store.begin() as conn:  # r1 as a simulator's export loaded back would carry it
        conn.execute(insert(PitchHistoryRow).values(
            customer_id=who["a"], product_id="credit_card", date=dt.date(2026, 10, 5),
            channel="teller", outcome="declined", staff_id="T0000107"))  # fmt: skip
    export_bank(store, tmp_path / "x", as_of=DATE, tz=TZ)
    lines = (tmp_path / "x" / "pitches.csv").read_text().splitlines()
    assert [x for x in lines if x.startswith(f"{who['a']},credit_card,2026-10-05")] == [
        f"{who['a']},credit_card,2026-10-05,teller,declined,T0000107"
    ]
