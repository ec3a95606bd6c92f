"""Model subcommands of `python -m training`: train, evaluate, predict, report, and the registry."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from recsvc.config import Settings


def _registry() -> Any:
    from recsvc.models.registry import Registry

    return Registry(Settings.from_env().registry_dir)


def _dataset_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="synthetic", help="spec name or path to a .toml spec")
    parser.add_argument("--data", type=Path, required=True, help="data file or directory")


def add_train(parser: argparse.ArgumentParser) -> None:
    _dataset_args(parser)
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="LightGBM threads")
    parser.add_argument(
        "--no-refit", dest="refit", action="store_false",
        help="ship the evaluation model (fitted without the hold-out) instead of a refit on all",
    )  # fmt: skip
    parser.add_argument(
        "--dask", metavar="ADDRESS",
        help="train on a Dask cluster: local[:N] (N worker processes here) or a scheduler "
        "address such as tcp://host:8786 (docs/model.md, 'Training on Dask')",
    )  # fmt: skip
    parser.add_argument(
        "--partitions", type=int,
        help="with --dask: customer partitions (default: 2 per worker, more for big files)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true")


def run_train(args: argparse.Namespace) -> int:
    """Fit on the training customers, score the hold-out against the baselines, save."""
    from training.datasets import load_spec
    from training.pipeline import train

    if args.dask:
        from training.dask_train import train_dask

        out = train_dask(
            load_spec(args.dataset), args.data, args.out, address=args.dask,
            seed=args.seed, progress=not args.quiet, num_threads=args.threads,
            refit=args.refit, partitions=args.partitions,
        )  # fmt: skip
        print(out)
        return 0
    if args.partitions is not None:
        print("--partitions needs --dask", file=sys.stderr)
        return 2
    out = train(
        load_spec(args.dataset), args.data, args.out,
        seed=args.seed, progress=not args.quiet, num_threads=args.threads, refit=args.refit,
    )  # fmt: skip
    print(out)
    return 0


def add_evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    _dataset_args(parser)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument(
        "--allow-overlap", action="store_true",
        help="grade even if the file's hold-out customers were among the model's training ones",
    )  # fmt: skip


def run_evaluate(args: argparse.Namespace) -> int:
    """Metrics of the model and every baseline on the file's hold-out customers, as JSON;
    refused when those customers were among the model's training customers."""
    from training.datasets import load_spec
    from training.pipeline import evaluate

    report = evaluate(
        args.model, load_spec(args.dataset), args.data, allow_overlap=args.allow_overlap
    )
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def add_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    _dataset_args(parser)
    parser.add_argument("--as-of", help="snapshot to score (default: the latest)")
    parser.add_argument("--top", type=int, default=7, help="products per customer")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write")


def run_predict(args: argparse.Namespace) -> int:
    """customer_id,rank,product_id,score for products not held at the as-of snapshot."""
    from training.datasets import load_spec
    from training.pipeline import predict

    out = predict(
        args.model, load_spec(args.dataset), args.data,
        top_k=args.top, out_csv=args.out, as_of=args.as_of,
    )  # fmt: skip
    print(out)
    return 0


def add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="model directory or version")
    parser.add_argument("--compare", type=Path, help="a second model to show side by side")
    parser.add_argument("--out", type=Path, required=True, help="HTML file to write")


def _model_dir(path: Path) -> Path:
    """A model directory, or a published version/alias name looked up in the registry."""
    if path.is_dir():
        return path
    registry = _registry()
    return Path(registry.versions_dir) / registry.resolve(str(path))


def run_report(args: argparse.Namespace) -> int:
    """The model card: one self-contained HTML file."""
    from training.report import write_report

    compare = _model_dir(args.compare) if args.compare else None
    print(write_report(_model_dir(args.model), args.out, compare_dir=compare))
    return 0


def add_publish(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    parser.add_argument("--note", default="", help="why this version exists")
    parser.add_argument(
        "--as", dest="alias", choices=["champion", "challenger"], default="challenger",
        help="alias to give it (the first version ever becomes champion)",
    )  # fmt: skip


def run_publish(args: argparse.Namespace) -> int:
    """Copy a model directory into the registry as an immutable, hashed version."""
    print(_registry().publish(args.model, note=args.note, alias=args.alias))
    return 0


def add_promote(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", help="version id (or 'challenger')")
    parser.add_argument("--alias", choices=["champion", "challenger"], default="champion")


def run_promote(args: argparse.Namespace) -> int:
    """Point an alias at a verified version; the old champion is kept for rollback."""
    state = _registry().promote(args.version, alias=args.alias)
    print(json.dumps({"champion": state.champion, "challenger": state.challenger}))
    return 0


def add_nothing(parser: argparse.ArgumentParser) -> None:
    del parser


def run_rollback(args: argparse.Namespace) -> int:
    """Return champion to the previous champion."""
    state = _registry().rollback()
    print(json.dumps({"champion": state.champion, "challenger": state.challenger}))
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Published versions, oldest first, with their aliases."""
    for info in _registry().list_versions():
        aliases = ",".join(info.aliases) or "-"
        summary = json.dumps(info.metrics, ensure_ascii=False)[:120]
        print(f"{info.version}\t{aliases}\t{info.created_at}\t{info.note}\t{summary}")
    sys.stdout.flush()
    return 0
