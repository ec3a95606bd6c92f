"""Benchmark: the synthetic bank at scale — synth, train, batch predict, the nightly contact plan
on PostgreSQL — single-process and on Dask (issue 14), both in the same run on the same bank.

Run: python bench/bench_scale.py [--customers 1000000,5000000] [--dask local:2] [--threads 2]
         [--postgres URL] [--work DIR] [--json FILE]
The default `--customers 20000` is a smoke run. Per size N it measures:
  synth        `python -m training synth` streamed to disk: seconds, bytes, peak RSS
  train        `python -m training train`: single-process (--threads) vs `--dask ADDRESS`
  predict      the batch path of the single-process model (customers/s, 1 and --threads threads)
  load         `python -m recsvc load-customers` into a fresh PostgreSQL database
  score-book   `python -m recsvc score-book`: single-process vs `--dask ADDRESS`, each on an
               emptied contact_plan table, same week
Peak memory is sampled with psutil and the kernel's high-water mark (VmHWM) over each
command's process tree: the CLI process and, for Dask, each worker process (the LocalCluster's,
spawned by the CLI). If a CLI rejects --dask (a tree without issue 14's Dask paths) its Dask
rows say "--dask not available on this tree". Then the per-partition costs docs/scale.md
extrapolates from (customers/partition, seconds per partition, plan rows written/s).
Issue "Model" targets: train 1,000,000 customers in <= 5 min, peak <= 4 GB; batch predict
>= 20,000 customers/s. Prints numbers and writes JSON; asserts nothing. PostgreSQL: --postgres,
else RECSVC_BENCH_POSTGRES_URL or RECSVC_TEST_POSTGRES_URL (a server URL; a database
recsvc_bench_scale_N is created there and dropped afterwards, or with --keep-db kept and
reused: load-customers on PostgreSQL is the slow part of a big run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from machine import machine

ROOT = Path(__file__).resolve().parents[1]
WEEK = "2027-W10"  # a week that is not the current one: as_of is its Monday, both runs alike
SAMPLE_S = 0.2
NOT_AVAILABLE = "--dask not available on this tree"


@dataclass
class Run:
    """One command: wall seconds, its stdout, and peak RSS (MiB) of the CLI and its workers."""

    seconds: float
    stdout: str
    peak_mib: float  # the CLI's own process
    worker_peaks_mib: list[float] = field(default_factory=list)  # its children, largest first


def high_water(pid: int) -> int:
    """The kernel's peak RSS of a live process in bytes (Linux VmHWM; 0 elsewhere): a peak
    between two samples is not missed."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Run cmd (stderr passes through), sampling the RSS of it and all its descendants."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    peaks: dict[int, float] = {}
    helpers: set[int] = set()  # multiprocessing's resource tracker: not a worker
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            for proc in procs:
                try:
                    rss = max(proc.memory_info().rss, high_water(proc.pid)) / 2**20
                    if proc.pid not in peaks and "resource_tracker" in " ".join(proc.cmdline()):
                        helpers.add(proc.pid)
                except psutil.Error:
                    continue
                peaks[proc.pid] = max(peaks.get(proc.pid, 0.0), rss)
            done.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, cmd, stdout)
    children = sorted(
        (mib for pid, mib in peaks.items() if pid != process.pid and pid not in helpers),
        reverse=True,
    )
    return Run(seconds, stdout, peaks.get(process.pid, 0.0), children)


def accepts_dask(module: str, command: str) -> bool:
    """Whether `python -m MODULE COMMAND --help` lists --dask."""
    shown = subprocess.run(
        [sys.executable, "-m", module, command, "--help"], capture_output=True, text=True,
        cwd=ROOT, check=False,
    )  # fmt: skip
    return "--dask" in shown.stdout


def bank_bytes(bank: Path) -> int:
    return sum(p.stat().st_size for p in bank.iterdir() if p.is_file())


