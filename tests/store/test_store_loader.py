"""Loading a bank export: counts, idempotent reruns, and all-or-nothing on a bad row."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from recsvc.store import Base, LoadError, load_customers

TABLES = ("customers", "holdings", "transactions", "client_managers", "pitch_history")


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the loaded tables, in primary-key order."""
    with engine.connect() as conn:
        return {
            name: [
                tuple(row)
                for row in conn.execute(
                    select(Base.metadata.tables[name]).order_by(
                        *Base.metadata.tables[name].primary_key.columns
                    )
                )
            ]
            for name in TABLES
        }


def test_first_load_inserts_every_row(engine: Engine, bank_dir: Path) -> None:
    report = load_customers(engine, bank_dir, chunk_size=2)
    counts = {
        name: (c.inserted, c.updated, c.unchanged, c.deleted) for name, c in report.tables.items()
    }
    assert counts == {
        "client_managers": (2, 0, 0, 0),
        "customers": (4, 0, 0, 0),
        "holdings": (3, 0, 0, 0),  # only the last snapshot
        "transactions": (4, 0, 0, 0),
        "pitch_history": (3, 0, 0, 0),
    }
    assert report.snapshot_date == dt.date(2026, 10, 31)
    assert report.rows_read == 2 + 4 + 5 + 4 + 3
    assert {name: len(rows) for name, rows in dump(engine).items()} == {
        "customers": 4,
        "holdings": 3,
        "transactions": 4,
        "client_managers": 2,
        "pitch_history": 3,
    }


def test_rerun_changes_nothing(engine: Engine, bank_dir: Path) -> None:
    load_customers(engine, bank_dir)
    before = dump(engine)
    report = load_customers(engine, bank_dir, chunk_size=3)
    assert report.changed == 0
    assert report.tables["customers"].unchanged == 4
    assert report.tables["transactions"].unchanged == 4
    assert dump(engine) == before


def test_reload_of_changed_export_touches_only_what_changed(
    engine: Engine, tmp_path: Path, tables: Tables, make_export: MakeExport
) -> None:
    load_customers(engine, make_export(tmp_path / "v1", tables))
    changed = copy.deepcopy(tables)
    changed["customers.csv"][2]["aum"] = 1.0
    changed["customers.csv"].append(dict(changed["customers.csv"][0], customer_id="C00000009"))
    changed["holdings.csv"] = [h for h in changed["holdings.csv"] if h["product_id"] != "LARGE_CD"]
    changed["transactions.csv"].pop(2)  # one of C00000001's two identical bill payments
    report = load_customers(engine, make_export(tmp_path / "v2", changed))
    customers = report.tables["customers"]
    assert (customers.inserted, customers.updated, customers.unchanged) == (1, 1, 3)
    holdings = report.tables["holdings"]
    assert (holdings.inserted, holdings.deleted, holdings.unchanged) == (0, 1, 2)
    transactions = report.tables["transactions"]
    assert (transactions.inserted, transactions.deleted, transactions.unchanged) == (2, 3, 1)
    assert len(dump(engine)["transactions"]) == 3


def test_customers_outside_the_export_are_left_alone(
    engine: Engine, tmp_path: Path, tables: Tables, make_export: MakeExport
) -> None:
    load_customers(engine, make_export(tmp_path / "all", tables))
    only_first = {
        name: [r for r in rows if r.get("customer_id", "C00000001") == "C00000001"]
        for name, rows in tables.items()
    }
    report = load_customers(engine, make_export(tmp_path / "one", only_first))
    assert report.changed == 0
    assert len(dump(engine)["transactions"]) == 4


Tables = dict[str, list[dict[str, Any]]]
MakeExport = Callable[[Path, Tables], Path]


MALFORMED = [
    # (file, row index, changes, expected line, expected field)
    ("customers.csv", 1, {"birth_date": "1950-02-30"}, 3, "birth_date"),
    ("customers.csv", 2, {"risk_level": "C9"}, 4, "risk_level"),
    ("customers.csv", 2, {"risk_level": "R3"}, 4, "risk_level"),
    ("customers.csv", 1, {"risk_level": "C2"}, 3, "assessment_date"),
    ("customers.csv", 2, {"counter_visits_90d": -1}, 4, "counter_visits_90d"),
    ("customers.csv", 1, {"salary_via_bank": "yes"}, 3, "salary_via_bank"),
    ("customers.csv", 3, {"customer_id": "C00000001"}, 5, "customer_id"),
    ("holdings.csv", 2, {"amount": -5.0}, 4, "amount"),
    ("holdings.csv", 3, {"snapshot_date": "2026-10-30"}, 5, "snapshot_date"),
    ("holdings.csv", 3, {"product_id": "CREDIT_CARD"}, 5, "product_id"),
    ("transactions.csv", 1, {"date": "2026-13-01"}, 3, "date"),
    ("transactions.csv", 1, {"type": "lottery"}, 3, "type"),
    ("transactions.csv", 2, {"customer_id": "C99999999"}, 4, "customer_id"),
    ("pitches.csv", 1, {"outcome": "maybe"}, 3, "outcome"),
    ("managers.csv", 1, {"level": "x"}, 3, "level"),
]


