"""The offline pipeline's command line: one function per subcommand, registered in SUBCOMMANDS.

To add a subcommand, write `add_<name>(parser)` and `run_<name>(args) -> int`, and put a
Subcommand in SUBCOMMANDS. Any exception a run raises becomes a one-line message on
stderr and exit code 2 (no traceback); argparse's own usage errors also exit with 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from training import commands
from training import whatif as whatif_cli
from training.argtypes import iso_date, positive, seed
from training.simulate import cli as simulate_cli

EXIT_ERROR = 2


class CliError(Exception):
    """A user-facing error: its message is printed as is."""


@dataclass(frozen=True)
class Subcommand:
    """One entry of the command table."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def add_synth(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=positive, required=True, help="how many customers")
    parser.add_argument("--seed", type=seed, required=True, help="same seed and N, same bytes")
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument("--as-of", type=iso_date, default=dt.date(2026, 9, 30),
                        help="first snapshot date (default 2026-09-30)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_synth(args: argparse.Namespace) -> int:
    """Write a synthetic bank (docs/data-contract.md)."""
    from training.synth.generate import generate_bank

    if args.out.exists() and not args.out.is_dir():
        raise CliError(f"--out {args.out} exists and is not a directory")
    manifest = generate_bank(
        args.out, customers=args.customers, seed=args.seed, as_of=args.as_of,
        progress=not args.quiet and sys.stderr.isatty(),
    )  # fmt: skip
    rows = ", ".join(f"{name} {f['rows']}" for name, f in manifest["files"].items())
    print(f"wrote {args.out}: {rows}")
    return 0


def add_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        type=iso_date,
        required=True,
        help="everything as it was known at the end of this day (first snapshot)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory to write (replaced as a whole once the export is done)",
    )
    parser.add_argument(
        "--label-date",
        type=iso_date,
        default=None,
        help="second snapshot, the labels (default: last day of the next month)",
    )
    parser.add_argument(
        "--chunk-size",
        type=positive,
        default=5000,
        help="customers read per query (at most 10000)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_export(args: argparse.Namespace) -> int:
    """The store (DATABASE_URL) as a point-in-time bank export plus decisions.csv."""
    from tqdm import tqdm

    from recsvc.config import Settings
    from recsvc.service.config import load_service_config
    from recsvc.store import make_engine
    from training.export import export_bank

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    tz = load_service_config(settings.service_config_path).timezone
    bar = tqdm(unit="customer", desc="export", file=sys.stderr,
               disable=args.quiet or not sys.stderr.isatty())  # fmt: skip
    try:
        with bar:
            summary = export_bank(
                engine, args.out, as_of=args.as_of, label_date=args.label_date, tz=tz,
                chunk_size=args.chunk_size, progress=bar.update,
            )  # fmt: skip
    finally:
        engine.dispose()
    rows = ", ".join(f"{name} {count}" for name, count in summary.rows.items())
    print(f"wrote {summary.out} as of {summary.as_of} (labels {summary.label_date}): {rows}")
    return 0


SUBCOMMANDS: dict[str, Subcommand] = {
    "synth": Subcommand("write a synthetic bank's CSV files", add_synth, run_synth),
    "export": Subcommand(
        "the store as a point-in-time bank export with decisions.csv", add_export, run_export
    ),
    "train": Subcommand("train a model on a data set", commands.add_train, commands.run_train),
    "evaluate": Subcommand(
        "model and baselines on the hold-out, as JSON", commands.add_evaluate, commands.run_evaluate
    ),
    "predict": Subcommand("top-k products each", commands.add_predict, commands.run_predict),
    "report": Subcommand("the model card (HTML)", commands.add_report, commands.run_report),
    "publish": Subcommand("publish a model directory", commands.add_publish, commands.run_publish),
    "promote": Subcommand("alias -> version", commands.add_promote, commands.run_promote),
    "rollback": Subcommand("undo a promote", commands.add_nothing, commands.run_rollback),
    "list": Subcommand("published versions", commands.add_nothing, commands.run_list),
    "simulate": Subcommand(
        "drive the service on a simulated branch",
        simulate_cli.add_simulate,
        simulate_cli.run_simulate,
    ),
    "experiment-report": Subcommand(
        "experiment arms and their differences, as JSON",
        simulate_cli.add_experiment_report,
        simulate_cli.run_experiment_report,
    ),
    "what-if": Subcommand(
        "a change's effect on the teller's pitches, before it is made (read-only)",
        whatif_cli.add_whatif,
        whatif_cli.run_whatif,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The parser with one subparser per registered subcommand."""
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in SUBCOMMANDS.items():
        command.add_arguments(sub.add_parser(name, help=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn errors into a message and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return SUBCOMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI's one error boundary: message, no traceback
        label = "error" if isinstance(exc, CliError) else f"error ({type(exc).__name__})"
        print(f"{label}: {exc}", file=sys.stderr)
        return EXIT_ERROR
