"""load_customers' COPY path on PostgreSQL (recsvc.store.pgbulk): the same tables as the row
path, and a failure anywhere in the load leaves the store as it was, on both backends."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pgtesting import postgres_database
from sqlalchemy import Engine
from test_store_loader import MakeExport, Tables, dump

import recsvc.store.loader as loader_module
import recsvc.store.staging as staging_module
from recsvc.store import LoadError, load_customers, make_engine, upgrade
from recsvc.store.loader import LoadReport


def _counts(report: LoadReport) -> dict[str, tuple[int, int, int, int]]:
    return {
        name: (c.inserted, c.updated, c.unchanged, c.deleted) for name, c in report.tables.items()
    }


def _changed(tables: Tables) -> Tables:
    """A second export: one customer changed, one added, a holding gone, a transaction gone."""
    changed = copy.deepcopy(tables)
    changed["customers.csv"][2]["aum"] = 1.0
    changed["customers.csv"][0]["risk_level"] = "C1"
    changed["customers.csv"].append(dict(changed["customers.csv"][0], customer_id="C00000009"))
    changed["holdings.csv"] = [h for h in changed["holdings.csv"] if h["product_id"] != "LARGE_CD"]
    changed["transactions.csv"].pop(2)
    changed["managers.csv"][1]["book_size_cap"] = 90
    return changed


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with postgres_database("the loader's COPY path") as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.mark.postgres
def test_copy_and_row_paths_leave_identical_tables(
    two_postgres: tuple[Engine, Engine],
    tmp_path: Path,
    tables: Tables,
    make_export: MakeExport,
) -> None:
    """The same exports, loaded row by row into one database and by COPY into another: the
    same rows (surrogate ids too) and the same counts, first load, changed reload and rerun."""
    synth = pytest.importorskip("training.synth.generate")
    rows_engine, copy_engine = two_postgres
    synthetic = tmp_path / "synth"
    synth.generate_bank(synthetic, customers=250, seed=5)
    exports = [
        make_export(tmp_path / "v1", tables),
        make_export(tmp_path / "v2", _changed(tables)),
        make_export(tmp_path / "v2", _changed(tables)),
        synthetic,
        synthetic,
    ]
    for directory in exports:
        by_rows = load_customers(rows_engine, directory, chunk_size=3, copy=False)
        by_copy = load_customers(copy_engine, directory, chunk_size=3)
        assert _counts(by_copy) == _counts(by_rows)
        assert by_copy.rows_read == by_rows.rows_read
        assert dump(copy_engine) == dump(rows_engine)
    assert by_copy.changed == 0
    assert len(dump(copy_engine)["customers"]) == 250  # the same ids as the tiny bank's


@pytest.mark.postgres
def test_postgres_loads_by_copy_by_default(
    pg_engine: Engine, bank_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = pg_engine
    calls: list[str] = []
    real = loader_module.copy_rows

    def spy(conn: Any, table: Any, columns: Any, rows: Any) -> int:
        calls.append(table.name)
        return real(conn, table, columns, rows)

    monkeypatch.setattr(loader_module, "copy_rows", spy)
    monkeypatch.setattr(staging_module, "copy_rows", spy)
    load_customers(engine, bank_dir, chunk_size=2)
    assert set(calls) == {
        "load_rows_client_managers",
        "load_rows_customers",
        "load_holdings",
        "load_transactions",
        "load_pitch_history",
    }


def test_copy_on_sqlite_is_refused(tmp_path: Path, bank_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    with pytest.raises(ValueError, match="PostgreSQL"):
        load_customers(engine, bank_dir, copy=True)


class Injected(RuntimeError):
    pass


@pytest.mark.parametrize("where", ["customers", "transactions", "pitch_history"])
def test_a_failure_mid_load_leaves_the_store_as_before(
    engine: Engine,
    tmp_path: Path,
    tables: Tables,
    make_export: MakeExport,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """A reload that fails after customers (and some children) were already written in its
    transaction: nothing of it is committed, on either backend and either path."""
    load_customers(engine, make_export(tmp_path / "v1", tables))
    before = dump(engine)
    real = loader_module.replace_changed

    def failing(conn: Any, staging: Any, target: Any) -> tuple[int, int]:
        if target.name == where:
            raise Injected(where)
        return real(conn, staging, target)

    def failing_stage(*args: Any, **kwargs: Any) -> int:
        raise Injected(where)

    if where == "customers":  # after the customers' upsert, before any child table
        monkeypatch.setattr(staging_module.Staging, "stage", failing_stage)
    monkeypatch.setattr(loader_module, "replace_changed", failing)
    with pytest.raises(Injected):
        load_customers(engine, make_export(tmp_path / "v2", _changed(tables)), chunk_size=2)
    assert dump(engine) == before
    monkeypatch.undo()
    load_customers(engine, make_export(tmp_path / "v2", _changed(tables)))  # the store is usable
    assert dump(engine) != before


@pytest.mark.postgres
def test_a_failure_inside_a_copy_leaves_the_store_as_before(
    pg_engine: Engine,
    tmp_path: Path,
    tables: Tables,
    make_export: MakeExport,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A row that fails while COPY streams it (a bug or a lost connection, not a bad row: those
    are refused before the COPY) fails the whole load."""
    engine = pg_engine
    load_customers(engine, make_export(tmp_path / "v1", tables))
    before = dump(engine)
    real = loader_module.copy_rows
    calls = []

    def failing(conn: Any, table: Any, columns: Any, rows: Any) -> int:
        calls.append(table.name)

        def rows_then_fail() -> Iterator[Any]:
            yield from rows
            raise Injected(table.name)

        return real(conn, table, columns, rows_then_fail() if len(calls) == 2 else rows)

    monkeypatch.setattr(loader_module, "copy_rows", failing)
    with pytest.raises(Injected):
        load_customers(engine, make_export(tmp_path / "v2", _changed(tables)), chunk_size=2)
    assert dump(engine) == before


def test_a_duplicate_key_names_its_line_and_the_first(
    engine: Engine, tmp_path: Path, tables: Tables, make_export: MakeExport
) -> None:
    """Keys repeated across chunks: the first repeat in file order is reported."""
    tables["managers.csv"].append(dict(tables["managers.csv"][0], level=2))
    tables["managers.csv"].append(dict(tables["managers.csv"][1]))
    with pytest.raises(LoadError) as caught:
        load_customers(engine, make_export(tmp_path / "dup", tables), chunk_size=1)
    error = caught.value
    assert (error.file, error.line, error.field) == ("managers.csv", 4, "manager_id")
    assert error.problem == "duplicate, first on line 2"
    assert all(rows == [] for rows in dump(engine).values())
