"""Experiment: a model retrained with the decision history against the one without (issue 13).

Run: python bench/bench_history.py [--customers 20000] [--days 14] [--workers 1] [--work DIR]
         [--split 40,40,10,10]

All in-process, all on the simulator (docs/simulator.md), one synthetic world:
1. a bank of --customers (seed 3) and a first champion trained on another 2,000-customer bank
   of the same world (seed 11);
2. run A (--days, seed 1) and run B (--days, seed 2), each from the previous run's export, with
   that champion: B's export has snapshots [end of A, end of B] and its pitches.csv holds the
   bank's pitches plus A's and B's teller pitches, so the history the models see at the
   training date (end of A) already holds the service's own pitches, as when served;
3. two models trained on B's export, the same settings and seed: `synthetic` (without) and
   `synthetic_history` (with the decision-history features) — hold-out figures printed;
4. run C from B's export with the split champion = without, challenger = with, rules,
   holdout (the service assigns and serves every arm, the with-history model reading each
   customer's pitches from the store);
5. the experiment report (anytime-valid 95%): each arm vs rules and vs holdout, and challenger
   vs champion (the report on those two arms with the champion read as the baseline), next to
   the simulator's truth (the difference of the arms' expected adoption). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from machine import machine  # noqa: E402

ARMS = ("champion", "challenger", "rules", "holdout")


def _run(bank: Path, out: Path, registry: Path, *, days: int, seed: int, workers: int,
         split: dict[str, int] | None = None) -> dict[str, Any]:  # fmt: skip
    from training.simulate.run import Simulation, in_process_service, run_sharded

    with in_process_service(bank, out, registry=registry, split=split,
                            salt=f"sim-seed-{seed}" if split else None) as service:  # fmt: skip
        sim = Simulation(bank=bank, out=out, days=days, seed=seed)
        if split is not None:
            sim.arm_of = service.experiment.arm_of
        result = run_sharded(sim, service, workers=workers)
    return result.summary


def _band(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("estimate") is None:
        return "–"
    low, high = entry["low"], entry["high"]
    shown = "unbounded" if low is None else f"[{low:+.4f}, {high:+.4f}]"
    return f"{entry['estimate']:+.4f} {shown}"


def _holdout_figures(model: Path) -> str:
    desc = json.loads((model / "model.json").read_text(encoding="utf-8"))
    m = desc["metrics"]["model"]
    names = desc["feature_schema"]["names"]
    more = "".join(f", {k} {m[k]:.5f}" for k in ("precision@1", "auc_macro") if k in m)
    return f"{len(names)} features; hold-out MAP@7 {m['map@7']:.5f}{more}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--split", default="40,40,10,10", help="champion,challenger,rules,holdout")
    parser.add_argument("--work", type=Path, default=None, help="keep every step here")
    args = parser.parse_args()
    split = dict(zip(ARMS, (int(x) for x in args.split.split(",")), strict=True))
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_history_"))
    work.mkdir(parents=True, exist_ok=True)
    print(machine(), flush=True)

    from recsvc.models.registry import Registry
    from training.datasets import load_spec
    from training.experiment_report import experiment_report, tables_from_simulation
    from training.pipeline import train
    from training.synth.generate import generate_bank

    def step(label: str, started: float) -> None:
        print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)

    t = time.perf_counter()
    if not (work / "bank" / "manifest.json").exists():
        generate_bank(work / "bank", customers=args.customers, seed=3)
        generate_bank(work / "train_bank_11", customers=2000, seed=11)
        first = train(load_spec("synthetic"), work / "train_bank_11", work / "model_first",
                      seed=0, progress=False, num_threads=1)  # fmt: skip
        Registry(work / "registry_first").publish(first, note="first champion")
        step(f"bank of {args.customers:,} + first champion", t)
    for name, bank, seed in (("run_a", work / "bank", 1), ("run_b", work / "run_a" / "bank", 2)):
        if not (work / name / "summary.json").exists():
            t = time.perf_counter()
            s = _run(bank, work / name, work / "registry_first", days=args.days, seed=seed,
                     workers=args.workers)  # fmt: skip
            step(f"{name}: {s['visits']:,} visits, {s['pitches']:,} pitches", t)
    models = {}
    for spec in ("synthetic", "synthetic_history"):
        out = work / f"model_{spec}"
        if not (out / "model.json").exists():
            t = time.perf_counter()
            train(load_spec(spec), work / "run_b" / "bank", out, seed=0, progress=False,
                  num_threads=1)  # fmt: skip
            step(f"trained {spec} on run B's export", t)
        models[spec] = out
        print(f"  {spec}: {_holdout_figures(out)}", flush=True)
    registry = work / "registry_c"
    if not registry.exists():
        reg = Registry(registry)
        reg.publish(models["synthetic"], note="without history", alias="challenger")
        reg.publish(models["synthetic_history"], note="with history", alias="challenger")
    state = Registry(registry).alias_state()
    print(f"champion (without) {state.champion}; challenger (with) {state.challenger}")
    t = time.perf_counter()
    out = work / "run_c"
    if not (out / "summary.json").exists():
        _run(work / "run_b" / "bank", out, registry, days=args.days, seed=3,
             workers=args.workers, split=split)  # fmt: skip
    step("run C (the experiment)", t)
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    decisions, adoptions = tables_from_simulation(out)
    report = experiment_report(decisions, adoptions)
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    two = decisions[decisions["arm"].isin(["champion", "challenger"])]
    head = experiment_report(two.assign(arm=two["arm"].replace("champion", "rules")), adoptions)
    print(f"split {split}; customers {s['customers']:,}; days {args.days}; visits "
          f"{s['visits']:,}; pitches {s['pitches']:,}; accepted {s['accepted']:,}")  # fmt: skip
    print(
        "| arm | customers | adoption | vs rules (report) | truth | vs holdout (report) | truth "
        "| truth: lift vs nothing |\n|---|---:|---:|---|---:|---|---:|---:|"
    )
    nan = float("nan")
    for arm, entry in report["arms"].items():
        truth = s["truth"].get(arm, {})
        print(f"| {arm} | {entry['customers']:,} | {entry['adoption_rate']:.4f} | "
              f"{_band(entry.get('vs_rules'))} | {truth.get('expected_vs_rules', nan):+.4f} | "
              f"{_band(entry.get('vs_holdout'))} | {truth.get('expected_vs_holdout', nan):+.4f} | "
              f"{truth.get('lift_vs_nothing', nan):+.4f} |")  # fmt: skip
    t_ch = s["truth"]["challenger"]["adoption_policy"] - s["truth"]["champion"]["adoption_policy"]
    vs = head["arms"]["challenger"]["vs_rules"]
    value = head["arms"]["challenger"]["value_vs_rules"]
    print(
        f"challenger (with) vs champion (without): adoption {_band(vs)}, truth {t_ch:+.4f}; "
        f"value per customer {_band(value)}"
    )
    print(f"report: {work / 'report.json'}; method: {report['method']}")


if __name__ == "__main__":
    main()
