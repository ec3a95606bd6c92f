"""Benchmark: `python -m training export` (the store as a point-in-time bank export).

Run: python bench/bench_export.py [--customers 20000] [--work DIR] [--chunk-size 5000]
     [--replicate K]  (K copies of the built bank by SQL: 5 x 200,000 = 1,000,000 customers)
Target (issue 13): 1,000,000 customers in at most 2 GB (peak RSS), streamed. The store (a
synthetic bank loaded with `load-customers`, plus service decisions for one customer in ten:
an audited request, its pitch-log row and an answer) is built once in a child process and kept
in --work; the export runs in this process, so the peak RSS printed is the export's. Prints
numbers; asserts nothing.
"""

from __future__ import annotations

import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BANK_AS_OF = dt.date(2026, 9, 30)
EXPORT_AS_OF = dt.date(2026, 10, 20)


def _decisions(engine: object, every: int = 10) -> int:
    """One audited pitch and its answer for every `every`-th customer, in bulk."""
    from sqlalchemy import Engine, insert, select

    from recsvc.store.tables import AuditLogRow, CustomerRow, FeedbackRow, PitchLogRow

    assert isinstance(engine, Engine)
    products = ("credit_card", "fund_plan", "time_deposit", "mobile_banking")
    arms = ("champion", "champion", "rules", "challenger")
    outcomes = ("accepted", "declined", "not_interested", "no_answer")
    made = 0
    with engine.begin() as conn:
        ids = conn.execute(select(CustomerRow.customer_id).order_by(CustomerRow.customer_id))
        batch: list[tuple[int, str]] = []
        for i, cid in enumerate(ids.scalars()):
            if i % every == 0:
                batch.append((i, cid))
        for start in range(0, len(batch), 5000):
            part = batch[start : start + 5000]
            audits, logs, answers = [], [], []
            for i, cid in part:
                day = EXPORT_AS_OF - dt.timedelta(days=i % 30)
                when = dt.datetime.combine(day + dt.timedelta(days=i % 3), dt.time(9), dt.UTC)
                rid, arm, pid = f"bench-{i}", arms[i % 4], products[i % 4]
                audits.append({
                    "request_id": rid, "created_at": when, "caller_role": "teller",
                    "staff_id": "T0000101", "customer_id": cid,
                    "model_version": None if arm == "rules" else "v1", "model_hash": None,
                    "degraded": False, "experiment_id": "bench", "arm": arm,
                    "payload": {"request": {"channel": "teller"},
                                "answer": {"as_of": day.isoformat()}},
                })  # fmt: skip
                logs.append({
                    "request_id": rid, "customer_id": cid, "product_id": pid, "day": day,
                    "channel": "teller", "slot": 0, "experiment_id": "bench", "arm": arm,
                    "model_version": None if arm == "rules" else "v1",
                })  # fmt: skip
                answers.append({
                    "request_id": rid, "product_id": pid, "outcome": outcomes[(i // 4) % 4],
                    "staff_id": "T0000101", "customer_id": cid, "recorded_at": when,
                })  # fmt: skip
            conn.execute(insert(AuditLogRow), audits)
            conn.execute(insert(PitchLogRow), logs)
            conn.execute(insert(FeedbackRow), answers)
            made += len(part)
    return made


def replicate(store: Path, copies: int) -> int:
    """Copies 2..`copies` of every customer and their rows, ids prefixed `R<k>`, by SQL (far
    faster than loading the CSV again); returns the customers in the store."""
    import sqlite3

    from recsvc.store.tables import Base

    keyed = ("customers", "holdings", "transactions", "pitch_history", "pitch_log", "feedback",
             "audit_log")  # fmt: skip
    db = sqlite3.connect(store)
    (done,) = db.execute("SELECT count(*) FROM customers WHERE customer_id LIKE 'R%'").fetchone()
    for k in range(2, copies + 1) if not done else ():
        for name in keyed:
            table = Base.metadata.tables[name]
            cols = [c.name for c in table.columns if not (c.name == "id" and c.primary_key)]
            exprs = [f"'R{k}' || {c}" if c in ("customer_id", "request_id") else c for c in cols]
            db.execute(
                f"INSERT INTO {name} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM {name} "
                f"WHERE customer_id NOT LIKE 'R%'"
            )
        db.commit()
    (count,) = db.execute("SELECT count(*) FROM customers").fetchone()
    db.close()
    return int(count)


def build(work: Path, customers: int) -> None:
    from recsvc.store import load_customers, make_engine, upgrade
    from training.synth.generate import generate_bank

    started = time.perf_counter()
    generate_bank(work / "bank", customers=customers, seed=3, as_of=BANK_AS_OF)
    synth = time.perf_counter() - started
    engine = make_engine(f"sqlite:///{work / 'store.db'}")
    upgrade(engine)
    load_customers(engine, work / "bank", chunk_size=10_000)
    loaded = time.perf_counter() - started - synth
    made = _decisions(engine)
    engine.dispose()
    shutil.rmtree(work / "bank")
    print(f"synth {synth:.0f} s, load-customers {loaded:.0f} s, {made} decisions planted")


def main() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from benchwork import build_once, store_bench_parser
    from machine import machine

    parser = store_bench_parser(customers=20_000, chunk_size=5000)
    parser.add_argument(
        "--replicate",
        type=int,
        default=1,
        help="copies of the built store's customers (by SQL), e.g. 5 x 200,000",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_export_"))
    work.mkdir(parents=True, exist_ok=True)
    if args.build_only:
        build(work, args.customers)
        return
    print(machine())
    build_once(__file__, work, args.customers)
    if args.replicate > 1:
        start = time.perf_counter()
        total = replicate(work / "store.db", args.replicate)
        print(f"replicated x{args.replicate}: {total} customers in "
              f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    run(work, args.chunk_size)


def run(work: Path, chunk_size: int) -> None:
    from recsvc.store import make_engine
    from training.export import export_bank

    engine = make_engine(f"sqlite:///{work / 'store.db'}")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), time.process_time()
    summary = export_bank(engine, work / "export", as_of=EXPORT_AS_OF, chunk_size=chunk_size)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(p.stat().st_size for p in (work / "export").iterdir()) / 2**20
    customers = summary.rows["customers.csv"]
    print(f"export as of {summary.as_of} (labels {summary.label_date}), chunk {chunk_size}:")
    print("  rows: " + ", ".join(f"{n} {r}" for n, r in summary.rows.items()))
    print(f"  {seconds:.1f} s wall ({cpu:.1f} s CPU), {customers / seconds:,.0f} customers/s, "
          f"{size:.0f} MiB written")  # fmt: skip
    print(f"  peak RSS {peak:.0f} MiB (before the export: {rss_before:.0f} MiB)")


if __name__ == "__main__":
    main()
