"""Benchmark: the audit's durability on SQLite -- synchronous=NORMAL vs FULL on the pitch path.

WAL + NORMAL (the default): a commit survives a killed process, not a power cut. WAL + FULL:
the WAL is fsynced at every commit, so an acknowledged pitch's audit row survives a power cut.
Runs `CrossSellService.recommend(pitch_only=True)` (store reads, rules, model, reasons, audit
and pitch-log inserts, commit) in-process on a 20,000-customer synthetic store, by 1 and by 2
processes at once (2 sync workers contend for SQLite's one writer), alternating the modes over
--rounds rounds. Prints per-pitch wall time (median of rounds; p50/p99 of the pitches) and the
machine. Asserts nothing.

Run: python bench/bench_durability.py [--workdir /tmp/recsvc-bench] [--pitches 1500]
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_http import prepare, sample_ids, service_env, service_parser
from machine import machine

MODES = ("normal", "full")


def worker(args: tuple[str, str, list[str], int]) -> list[float]:
    """In a fresh process: warm service, then `n` pitches timed one by one (seconds each)."""
    database_url, registry, ids, n = args
    os.environ.update(DATABASE_URL=database_url, RECSVC_REGISTRY_DIR=registry,
                      RECSVC_LOG_LEVEL="WARNING")  # fmt: skip
    from recsvc import create_app
    from recsvc.api.extensions import extensions
    from recsvc.api.warmup import warm_up
    from recsvc.service.answers import Caller, RecommendRequest

    app = create_app()
    warm_up(app)
    service = extensions(app).service
    caller = Caller(role="teller", staff_id="T001")
    times = []
    for i in range(n):
        request = RecommendRequest(request_id=uuid.uuid4().hex, caller=caller, channel="teller",
                                   customer_id=ids[i % len(ids)])  # fmt: skip
        started = time.perf_counter()
        service.recommend(request, pitch_only=True)
        times.append(time.perf_counter() - started)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


def main() -> int:
    parser = service_parser(__doc__)
    parser.add_argument("--pitches", type=int, default=1500, help="per process per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    env = dict(os.environ, RECSVC_LOG_LEVEL="WARNING")
    args.workdir.mkdir(parents=True, exist_ok=True)
    bank, model = prepare(args.workdir, args.customers, args.seed, env)
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-durability-", dir=args.workdir) as name:
        senv = service_env(Path(name), bank, model, env)
        base_url, registry = senv["DATABASE_URL"], senv["RECSVC_REGISTRY_DIR"]
        ids = sample_ids(base_url, 2000, args.seed)
        ctx = multiprocessing.get_context("spawn")  # LightGBM: no fork after it is loaded
        for _ in range(args.rounds):
            for processes in (1, 2):
                for mode in MODES:
                    url = f"{base_url}?synchronous={mode}"
                    jobs = [(url, registry, ids[k::processes], args.pitches)
                            for k in range(processes)]  # fmt: skip
                    started = time.perf_counter()
                    with ctx.Pool(processes) as pool:
                        per = pool.map(worker, jobs)
                    wall = time.perf_counter() - started
                    every = [t for times in per for t in times]
                    mean_us = statistics.fmean(every) * 1e6
                    results.setdefault((mode, processes), []).append(
                        (mean_us, pct(every, 0.5), pct(every, 0.99))
                    )
                    print(f"  {mode:<6} x{processes}: mean {mean_us:7.0f} us  p50 "
                          f"{pct(every, 0.5):7.0f} us  p99 {pct(every, 0.99):7.0f} us  "
                          f"({len(every)} pitches, {wall:.0f} s)", flush=True)  # fmt: skip
    print("\n| synchronous | processes | mean us/pitch | p50 us | p99 us | vs NORMAL (mean) |")
    print("|---|---:|---:|---:|---:|---:|")
    for processes in (1, 2):
        normal = statistics.median(r[0] for r in results[("normal", processes)])
        for mode in MODES:
            rows = results[(mode, processes)]
            mean = statistics.median(r[0] for r in rows)
            p50 = statistics.median(r[1] for r in rows)
            p99 = statistics.median(r[2] for r in rows)
            print(f"| {mode.upper()} | {processes} | {mean:.0f} | {p50:.0f} | {p99:.0f} | "
                  f"{mean / normal:.2f}x |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
