"""Benchmark: a 30-day experiment through the service's own arms (issue 12), in-process.

Run: python bench/bench_experiment.py [--customers 100000] [--days 30] [--split 80,10,5,5]
         [--workers 2] [--work DIR]
Builds (once, under --work) a bank, a champion (trained on a 2,000-customer bank of the same
world, seed 11) and a challenger (another 2,000-customer bank, seed 12) published under the
registry's challenger alias; sets the split in the store as PUT /v1/experiment would; runs the
simulator with the service assigning and serving every arm (champion, challenger, rules:
no model, holdout: nothing said); prints the report's lifts with their anytime-valid 95%
intervals next to the simulator's truth, and the time. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from machine import machine  # noqa: E402

ARMS = ("champion", "challenger", "rules", "holdout")


def build(work: Path, customers: int) -> None:
    from recsvc.models.registry import Registry
    from training.datasets import load_spec
    from training.pipeline import train
    from training.synth.generate import generate_bank

    generate_bank(work / "bank", customers=customers, seed=3)
    registry = Registry(work / "registry")
    for seed, alias in ((11, "champion"), (12, "challenger")):
        train_bank = work / f"train_bank_{seed}"
        generate_bank(train_bank, customers=2000, seed=seed)
        model = train(load_spec("synthetic"), train_bank, work / f"model_{seed}", seed=0,
                      progress=False, num_threads=1)  # fmt: skip
        registry.publish(model, note=f"bench {alias}", alias="challenger")
    assert registry.alias_state().challenger is not None


def _band(entry: dict | None) -> str:
    if not entry or entry.get("estimate") is None:
        return "–"
    low, high = entry["low"], entry["high"]
    shown = "unbounded" if low is None else f"[{low:+.4f}, {high:+.4f}]"
    return f"{entry['estimate']:+.4f} {shown}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--split", default="80,10,5,5", help="champion,challenger,rules,holdout")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None, help="keep bank and models here")
    args = parser.parse_args()
    split = dict(zip(ARMS, (int(x) for x in args.split.split(",")), strict=True))
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_experiment_"))
    print(machine(), flush=True)
    if not (work / "registry").exists():
        start = time.perf_counter()
        build(work, args.customers)
        print(f"built bank of {args.customers:,} customers + 2 models in "
              f"{time.perf_counter() - start:.1f} s", flush=True)  # fmt: skip
    from training.experiment_report import experiment_report, tables_from_simulation
    from training.simulate.run import Simulation, in_process_service, run_sharded

    start = time.perf_counter()
    out = work / "sim"
    with in_process_service(work / "bank", out, registry=work / "registry",
                            split=split) as service:  # fmt: skip
        loaded = time.perf_counter()
        sim = Simulation(bank=work / "bank", out=out, days=args.days, seed=args.seed)
        sim.arm_of = service.experiment.arm_of
        result = run_sharded(sim, service, workers=args.workers)
    total = time.perf_counter() - start
    s = result.summary
    report = experiment_report(*tables_from_simulation(out))
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"split {split}; customers {s['customers']:,}; days {args.days}; visits "
          f"{s['visits']:,}; pitches {s['pitches']:,}; accepted {s['accepted']:,}")  # fmt: skip
    print(f"load {loaded - start:.1f} s; days {s['seconds']:.1f} s wall, cpu "
          f"{s['cpu_seconds']:.1f} s ({1e3 * s['cpu_seconds'] / max(s['visits'], 1):.2f} "
          f"ms/visit), workers {s['workers']}; total {total:.1f} s")  # fmt: skip
    print(
        f"{'arm':<11}{'customers':>10} {'adoption':>9}  {'vs_holdout (report)':<28}"
        f"{'truth':>8}  {'vs_rules (report)':<28}{'truth':>8}  {'truth: lift vs nothing':>22}"
    )
    for arm, entry in report["arms"].items():
        truth = s["truth"].get(arm, {})
        nan = float("nan")
        t_holdout = truth.get("expected_vs_holdout", nan)
        t_rules = truth.get("expected_vs_rules", nan)
        print(f"{arm:<11}{entry['customers']:>10,} {entry['adoption_rate']:>9.4f}  "
              f"{_band(entry.get('vs_holdout')):<28}{t_holdout:>+8.4f}  "
              f"{_band(entry.get('vs_rules')):<28}{t_rules:>+8.4f}  "
              f"{truth.get('lift_vs_nothing', nan):>+22.4f}")  # fmt: skip
    print(f"report: {work / 'report.json'}; method: {report['method']}")


if __name__ == "__main__":
    main()
