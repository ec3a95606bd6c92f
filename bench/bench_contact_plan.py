"""Benchmark: the nightly contact plan (python -m recsvc score-book) on a synthetic bank.

Run: python bench/bench_contact_plan.py [--customers 100000] [--work DIR] [--chunk-size 2000]
        [--cores 1]
Targets: issue 5, >= 20,000 store customers/s end to end (1,000,000 customers in < 1 minute),
memory bounded whatever the count; issue 14, >= 20,000 contactable customers/s per core on the
batch path (the customers actually scored). The store and a champion model are built once in a
child process (kept in --work); the plan runs in this process, pinned to --cores cores (taskset:
os.sched_setaffinity) with LightGBM on one thread, so its CPU seconds and peak RSS are the
planner's. Prints the machine and numbers; asserts nothing.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from benchwork import build_once, build_store_with_champion, store_bench_parser, store_settings  # noqa: E402
from machine import machine  # noqa: E402


def main() -> None:
    parser = store_bench_parser(customers=100_000, chunk_size=2000)
    parser.add_argument("--week", default="2026-W48")
    parser.add_argument("--cores", type=int, default=1, help="pin the plan to this many cores")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_contact_plan_"))
    if args.build_only:
        build_store_with_champion(work, args.customers)
        return
    build_once(__file__, work, args.customers)
    run(work, args.week, args.chunk_size, args.cores)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(work: Path, week: str, chunk_size: int, cores: int) -> None:
    pinned = "no (sched_setaffinity unavailable)"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
        pinned = f"cores {sorted(os.sched_getaffinity(0))}"
    import recsvc
    from recsvc.service.contact_plan import build_planner

    print(f"machine             {machine()}")
    print(f"code                {Path(recsvc.__file__).parents[1]}")
    print(f"pinned to           {pinned}")
    start, cpu_start = time.perf_counter(), _cpu()
    planner = build_planner(store_settings(work))
    planner.runtime.current()
    ready, cpu_ready = time.perf_counter(), _cpu()
    summary = planner.plan_week(week, chunk_size=chunk_size)
    done, cpu = time.perf_counter(), _cpu() - cpu_ready
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds = done - ready
    print(f"store customers     {summary.customers:>10,}")
    print(f"contactable scored  {summary.candidates:>10,}  (in a book, consenting, no complaint)")
    print(f"plan entries        {summary.entries:>10,}  for {len(summary.per_manager)} managers")
    print(f"start-up            {ready - start:>10.2f} s  (config, model load, ORM set-up)")
    print(f"start-up CPU        {cpu_ready - cpu_start:>10.2f} s")
    print(f"plan + write        {seconds:>10.2f} s")
    print(f"store customers/s   {summary.customers / seconds:>10,.0f}  (target >= 20,000)")
    print(f"contactable/s       {summary.candidates / seconds:>10,.0f}  (wall)")
    print(f"plan CPU            {cpu:>10.2f} s")
    print(f"contactable/CPU s   {summary.candidates / cpu:>10,.0f}  (per core; target >= 20,000)")
    print(f"peak RSS            {peak:>10.0f} MiB  (chunk size {chunk_size})")


if __name__ == "__main__":
    main()
