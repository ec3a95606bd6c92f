"""Benchmark: `load-customers` (recsvc.store.load_customers) on PostgreSQL, row inserts vs COPY,
and on SQLite, on the same synthetic bank in the same run.

Run: python bench/bench_pg_load.py [--customers 100000] [--postgres URL] [--work DIR]

Steps: `python -m training synth` writes the bank (seed 1) unless WORK already holds it; then
  parse     every file read and checked (csvrows.checked_rows: the CSV reader and the
            marshmallow schemas), no database: the floor of any load path
  sqlite    first load into a fresh SQLite file, then the same export again (nothing changes)
  pg rows   first load into a fresh PostgreSQL database with copy=False (the row path), rerun
  pg copy   the same with copy=True (COPY into staging tables, one upsert per table)
  pg copy w2  the same with workers=2 (`--workers 2`: rows checked in 2 processes)
customers/s = customers / seconds of the first load; on a shared machine the wall time is
stretched by others' load, so the first load's CPU is given too: the client's (this process and
its --workers pool) and the PostgreSQL backend's (from /proc: the server must run here), and
customers per CPU second of both. PostgreSQL: --postgres, else
RECSVC_BENCH_POSTGRES_URL or RECSVC_TEST_POSTGRES_URL (databases are created there and
dropped). Prints numbers and the machine; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchwork import bench_postgres_url
from machine import machine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recsvc.store import load_customers, make_engine, upgrade
from recsvc.store.constants import (
    CUSTOMER_COLUMNS,
    HOLDING_COLUMNS,
    MANAGER_COLUMNS,
    PITCH_COLUMNS,
    TRANSACTION_COLUMNS,
)
from recsvc.store.csvrows import RowConverters, checked_rows
from recsvc.store.loader import read_manifest


def parse_only(directory: Path) -> tuple[float, int]:
    """Seconds to read and check every row of the export, and the rows read."""
    started = time.perf_counter()
    convert = RowConverters(read_manifest(directory).snapshot_dates)
    files: list[tuple[str, Any, Callable[[dict[str, str]], Any]]] = [
        ("managers.csv", MANAGER_COLUMNS, convert.manager),
        ("customers.csv", CUSTOMER_COLUMNS, convert.customer),
        ("holdings.csv", HOLDING_COLUMNS, convert.holding),
        ("transactions.csv", TRANSACTION_COLUMNS, convert.transaction),
        ("pitches.csv", PITCH_COLUMNS, convert.pitch),
    ]
    rows = 0
    for name, columns, converter in files:
        for _ in checked_rows(directory / name, columns, converter):
            rows += 1
    return time.perf_counter() - started, rows


def _cpu_of(pid: int) -> float:
    """utime + stime of a process, seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client_cpu() -> float:
    """CPU seconds of this process and its reaped children (a --workers pool)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_loads(
    url: str, directory: Path, copy: bool | None, workers: int
) -> tuple[float, float, int, float, float]:
    """(first load s, rerun s, rows read, client CPU s and server backend CPU s of the
    first load; the backend's is 0 on SQLite)."""
    engine = make_engine(url)
    upgrade(engine)
    pids: list[int] = []
    if engine.dialect.name == "postgresql":  # the backends of the engine's pooled connections
        with engine.connect() as conn:
            pids = list(
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND backend_type = 'client backend'"
                    )
                ).scalars()
            )
    server, client = sum(map(_cpu_of, pids)), _client_cpu()
    started = time.perf_counter()
    first = load_customers(engine, directory, copy=copy, workers=workers)
    seconds = time.perf_counter() - started
    client = _client_cpu() - client
    server = sum(map(_cpu_of, pids)) - server
    started = time.perf_counter()
    again = load_customers(engine, directory, copy=copy, workers=workers)
    rerun = time.perf_counter() - started
    assert again.changed == 0
    engine.dispose()
    return seconds, rerun, first.rows_read, client, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    base = bench_postgres_url(args.postgres)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_pg_load_"))
    bank = work / f"bank_{args.customers}"
    if not (bank / "manifest.json").exists():
        subprocess.run(
            [sys.executable, "-m", "training", "synth", "--customers", str(args.customers),
             "--seed", "1", "--out", str(bank), "--quiet"],
            check=True,
        )  # fmt: skip
    print(machine())
    n = args.customers
    print(f"{n:,} customers\n")
    print(
        f"{'path':10} {'first load s':>12} {'customers/s':>12} {'rows/s':>9} {'rerun s':>8} "
        f"{'client CPU s':>12} {'server CPU s':>12} {'customers/CPU s':>15}"
    )
    cpu = _client_cpu()
    seconds, rows = parse_only(bank)
    cpu = _client_cpu() - cpu
    print(
        f"{'parse':10} {seconds:>12.1f} {n / seconds:>12,.0f} {rows / seconds:>9,.0f} "
        f"{'':>8} {cpu:>12.1f} {0:>12.1f} {n / cpu:>15,.0f}"
    )
    runs: list[tuple[str, str, bool | None, int]] = [
        ("sqlite", f"sqlite:///{work / f'load_{uuid.uuid4().hex[:8]}.db'}", None, 1),
        ("pg rows", "", False, 1),
        ("pg copy", "", True, 1),
        ("pg copy w2", "", True, 2),
    ]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    for label, url, copy, workers in runs:
        name = f"recsvc_bench_pg_load_{uuid.uuid4().hex[:8]}"
        if not url:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(base).set(database=name).render_as_string(False)
        try:
            first, rerun, rows, client, server = timed_loads(url, bank, copy, workers)
        finally:
            if url.startswith("postgresql"):
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        print(
            f"{label:10} {first:>12.1f} {n / first:>12,.0f} {rows / first:>9,.0f} "
            f"{rerun:>8.1f} {client:>12.1f} {server:>12.1f} {n / (client + server):>15,.0f}"
            f"   load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    admin.dispose()
    print(machine())


if __name__ == "__main__":
    main()
