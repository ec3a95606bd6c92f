"""Operator commands: catalogue, store set-up and loading, the production server."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from recsvc.config import PROJECT_ROOT, Settings
from recsvc.production import gunicorn_environ

GUNICORN_CONF = PROJECT_ROOT / "gunicorn.conf.py"


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
    report = load_customers(
        engine, Path(args.directory), progress=not args.quiet, workers=args.workers
    )
    summary = {
        "snapshot_date": report.snapshot_date.isoformat(),
        "rows_read": report.rows_read,
        "seconds": round(report.seconds, 2),
        "tables": {name: vars(counts) for name, counts in report.tables.items()},
    }
    print(json.dumps(summary, indent=2))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """Replace this process with gunicorn running the app factory; nothing secret is printed."""
    if not GUNICORN_CONF.is_file():
        raise CommandError(f"gunicorn config not found at {GUNICORN_CONF}")
    workers = args.workers or settings.web_workers
    argv = [
        sys.executable, "-m", "gunicorn",
        "--config", str(GUNICORN_CONF),
        "--bind", f"{args.host}:{args.port}",
        "--workers", str(workers),
        "recsvc:create_app()",
    ]  # fmt: skip
    environ = gunicorn_environ(settings, workers)
    print(f"serving on http://{args.host}:{args.port} with {workers} workers", file=sys.stderr)
    sys.stderr.flush()
    os.execve(sys.executable, argv, environ)
    return 0  # not reached


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.orm import Session

    from recsvc.security import create_key, revoke_key
    from recsvc.store.engine import make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    with Session(engine) as session:
        if args.keys_command == "create":
            key = create_key(
                session,
                role=args.role,
                staff_id=args.staff,
                branch_id=args.branch,
                manager_id=args.manager,
            )
            print(key)  # the only output on stdout: scripts capture it
            return 0
        if not revoke_key(session, args.key_id):
            raise CommandError(f"no active key with id {args.key_id!r}")
    print(f"revoked {args.key_id}", file=sys.stderr)
    return 0


def _score_book(args: argparse.Namespace, settings: Settings) -> int:
    """Plan the week for every client manager; progress bar on a TTY, summary JSON on stdout."""
    import datetime as dt
    import time

    from tqdm import tqdm

    from recsvc.service.contact_plan import build_planner
    from recsvc.service.weeks import week_of, week_start
    from recsvc.store import upgrade

    planner = build_planner(settings)
    upgrade(planner.engine)
    today = dt.datetime.now(planner.service_config.timezone).date()
    week = args.week or week_of(today)
    monday = week_start(week)
    as_of = today if monday <= today < monday + dt.timedelta(days=7) else monday
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    if args.dask is not None:
        from recsvc.service.plan_dask import plan_week_on_cluster

        planner.engine.dispose()
        summary, partitions = plan_week_on_cluster(
            settings, args.dask, week, as_of=as_of, chunk_size=args.chunk_size,
            partitions=args.partitions,
        )  # fmt: skip
        extra = {"dask": args.dask, "partitions": partitions}
    else:
        bar = tqdm(unit="customer", disable=not sys.stderr.isatty(), file=sys.stderr)
        with bar:
            summary = planner.plan_week(week, as_of=as_of, chunk_size=args.chunk_size,
                                        progress=bar.update)  # fmt: skip
    out = {
        "week": summary.week, "as_of": summary.as_of.isoformat(), "run_id": summary.run_id,
        "customers": summary.customers, "candidates": summary.candidates,
        "entries": summary.entries, "reassign": summary.reassign,
        "managers": len(summary.per_manager), "seconds": round(time.perf_counter() - started, 2),
        **extra,
    }  # fmt: skip
    print(json.dumps(out, indent=2))
    return 0


def _add_service_commands(sub: Any) -> None:
    from recsvc.security import ROLES

    serve = sub.add_parser("serve", help="run the HTTP service under gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=None, help="default: RECSVC_WEB_WORKERS")
    keys = sub.add_parser("keys", help="issue or revoke API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="issue a key; prints only the key")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--staff", required=True, help="staff id of the key's holder")
    create.add_argument("--branch", default=None)
    create.add_argument("--manager", default=None, help="client manager id (role manager)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its key id")
    revoke.add_argument("key_id")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recsvc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("catalog", help="print the validated product catalogue as JSON")
    sub.add_parser("init-db", help="create or migrate the store to the latest schema")
    load = sub.add_parser("load-customers", help="load a bank export into the store")
    load.add_argument("directory")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.add_argument(
        "--workers", type=int, default=1,
        help="processes that check the rows (default 1: in the loading process)",
    )  # fmt: skip
    book = sub.add_parser("score-book", help="write every client manager's contact plan")
    book.add_argument("--week", default=None, help="ISO week YYYY-Www (default: this week)")
    book.add_argument("--chunk-size", type=int, default=2000, help="customers per chunk")
    book.add_argument(
        "--dask", default=None, metavar="ADDRESS",
        help="plan on a Dask cluster: local[:N] (N worker processes here) or a scheduler address"
        " such as tcp://host:8786 (PostgreSQL; workers read DATABASE_URL from their environment)",
    )  # fmt: skip
    book.add_argument(
        "--partitions", type=int, default=None,
        help="with --dask: manager ranges to cut the books into (default 4 per worker)",
    )  # fmt: skip
    _add_service_commands(sub)
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "catalog": _catalog,
    "init-db": _init_db,
    "load-customers": _load_customers,
    "score-book": _score_book,
    "serve": _serve,
    "keys": _keys,
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
