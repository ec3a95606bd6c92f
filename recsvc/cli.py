"""Operator commands: catalogue, store set-up and loading, the production server."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from recsvc.config import Settings


class CommandError(Exception):
    """A command failed for a reason the operator can fix; printed without a traceback."""


def _catalog(args: argparse.Namespace, settings: Settings) -> int:
    from recsvc.catalog import catalogue_to_json, load_catalogue

    catalogue = load_catalogue(settings.catalogue_path)
    json.dump(catalogue_to_json(catalogue), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def _init_db(args: argparse.Namespace, settings: Settings) -> int:
    from recsvc.store import make_engine, upgrade

    upgrade(make_engine(settings.database_url))
    print("database at head", file=sys.stderr)
    return 0


def _load_customers(args: argparse.Namespace, settings: Settings) -> int:
    from recsvc.store import load_customers, make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    report = load_customers(engine, Path(args.directory), progress=not args.quiet)
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recsvc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("catalog", help="print the validated product catalogue as JSON")
    sub.add_parser("init-db", help="create or migrate the store to the latest schema")
    load = sub.add_parser("load-customers", help="load a bank export into the store")
    load.add_argument("directory")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "catalog": _catalog,
    "init-db": _init_db,
    "load-customers": _load_customers,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; operator errors print one line and exit 2."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return COMMANDS[args.command](args, settings)
    except (CommandError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
