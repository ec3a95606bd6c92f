"""Benchmark: the branch simulator in-process (python -m training simulate), end to end.

Run: python bench/bench_simulate.py [--customers 100000] [--days 30] [--work DIR]
Target (issue 12): 30 days for 100,000 customers in at most 10 minutes in-process on 2 cores.
The bank and a champion (trained on a 2,000-customer bank of the same world) are built first
and timed apart; then the simulation: loading the bank into a fresh store, the truth, every
counter visit through /v1/pitch and /v1/feedback, and writing the next snapshot. On a busy
machine run a smaller --customers: the time is linear in the visits, and the line
"extrapolated to 100,000" scales it. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from machine import machine  # noqa: E402


def build(work: Path, customers: int) -> None:
    from apptesting import build_bank, build_model

    from recsvc.models.registry import Registry
    from training.synth.generate import generate_bank

    generate_bank(work / "bank", customers=customers, seed=3)
    model = build_model(build_bank(work / "train_bank"), work / "model")
    Registry(work / "registry").publish(model, note="bench champion")


def _arm(share: float, customer_id: str) -> str:
    """A salted-hash split, as the service will do it."""
    h = int(hashlib.sha256(f"bench:{customer_id}".encode()).hexdigest()[:8], 16) / 16**8
    return "holdout" if h < share else "champion"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--work", type=Path, default=None, help="keep bank and model here")
    parser.add_argument("--workers", type=int, default=1, help="forked in-process workers")
    parser.add_argument("--holdout", type=float, default=0.0,
                        help="share of customers held out on the simulator's side (NoPitch), "
                             "to print champion vs holdout next to the truth")  # fmt: skip
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_simulate_"))
    print(machine())
    if not (work / "registry").exists():
        start = time.perf_counter()
        build(work, args.customers)
        print(f"built bank of {args.customers:,} customers + model in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    from training.simulate.policies import NoPitch
    from training.simulate.run import Simulation, in_process_service, run_sharded

    start, cpu = time.perf_counter(), time.process_time()
    out = work / "sim"
    with in_process_service(work / "bank", out, registry=work / "registry") as service:
        loaded, cpu_loaded = time.perf_counter(), time.process_time()
        sim = Simulation(bank=work / "bank", out=out, days=args.days, seed=1)
        if args.holdout > 0:
            sim.arm_of = partial(_arm, args.holdout)
            sim.policies = {"holdout": NoPitch()}
        result = run_sharded(sim, service, workers=args.workers)
    done = time.perf_counter()
    s = result.summary
    total = done - start
    visits = s["visits"]
    days_loop = s["seconds"]
    print(f"customers           {s['customers']:>10,}   days {args.days}")
    print(f"visits (decisions)  {visits:>10,}   pitches {s['pitches']:,}  accepted "
          f"{s['accepted']:,}")  # fmt: skip
    print(f"adoptions           {s['adoptions']['pitch']:>10,} by pitch, "
          f"{s['adoptions']['organic']:,} organic")  # fmt: skip
    print(f"load bank (store)   {loaded - start:>10.1f} s   cpu {cpu_loaded - cpu:.1f} s")
    print(f"days (service)      {days_loop:>10.1f} s   {visits / days_loop:,.0f} visits/s, "
          f"{1e3 * days_loop / max(visits, 1):.2f} ms/visit (pitch + feedback); workers "
          f"{s['workers']}, cpu {s['cpu_seconds']:.1f} s = "
          f"{1e3 * s['cpu_seconds'] / max(visits, 1):.2f} ms/visit")  # fmt: skip
    print(f"truth + export      {total - (loaded - start) - days_loop:>10.1f} s")
    print(f"total               {total:>10.1f} s   (target <= 600 s for 100,000 x 30 days)")
    if s["customers"] != 100_000 or args.days != 30:
        scale = 100_000 / s["customers"] * 30 / args.days
        print(f"extrapolated to 100,000 x 30 days: {total * scale:,.0f} s wall at this load "
              "(linear in customers x days)")  # fmt: skip
    truth = s["truth"]["champion"]
    print(
        f"truth: champion adoption {truth['adoption_policy']:.4f} with its pitches, "
        f"{truth['adoption_nothing']:.4f} with none (lift {truth['lift_vs_nothing']:+.4f})"
    )
    if args.holdout > 0:
        from training.experiment_report import experiment_report, tables_from_simulation

        report = experiment_report(*tables_from_simulation(out))
        band = report["arms"]["champion"]["vs_holdout"]
        low, high = band["low"], band["high"]
        shown = "unbounded" if low is None else f"[{low:+.4f}, {high:+.4f}]"
        print(f"report: champion vs holdout {band['estimate']:+.4f} {shown} (anytime-valid "
              f"95%); truth's expected {truth['expected_vs_holdout']:+.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
