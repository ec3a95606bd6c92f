"""What the benchmarks over a synthetic store share: the store (and a champion) built once in a
child process and kept in --work, so the measured process's memory is its own; and the settings
that point the service at them."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def store_bench_parser(*, customers: int, chunk_size: int) -> argparse.ArgumentParser:
    """The options of a benchmark over a store built once: --customers, --work, --chunk-size
    and the child's --build-only."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=customers)
    parser.add_argument("--work", type=Path, default=None, help="keep the store here")
    parser.add_argument("--chunk-size", type=int, default=chunk_size)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    return parser


def build_store_with_champion(work: Path, customers: int) -> None:
    """Synthetic bank in a SQLite store, and a model trained on a small bank, published."""
    sys.path.insert(0, str(ROOT / "tests"))
    from apptesting import build_bank, build_model, build_store

    from recsvc.models.registry import Registry
    from training.synth.generate import generate_bank

    generate_bank(work / "bank", customers=customers, seed=3)
    build_store(work / "bank", work / "store.db")
    model = build_model(build_bank(work / "train_bank"), work / "model")
    Registry(work / "registry").publish(model, note="bench champion")


def build_once(script: str, work: Path, customers: int) -> None:
    """Run `script --build-only` in a child process unless `work` holds a store already."""
    if (work / "store.db").exists():
        return
    start = time.perf_counter()
    cmd = [sys.executable, script, "--build-only", "--work", str(work),
           "--customers", str(customers)]  # fmt: skip
    subprocess.run(cmd, check=True)
    print(f"built store of {customers:,} customers in {time.perf_counter() - start:.1f} s")


def store_settings(work: Path) -> Any:
    """The default Settings with the store and the registry in `work`."""
    from recsvc.config import Settings

    return dataclasses.replace(
        Settings(), database_url=f"sqlite:///{work / 'store.db'}", registry_dir=work / "registry"
    )


def bench_postgres_url(given: str | None) -> str:
    """The PostgreSQL server a bench writes to: --postgres, else RECSVC_BENCH_POSTGRES_URL,
    else RECSVC_TEST_POSTGRES_URL; exits with the reason when none is set."""
    import os

    from recsvc.store.engine import normalise_url

    base = given or os.environ.get(
        "RECSVC_BENCH_POSTGRES_URL", os.environ.get("RECSVC_TEST_POSTGRES_URL")
    )
    if not base:
        sys.exit("needs --postgres or RECSVC_BENCH_POSTGRES_URL / RECSVC_TEST_POSTGRES_URL")
    return normalise_url(base)
