"""Benchmark: the nightly plan's write ceiling on PostgreSQL with many concurrent writers.

Run: python bench/bench_pg_write.py [--postgres URL] [--writers 1,2,4,8,16] [--paths rows,copy]
         [--rows-per-tx 10000] [--tx 1] [--json FILE]

N writer processes (spawned, one database connection each) write plan rows and their audit rows
for their own manager ranges through the project's real write function,
recsvc.store.contact_plan.replace_managers (one transaction per partition, as score-book's
tasks do: delete the span's rows of the week, upsert the audit rows, upsert the plan rows),
the rows built by the planner's own builders (plan_row, plan_audit_row) before the clock
starts. Paths: "rows" (copy=False: executemany upserts) and "copy" (COPY into a staging
table, one INSERT ... SELECT ... ON CONFLICT; PostgreSQL's default).

Per (path, writers) it reports plan rows/s in total (wall clock from the first writer's start
to the last writer's end; every plan row comes with one audit row), the mean per writer, and
WAL bytes per plan row (pg_current_wal_lsn before and after: on a shared server other
sessions' writes are counted too), and CPU seconds per 1,000 plan rows: of the writers' own
PostgreSQL backends (read from
/proc/<pid>/stat: the server runs on this machine), of the server's background processes
(checkpointer, background writer, walwriter; on a shared server they also work for other
sessions), and of the client processes. The server's ceiling on C free cores is then about
rows/s ≈ C / (server CPU s per row), if the server is CPU-bound (not disk, not locks).

PostgreSQL: --postgres, else RECSVC_BENCH_POSTGRES_URL or RECSVC_TEST_POSTGRES_URL (a server
URL; a database recsvc_bench_pg_write_<random> is created there and dropped afterwards).
Durable settings: run it against a throwaway cluster with fsync=on, synchronous_commit=on (see
bench/README.md for the commands). Prints numbers and the machine; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchwork import bench_postgres_url
from machine import machine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from recsvc.service.plan_rows import PlanEntry, PlanSummary, plan_audit_row, plan_row
from recsvc.store import make_engine, upgrade
from recsvc.store.contact_plan import ManagerSpan, replace_managers

WEEK = "2026-W48"
MANAGERS_PER_SPAN = 50
TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    """utime + stime of a process, seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _background(postmaster: int) -> list[int]:
    """The postmaster's background processes (not client backends)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(stat[1]) == postmaster and any(
            name in command for name in ("checkpointer", "background writer", "walwriter")
        ):
            out.append(int(entry.name))
    return out


def _batch(writer: int, tx: int, rows: int) -> tuple[ManagerSpan, list[Any], list[Any]]:
    """One partition's plan and audit rows: its own manager range, realistic entries."""
    prefix = f"W{writer:02d}T{tx:02d}"
    now = dt.datetime.now(dt.UTC)
    summary = PlanSummary(week=WEEK, as_of=dt.date(2026, 11, 23), run_id="bench")
    points = (
        {"code": "MATURED", "zh": "您的定期存款已到期，可考虑稳健理财产品。", "en": "matured"},
        {"code": "SUGGESTION", "zh": "推荐：稳健理财 R2", "en": "Suggested: wealth R2"},
    )
    plan, audits = [], []
    for i in range(rows):
        entry = PlanEntry(
            customer_id=f"{prefix}C{i:08d}",
            manager_id=f"{prefix}M{i % MANAGERS_PER_SPAN:04d}",
            triggers=("MATURED", "KEY_DATE")[: 1 + i % 2],
            products=("WM_R2", "LARGE_CD")[: 1 + i % 2],
            talking_points=points,
            priority=round(10.0 + (i % 97) / 7, 4),
            channel="phone",
            model_version="m-20261123",
            model_hash="sha256:" + "ab" * 32,
        )
        request_id = f"cp-{WEEK}-bench-{entry.customer_id}"
        plan.append(plan_row(entry, WEEK, i // MANAGERS_PER_SPAN + 1, request_id, now))
        audits.append(plan_audit_row(entry, summary, request_id, None, now))
    return ManagerSpan(prefix, prefix + "~"), plan, audits


def _writer(
    url: str, writer: int, tx: int, rows: int, copy: bool, ready: Any, go: Any, done: Any
) -> None:
    engine = make_engine(url)
    batches = [_batch(writer, t, rows) for t in range(tx)]
    with engine.connect() as conn:
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    ready.put((writer, pid))
    go.wait()
    started, cpu = time.monotonic(), time.process_time()
    for span, plan, audits in batches:
        with Session(engine) as session:
            replace_managers(session, WEEK, span, plan, audits, copy=copy)
            session.commit()
    ready.put((writer, (started, time.monotonic(), time.process_time() - cpu)))
    done.wait()  # the backend stays up until its CPU is read
    engine.dispose()


def run_one(url: str, writers: int, tx: int, rows: int, copy: bool) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready, go, done = ctx.Queue(), ctx.Event(), ctx.Event()
    procs = [
        ctx.Process(target=_writer, args=(url, w, tx, rows, copy, ready, go, done))
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    pids = dict(ready.get(timeout=300) for _ in procs)
    postmaster = _parent_of(next(iter(pids.values())))
    background = _background(postmaster)
    lsn = create_engine(url)
    with lsn.connect() as conn:
        wal_before = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
    before = {pid: _cpu_of(pid) for pid in [*pids.values(), *background]}
    load_before = os.getloadavg()[0]
    go.set()
    timings = dict(ready.get(timeout=3600) for _ in procs)
    after = {pid: _cpu_of(pid) for pid in before}
    with lsn.connect() as conn:
        wal = conn.execute(
            text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :lsn)"), {"lsn": wal_before}
        ).scalar_one()
    lsn.dispose()
    done.set()
    for p in procs:
        p.join()
    total = writers * tx * rows
    start = min(t[0] for t in timings.values())
    end = max(t[1] for t in timings.values())
    backend_cpu = sum(after[p] - before[p] for p in pids.values())
    background_cpu = sum(after[p] - before[p] for p in background)
    client_cpu = sum(t[2] for t in timings.values())
    per_writer = [tx * rows / (t[1] - t[0]) for t in timings.values()]
    return {
        "path": "copy" if copy else "rows",
        "writers": writers,
        "plan_rows": total,
        "seconds": end - start,
        "rows_per_s": total / (end - start),
        "per_writer_rows_per_s": sum(per_writer) / len(per_writer),
        "backend_cpu_s_per_1000": backend_cpu / total * 1000,
        "background_cpu_s_per_1000": background_cpu / total * 1000,
        "client_cpu_s_per_1000": client_cpu / total * 1000,
        "wal_bytes_per_row": float(wal) / total,
        "load_1min": [load_before, os.getloadavg()[0]],
    }


def _settings(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        values = [
            f"{name}={conn.execute(text(f'SHOW {name}')).scalar_one()}"
            for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")
        ]
    engine.dispose()
    return " ".join(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--writers", default="1,2,4,8,16")
    parser.add_argument("--paths", default="rows,copy")
    parser.add_argument("--rows-per-tx", type=int, default=10_000)
    parser.add_argument("--tx", type=int, default=1, help="transactions per writer")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    base = bench_postgres_url(args.postgres)
    name = f"recsvc_bench_pg_write_{uuid.uuid4().hex[:8]}"
    url = make_url(base).set(database=name).render_as_string(False)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    results = []
    try:
        engine = make_engine(url)
        upgrade(engine)
        print(machine())
        print(f"server: {_settings(url)}")
        print(
            f"{args.rows_per_tx:,} plan rows (+ as many audit rows) per transaction, "
            f"{args.tx} transaction(s) per writer\n"
        )
        print(
            f"{'path':5} {'writers':>7} {'plan rows':>10} {'s':>7} {'rows/s':>8} "
            f"{'/writer':>8} {'backend':>8} {'bg':>6} {'client':>7} {'WAL B/row':>9}"
            "   (CPU s per 1,000 plan rows)"
        )
        for path in args.paths.split(","):
            for writers in (int(w) for w in args.writers.split(",")):
                with engine.begin() as conn:
                    conn.execute(text("TRUNCATE contact_plan, audit_log"))
                r = run_one(url, writers, args.tx, args.rows_per_tx, copy=path == "copy")
                results.append(r)
                print(
                    f"{r['path']:5} {writers:>7} {r['plan_rows']:>10,} {r['seconds']:>7.1f} "
                    f"{r['rows_per_s']:>8,.0f} {r['per_writer_rows_per_s']:>8,.0f} "
                    f"{r['backend_cpu_s_per_1000']:>8.3f} {r['background_cpu_s_per_1000']:>6.3f} "
                    f"{r['client_cpu_s_per_1000']:>7.3f} {r['wal_bytes_per_row']:>9,.0f}"
                    f"   load {r['load_1min'][1]:.1f}",
                    flush=True,
                )
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print("\nceiling if the server is CPU-bound: rows/s ≈ C / (backend + bg CPU s per row)")
    for path in args.paths.split(","):
        mine = [r for r in results if r["path"] == path]
        if not mine:
            continue
        cost = max(r["backend_cpu_s_per_1000"] + r["background_cpu_s_per_1000"] for r in mine)
        cheap = min(r["backend_cpu_s_per_1000"] + r["background_cpu_s_per_1000"] for r in mine)
        print(
            f"{path:5} server CPU {cheap:.3f}-{cost:.3f} s per 1,000 plan rows -> "
            + ", ".join(
                f"C={c}: {c / cost * 1000:,.0f}-{c / cheap * 1000:,.0f} rows/s" for c in (2, 16, 32)
            )
        )
    print(machine())
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
