"""The `simulate` and `experiment-report` subcommands (registered in training/cli.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from training.argtypes import positive


def add_simulate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bank", type=Path, required=True, help="a bank export directory")
    parser.add_argument("--days", type=positive, required=True, help="days to simulate")
    parser.add_argument("--seed", type=int, required=True, help="same seed, same run")
    parser.add_argument("--out", type=Path, required=True,
                        help="writes bank/ (next snapshot), truth/, decisions.csv, "
                             "adoptions.csv, expected.csv, summary.json")  # fmt: skip
    parser.add_argument("--url", default=None, help="a running service (default: in-process)")
    parser.add_argument(
        "--key", default=None, help="teller API key for --url (default: $RECSVC_SIMULATE_KEY)"
    )
    parser.add_argument("--registry", type=Path, default=None,
                        help="in-process: model registry with a champion "
                             "(default: RECSVC_REGISTRY_DIR or model_registry/)")  # fmt: skip
    parser.add_argument("--window-days", type=positive, default=30)
    parser.add_argument("--real-clock", action="store_true",
                        help="in-process: leave the service on its own clock (as over --url) "
                             "instead of moving it to each simulated day")  # fmt: skip
    parser.add_argument("--workers", type=positive, default=1,
                        help="in-process: forked workers, each serving its share of the "
                             "customers (same seed and workers, same run)")  # fmt: skip
    parser.add_argument("--split", default=None,
                        help="in-process: set this experiment in the store first, e.g. "
                             "champion=80,challenger=10,rules=5,holdout=5 (over --url: "
                             "PUT /v1/experiment; the answers name each arm)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_simulate(args: argparse.Namespace) -> int:
    """Drive the service for --days days and write the next snapshot and the truth."""
    from training.simulate.client import HttpClient
    from training.simulate.run import (
        Simulation,
        in_process_service,
        parse_split,
        run_sharded,
        run_simulation,
    )

    if args.seed < 0:
        raise ValueError(f"--seed must not be negative, got {args.seed}")
    key = args.key or os.environ.get("RECSVC_SIMULATE_KEY")
    if args.url and not key:
        raise ValueError("--url needs --key (or RECSVC_SIMULATE_KEY): a teller API key")
    if not (args.bank / "manifest.json").is_file():
        raise ValueError(f"--bank {args.bank}: no manifest.json, not a bank export")
    progress = not args.quiet and sys.stderr.isatty()
    sim = Simulation(bank=args.bank, out=args.out, days=args.days, seed=args.seed,
                     window_days=args.window_days, progress=progress)  # fmt: skip
    split = None if args.split is None else parse_split(args.split)
    if args.url and split is not None:
        raise ValueError("--split is for in-process runs; over --url, PUT /v1/experiment")
    if args.url and key:
        sim.request_tag = f"sim{args.seed}-{os.urandom(4).hex()}"  # a live store keeps ids
        client = HttpClient(args.url, key)
        try:
            result = run_simulation(sim, client)
        finally:
            client.close()
    else:
        with in_process_service(args.bank, args.out, registry=args.registry, split=split,
                                salt=f"sim-seed-{args.seed}") as service:  # fmt: skip
            if service.experiment is not None:
                sim.arm_of = service.experiment.arm_of
            result = run_sharded(sim, service, workers=args.workers, real_clock=args.real_clock)
    print(json.dumps(result.summary, indent=2))
    return 0


def add_experiment_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="the report as JSON")
    parser.add_argument("--html", type=Path, default=None, help="also as an HTML page")
    parser.add_argument("--experiment", default=None, help="experiment id (default: all)")
    parser.add_argument("--window-days", type=positive, default=30)
    parser.add_argument(
        "--simulation",
        type=Path,
        default=None,
        help="read a simulate --out directory instead of the store",
    )
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL")


def run_experiment_report(args: argparse.Namespace) -> int:
    """Per-arm outcomes and anytime-valid differences from holdout and rules."""
    from recsvc.config import Settings
    from training.experiment_report import (
        experiment_report,
        render_html,
        tables_from_simulation,
        tables_from_store,
    )

    if args.simulation is not None:
        decisions, adoptions = tables_from_simulation(args.simulation)
    else:
        decisions, adoptions = tables_from_store(
            args.database_url or Settings.from_env().database_url
        )
    report = experiment_report(decisions, adoptions, experiment=args.experiment,
                               window_days=args.window_days)  # fmt: skip
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.html is not None:
        args.html.write_text(render_html(report), encoding="utf-8")
    arms = ", ".join(f"{a} {e['customers']}" for a, e in report["arms"].items())
    print(f"wrote {args.out}: {arms or 'no decisions'}")
    return 0