@pytest.mark.parametrize(("file", "index", "changes", "line", "field"), MALFORMED)
def test_malformed_row_names_file_line_field_and_commits_nothing(
    engine: Engine,
    tmp_path: Path,
    tables: Tables,
    make_export: MakeExport,
    file: str,
    index: int,
    changes: dict[str, Any],
    line: int,
    field: str,
) -> None:
    tables[file][index].update(changes)
    directory = make_export(tmp_path / "bad", tables)
    with pytest.raises(LoadError) as caught:
        load_customers(engine, directory, chunk_size=2)
    error = caught.value
    assert (error.file, error.line, error.field) == (file, line, field)
    assert f"{file} line {line} field {field}" in str(error)
    for secret in ("张伟", "李娜", "王芳", "110101199001011234", "13800138000"):
        assert secret not in str(error)
    assert all(rows == [] for rows in dump(engine).values())


def test_failed_reload_keeps_the_previous_load(
    engine: Engine, tmp_path: Path, tables: Tables, make_export: MakeExport
) -> None:
    load_customers(engine, make_export(tmp_path / "good", tables))
    before = dump(engine)
    tables["customers.csv"][0]["aum"] = 5.0
    tables["pitches.csv"][2]["channel"] = "carrier_pigeon"
    with pytest.raises(LoadError, match=re.escape("pitches.csv line 4 field channel")):
        load_customers(engine, make_export(tmp_path / "bad", tables))
    assert dump(engine) == before


def test_pii_value_never_in_error(
    engine: Engine, tmp_path: Path, tables: Tables, make_export: MakeExport
) -> None:
    tables["customers.csv"][0]["phone"] = "1" * 40  # too long, and personal data
    with pytest.raises(LoadError) as caught:
        load_customers(engine, make_export(tmp_path / "bad", tables))
    assert caught.value.field == "phone"
    assert "1" * 40 not in str(caught.value)


def test_manifest_checks(engine: Engine, bank_dir: Path) -> None:
    manifest = json.loads((bank_dir / "manifest.json").read_text())
    (bank_dir / "manifest.json").write_text(json.dumps({**manifest, "format_version": 2}))
    with pytest.raises(LoadError, match=re.escape("format_version")):
        load_customers(engine, bank_dir)
    manifest["files"]["pitches.csv"]["rows"] = 99
    manifest["files"]["pitches.csv"]["sha256"] = ""
    (bank_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LoadError, match=re.escape("pitches.csv: 3 rows, manifest.json says 99")):
        load_customers(engine, bank_dir)
    with (bank_dir / "transactions.csv").open("a") as handle:
        handle.write("C00000001,2026-09-01,transfer,1.00,online\n")
    with pytest.raises(LoadError, match=re.escape("transactions.csv: sha256")):
        load_customers(engine, bank_dir)
    assert all(rows == [] for rows in dump(engine).values())


def test_header_must_match_the_contract(engine: Engine, bank_dir: Path) -> None:
    path = bank_dir / "managers.csv"
    path.write_text(path.read_text().replace("book_size_cap", "book_size"))
    with pytest.raises(
        LoadError, match=re.escape("managers.csv line 1 field book_size_cap: missing column")
    ):
        load_customers(engine, bank_dir, verify_checksums=False)


def test_loads_what_the_synthetic_bank_writes(engine: Engine, tmp_path: Path) -> None:
    """The generator and the loader agree on the v1 contract (a small bank, loaded twice)."""
    synth = pytest.importorskip("training.synth.generate")
    directory = tmp_path / "synth"
    synth.generate_bank(directory, customers=300, seed=3)
    manifest = json.loads((directory / "manifest.json").read_text())
    first = load_customers(engine, directory, chunk_size=64)
    assert first.tables["customers"].inserted == 300
    assert first.tables["transactions"].inserted == manifest["files"]["transactions.csv"]["rows"]
    assert first.tables["pitch_history"].inserted == manifest["files"]["pitches.csv"]["rows"]
    assert 0 < first.tables["holdings"].inserted < manifest["files"]["holdings.csv"]["rows"]
    assert load_customers(engine, directory).changed == 0