def predict_rate(model_dir: Path, bank: Path, threads: int) -> tuple[int, float]:
    """Customers per second scoring the whole catalogue from the feature matrix (batch path)."""
    from recsvc.models.ranker import ProductRanker
    from training.datasets import load_dataset, load_spec

    frame = load_dataset(load_spec("synthetic"), bank)
    X = frame.features.to_numpy(dtype="float32")
    ranker = ProductRanker.load(model_dir, num_threads=threads)
    start = time.perf_counter()
    ranker.predict_proba(X)
    return len(X), len(X) / (time.perf_counter() - start)


class Database:
    """A PostgreSQL database on the server `url` names: created fresh and dropped on close, or
    with `keep` reused if it exists and kept (loading a bank into it is the slow part)."""

    def __init__(self, url: str, name: str, *, keep: bool = False) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from recsvc.store.engine import normalise_url

        self._text = text
        self.name = name
        self.keep = keep
        self.admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            found = "SELECT 1 FROM pg_database WHERE datname = :name"
            exists = conn.execute(text(found), {"name": name}).first() is not None
            if exists and not keep:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            if not (exists and keep):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.url = make_url(normalise_url(url)).set(database=name).render_as_string(False)

    def customers(self) -> int:
        """Customers already loaded (0 in a new database)."""
        from sqlalchemy import inspect

        from recsvc.store import make_engine

        engine = make_engine(self.url)
        try:
            if "customers" not in inspect(engine).get_table_names():
                return 0
            with engine.connect() as conn:
                return int(conn.execute(self._text("SELECT count(*) FROM customers")).scalar_one())
        finally:
            engine.dispose()

    def empty_plan(self) -> None:
        from recsvc.store import make_engine

        engine = make_engine(self.url)
        with engine.begin() as conn:
            conn.execute(self._text("TRUNCATE contact_plan"))
        engine.dispose()

    def close(self) -> None:
        if not self.keep:
            with self.admin.connect() as conn:
                conn.execute(self._text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def plan_costs(summary: dict[str, Any], run: Run, workers: int, chunk: int) -> dict[str, Any]:
    """Per-partition costs of one score-book run, for docs/scale.md's extrapolation, from the
    plan's own `seconds` (its JSON summary: start-up excluded). A partition
    is a Dask task's share when score-book reports `partitions`, else one chunk of --chunk-size
    (the single-process path's unit of work)."""
    customers = int(summary.get("customers", 0))
    partitions = int(summary.get("partitions") or math.ceil(customers / chunk) or 1)
    seconds = float(summary.get("seconds") or run.seconds)  # the plan itself, not start-up
    return {
        "customers": customers,
        "contactable": summary.get("candidates"),
        "entries": summary.get("entries"),
        "wall_seconds": round(run.seconds, 2),  # the whole command, start-up included
        "seconds": round(seconds, 2),
        "partitions": partitions,
        "customers_per_partition": round(customers / partitions),
        # worker-seconds per partition: wall time x workers busy, spread over the partitions
        "seconds_per_partition": round(seconds * workers / partitions, 3),
        "rows_written_per_s": round(int(summary.get("entries", 0)) / seconds),
        "customers_per_s": round(customers / seconds),
    }


def bench_size(
    n: int, args: argparse.Namespace, work: Path, dask: dict[str, bool]
) -> dict[str, Any]:
    py = sys.executable
    workers = int(args.dask.partition(":")[2] or 2) if args.dask.startswith("local") else 0
    bank = work / f"bank-{n}"
    out: dict[str, Any] = {"customers": n}
    if not (bank / "manifest.json").exists():
        run = measure([py, "-m", "training", "synth", "--customers", str(n), "--seed", "1",
                       "--out", str(bank), "--quiet"])  # fmt: skip
        out["synth"] = {"seconds": round(run.seconds, 2), "bytes": bank_bytes(bank),
                        "peak_mib": round(run.peak_mib)}  # fmt: skip
    else:
        out["synth"] = {"seconds": None, "bytes": bank_bytes(bank), "peak_mib": None}
    base = ["-m", "training", "train", "--dataset", "synthetic", "--data", str(bank), "--quiet"]
    single = measure([py, *base, "--out", str(work / f"model-{n}"), "--threads", str(args.threads)])
    out["train"] = {"single": {"seconds": round(single.seconds, 2),
                               "peak_mib": round(single.peak_mib)}}  # fmt: skip
    if dask["train"]:
        run = measure([py, *base, "--out", str(work / f"model-{n}-dask"), "--dask", args.dask])
        out["train"]["dask"] = {
            "seconds": round(run.seconds, 2), "peak_mib": round(run.peak_mib),
            "worker_peaks_mib": [round(m) for m in run.worker_peaks_mib],
        }  # fmt: skip
    out["predict"] = {}
    for threads in sorted({1, args.threads}):
        _, rate = predict_rate(work / f"model-{n}", bank, threads)
        out["predict"][f"{threads}_threads"] = round(rate)
    if not args.postgres:
        out["score_book"] = "no PostgreSQL: --postgres or RECSVC_TEST_POSTGRES_URL"
        return out

    from recsvc.models.registry import Registry

    registry = work / f"registry-{n}"
    if not (registry / "aliases.json").exists():
        Registry(registry).publish(work / f"model-{n}", note="bench_scale champion")
    db = Database(args.postgres, f"recsvc_bench_scale_{n}", keep=args.keep_db)
    try:
        env = {**os.environ, "DATABASE_URL": db.url, "RECSVC_REGISTRY_DIR": str(registry),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get(
                   "PYTHONPATH")]))}  # fmt: skip
        if db.customers() == n:
            out["load"] = "reused (--keep-db)"
        else:
            load = measure([py, "-m", "recsvc", "load-customers", str(bank), "--quiet"], env)
            out["load"] = {
                "seconds": round(load.seconds, 2),
                "customers_per_s": round(n / load.seconds),
            }
        book = [py, "-m", "recsvc", "score-book", "--week", WEEK, "--chunk-size", str(args.chunk)]
        db.empty_plan()
        run = measure(book, env)
        out["score_book"] = {"single": {**plan_costs(json.loads(run.stdout), run, 1, args.chunk),
                                        "peak_mib": round(run.peak_mib)}}  # fmt: skip
        if dask["score_book"]:
            db.empty_plan()
            run = measure([*book, "--dask", args.dask], env)
            out["score_book"]["dask"] = {
                **plan_costs(json.loads(run.stdout), run, max(workers, 1), args.chunk),
                "peak_mib": round(run.peak_mib),
                "worker_peaks_mib": [round(m) for m in run.worker_peaks_mib],
            }  # fmt: skip
    finally:
        db.close()
    return out


