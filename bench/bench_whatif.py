"""Benchmark: the what-if (python -m training what-if) over a whole synthetic store.

Run: python bench/bench_whatif.py [--customers 100000] [--work DIR] [--chunk-size 2000]
Target (issue 13): 100,000 customers in at most 60 s, before and after, batch scored.
The bank, its SQLite store and a champion (trained on a 2,000-customer bank of the same world)
are built once in a child process and kept in --work; the what-if runs in this process: the
sample drawn, every customer read from the store, scored and decided twice (as configured and
with the credit card's weight doubled), the report built. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from benchwork import build_once, build_store_with_champion, store_bench_parser, store_settings  # noqa: E402
from machine import machine  # noqa: E402

OVERLAY = "service:\n  arbitration:\n    product_weights: {credit_card: 2.0}\n"
RULES_OVERLAY = "rules:\n  age:\n    elderly: [{from_age: 60, max_risk: R2}]\n"


def main() -> None:
    parser = store_bench_parser(customers=100_000, chunk_size=2000)
    parser.add_argument("--workers", type=int, default=1, help="processes (spawned)")
    parser.add_argument(
        "--rules",
        action="store_true",
        help="also time an overlay that changes a rule (two rule passes)",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_whatif_"))
    if args.build_only:
        build_store_with_champion(work, args.customers)
        return
    print(machine())
    build_once(__file__, work, args.customers)
    run(work, args, "credit card weight x2", OVERLAY)
    if args.rules:
        run(work, args, "elderly limit from 60 at R2", RULES_OVERLAY)


def run(work: Path, args: argparse.Namespace, label: str, overlay: str) -> None:
    from recsvc.service.whatif import WhatIf
    from recsvc.service.wiring import build_services

    start = time.perf_counter()
    services = build_services(store_settings(work))
    engine = WhatIf(services)
    services.runtime.current()
    ready = time.perf_counter()
    cpu = _cpu()
    report = engine.run(sample=args.customers, seed=0, overlay=overlay,
                        chunk_size=args.chunk_size, workers=args.workers)  # fmt: skip
    seconds = time.perf_counter() - ready
    cpu = _cpu() - cpu
    services.engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = report["before"]["customers"]
    before, after = report["before"], report["after"]
    print(f"overlay             {label}; {args.workers} process(es)")
    print(f"customers           {n:>10,}  (model {', '.join(report['model_versions'])})")
    print(f"start-up            {ready - start:>10.2f} s  (config, model load)")
    print(
        f"what-if             {seconds:>10.2f} s  wall, {cpu:.2f} s CPU  (target <= 60 s at 100k)"
    )
    print(f"customers/s         {n / seconds:>10,.0f}")
    print(f"pitch rate          {before['pitch_rate']:>10.4f} -> {after['pitch_rate']:.4f}")
    print(f"value per customer  {before['expected_value_per_customer']:>10.4f} ->"
          f" {after['expected_value_per_customer']:.4f}")  # fmt: skip
    print(f"pitches changed     {report['changed']['customers']:>10,}")
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS            {peak:>10.0f} MiB  (largest worker process {child:.0f} MiB)")


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the worker processes)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
