"""load_customers(workers=N): rows checked in a process pool (recsvc.store.parallel_rows) give
the same store, counts and errors as one process, the first bad row in file order reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from test_store_bulk_load import _changed, _counts
from test_store_loader import MALFORMED, MakeExport, Tables, dump

from recsvc.store import LoadError, load_customers, make_engine, upgrade


def _sqlite(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def test_a_pool_loads_what_one_process_loads(
    engine: Engine, tmp_path: Path, tables: Tables, make_export: MakeExport
) -> None:
    """Both backends: first load and a changed reload, chunks of 2 rows over 2 processes."""
    single = _sqlite(tmp_path / "single.db")
    for version, data in (("v1", tables), ("v2", _changed(tables))):
        directory = make_export(tmp_path / version, data)
        by_one = load_customers(single, directory, chunk_size=2)
        by_pool = load_customers(engine, directory, chunk_size=2, workers=2)
        assert _counts(by_pool) == _counts(by_one)
        assert by_pool.rows_read == by_one.rows_read
        assert dump(engine) == dump(single)
    single.dispose()


# one bad row per file (the pool is the same on both backends: SQLite only)
CASES = [next(case for case in MALFORMED if case[0] == name) for name in dict.fromkeys(
    case[0] for case in MALFORMED
)]  # fmt: skip


@pytest.mark.parametrize(("file", "index", "changes", "line", "field"), CASES)
def test_a_bad_row_found_in_a_worker_is_reported_as_in_one_process(
    tmp_path: Path,
    tables: Tables,
    make_export: MakeExport,
    file: str,
    index: int,
    changes: dict[str, Any],
    line: int,
    field: str,
) -> None:
    engine = _sqlite(tmp_path / "store.db")
    tables[file][index].update(changes)
    with pytest.raises(LoadError) as caught:
        load_customers(engine, make_export(tmp_path / "bad", tables), chunk_size=1, workers=2)
    assert (caught.value.file, caught.value.line, caught.value.field) == (file, line, field)
    assert all(rows == [] for rows in dump(engine).values())
    engine.dispose()


def test_the_first_bad_row_wins_over_an_unreadable_line_read_ahead(
    tmp_path: Path, tables: Tables, make_export: MakeExport
) -> None:
    """Line 3 fails its check in a worker while the reader has already hit a line with too
    few fields further on: line 3 is reported, as one process would."""
    engine = _sqlite(tmp_path / "store.db")
    tables["transactions.csv"][1]["type"] = "lottery"  # line 3
    directory = make_export(tmp_path / "bad", tables)
    path = directory / "transactions.csv"
    path.write_text(path.read_text() + "C00000001,2026-09-01\n", encoding="utf-8")
    with pytest.raises(LoadError) as caught:
        load_customers(engine, directory, chunk_size=1, workers=2, verify_checksums=False)
    assert (caught.value.file, caught.value.line, caught.value.field) == (
        "transactions.csv",
        3,
        "type",
    )
    engine.dispose()


def test_the_cli_takes_workers(
    tmp_path: Path, bank_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from recsvc.cli import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["load-customers", str(bank_dir), "--quiet", "--workers", "2"]) == 0
    assert '"rows_read": 18' in capsys.readouterr().out
    engine = make_engine(url)
    assert len(dump(engine)["customers"]) == 4
    engine.dispose()