def cell(value: Any, fmt: str = "{:,.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def print_table(results: list[dict[str, Any]], dask: dict[str, bool], address: str) -> None:
    print()
    print(f"{'customers':>10} {'step':<11} {'single s':>9} {'dask s':>9} {'speed-up':>8} "
          f"{'peak MiB (CLI)':>15} {'peak MiB per worker':>20}")  # fmt: skip
    for r in results:
        n = r["customers"]
        synth = r["synth"]
        print(
            f"{n:>10,} {'synth':<11} {cell(synth['seconds']):>9} {'':>9} {'':>8} "
            f"{cell(synth['peak_mib'], '{:,.0f}'):>15}   {synth['bytes'] / 2**20:,.0f} MiB on disk"
        )
        for step, key in (("train", "train"), ("score-book", "score_book")):
            data = r.get(key)
            if not isinstance(data, dict):
                print(f"{n:>10,} {step:<11} {data}")
                continue
            single, multi = data["single"], data.get("dask")
            speed = single["seconds"] / multi["seconds"] if multi else None
            peaks = (
                (", ".join(f"{m:,}" for m in multi["worker_peaks_mib"]) or "-")
                if multi
                else (
                    NOT_AVAILABLE if not dask["train" if key == "train" else "score_book"] else "-"
                )
            )
            print(f"{n:>10,} {step:<11} {cell(single['seconds']):>9} "
                  f"{cell(multi and multi['seconds']):>9} {cell(speed, '{:.2f}x'):>8} "
                  f"{single['peak_mib']:>7,}/{cell(multi and multi['peak_mib'], '{:,.0f}'):<7} "
                  f"{peaks:>20}")  # fmt: skip
        if isinstance(r.get("load"), dict):
            print(
                f"{n:>10,} {'load (PG)':<11} {r['load']['seconds']:>9.1f}   "
                f"{r['load']['customers_per_s']:,} customers/s"
            )
        rates = ", ".join(f"{k.replace('_', ' ')} {v:,}/s" for k, v in r["predict"].items())
        print(f"{n:>10,} {'predict':<11} {rates}")
    print(
        f"\n(dask = --dask {address}; peak MiB (CLI) = single/dask CLI process; score-book s = "
        "the plan's own seconds, start-up excluded: wall seconds in the JSON)"
    )
    print("\nper-partition costs (docs/scale.md):")
    print(f"{'customers':>10} {'path':<7} {'partitions':>10} {'cust/part':>10} {'s/part':>8} "
          f"{'rows/s':>9} {'cust/s':>9} {'contactable':>11}")  # fmt: skip
    for r in results:
        data = r.get("score_book")
        if not isinstance(data, dict):
            continue
        for path in ("single", "dask"):
            c = data.get(path)
            if c is None:
                print(f"{r['customers']:>10,} {path:<7} {NOT_AVAILABLE}")
                continue
            share = c["contactable"] / c["customers"] if c["customers"] else 0.0
            print(
                f"{r['customers']:>10,} {path:<7} {c['partitions']:>10,} "
                f"{c['customers_per_partition']:>10,} {c['seconds_per_partition']:>8.3f} "
                f"{c['rows_written_per_s']:>9,} {c['customers_per_s']:>9,} {share:>10.1%}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--customers",
        default="20000",
        help="comma-separated sizes, e.g. 1000000,5000000 (default: a smoke run)",
    )
    parser.add_argument("--threads", type=int, default=2, help="single-process training/predict")
    parser.add_argument("--dask", default="local:2", help="ADDRESS for the Dask runs")
    parser.add_argument("--chunk", type=int, default=2000, help="score-book --chunk-size")
    parser.add_argument("--postgres", default=os.environ.get("RECSVC_BENCH_POSTGRES_URL")
                        or os.environ.get("RECSVC_TEST_POSTGRES_URL"))  # fmt: skip
    parser.add_argument("--work", type=Path, default=None, help="keep banks and models here")
    keep = "keep (and reuse) the loaded databases recsvc_bench_scale_N"
    parser.add_argument("--keep-db", action="store_true", help=keep)
    parser.add_argument("--json", type=Path, default=None, help="default: WORK/bench_scale.json")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.customers.split(",") if s.strip()]
    work = args.work or Path(tempfile.mkdtemp(prefix="recsvc-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    dask = {"train": accepts_dask("training", "train"),
            "score_book": accepts_dask("recsvc", "score-book")}  # fmt: skip
    for what, ok in dask.items():
        if not ok:
            print(f"{what.replace('_', '-')}: {NOT_AVAILABLE} (single-process path only)")
    results: list[dict[str, Any]] = []
    for n in sizes:
        print(f"-- {n:,} customers", flush=True)
        results.append(bench_size(n, args, work, dask))
    print_table(results, dask, args.dask)
    path = args.json or work / "bench_scale.json"
    report = {"machine": machine(), "dask": args.dask, "dask_available": dask, "results": results}
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
