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

--replicate-from B builds every larger store from a base of B customers instead: the base bank
(synth seed 1) is loaded once with load-customers into recsvc_bench_scale_base_B, the size's
database is created from it (CREATE DATABASE ... TEMPLATE) and the base's managers, customers,
holdings, transactions and pitch history are copied K-1 more times by SQL (K = N / B; ids,
manager ids and branch ids prefixed R2..RK), so there are K times the books, caps and
contactable customers of the base. The copy is checked: every table holds K times the base's
rows, every manager id a customer names exists, and the base's own contact plan times K equals
the copy's (score-book is run once on the base for that). Training still reads the size's own
synthetic bank (synth is fast); only the store the plan reads is a replica. --model-from M
predicts and plans with the M-customer bank's model at every size (for a size too big to train
in one process here).

--steps picks what runs now (default all: synth,train,predict,store,score-book,
score-book-dask,train-dask); every step's result is kept in WORK/steps-N.json with when it ran,
the tree's commit and the load average, and a step not run now is reported from there (marked
with its time), so a long run can be split, e.g. the single-process steps before the Dask code
is merged and the Dask steps after. Use --work and --keep-db for that.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
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
    cpu_seconds: float = 0.0  # user + system of the CLI and every process it waited for


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
    """Run cmd (stderr passes through), sampling the RSS of it and all its descendants; its CPU
    seconds are the growth of this process's RUSAGE_CHILDREN (the CLI, and the Dask workers it
    spawned and reaped)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(seconds, stdout, peaks.get(process.pid, 0.0), children, cpu)


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

    def copy_of(self, template: str) -> None:
        """Recreate this database as a file copy of `template` (no one may be connected to it)."""
        with self.admin.connect() as conn:
            conn.execute(self._text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(self._text(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"'))

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """Run one statement in its own transaction; its rows (if any)."""
        from recsvc.store import make_engine

        engine = make_engine(self.url)
        try:
            with engine.begin() as conn:
                result = conn.execute(self._text(statement), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()

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
        """No plan and no audit rows: each score-book run starts from the same store."""
        self.sql("TRUNCATE contact_plan, audit_log")

    def close(self) -> None:
        if not self.keep:
            with self.admin.connect() as conn:
                conn.execute(self._text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


# The tables load-customers fills, parents first, and the columns whose ids a copy prefixes.
REPLICATED = (
    ("client_managers", ("manager_id", "branch_id"), "manager_id"),
    ("customers", ("customer_id", "manager_id", "branch_id"), "customer_id"),
    ("holdings", ("customer_id",), "customer_id"),
    ("transactions", ("customer_id",), "customer_id"),
    ("pitch_history", ("customer_id",), "customer_id"),
)


ORPHANS = "customers naming a manager not in client_managers"


def table_counts(db: Database) -> dict[str, int]:
    counts = {t: int(db.sql(f"SELECT count(*) FROM {t}")[0][0]) for t, _, _ in REPLICATED}
    counts[ORPHANS] = int(db.sql(
        "SELECT count(*) FROM customers c LEFT JOIN client_managers m USING (manager_id) "
        "WHERE c.manager_id IS NOT NULL AND m.manager_id IS NULL"
    )[0][0])  # fmt: skip
    return counts


def replicate(db: Database, copies: int) -> None:
    """Copies 2..`copies` of the base rows (ids not starting with R) in one transaction, ids
    prefixed R<k> (a base id starts with a letter other than R, so R1|0C... cannot meet R10C...);
    then ANALYZE, as autovacuum would after a load, so the planner sees the store's real size."""
    from recsvc.store.tables import Base

    statements = []
    for name, prefixed, key in REPLICATED:
        table = Base.metadata.tables[name]
        cols = [c.name for c in table.columns if not (c.name == "id" and c.primary_key)]
        exprs = [f"'R' || k::text || {c}" if c in prefixed else c for c in cols]
        statements.append(
            f"INSERT INTO {name} ({', '.join(cols)}) SELECT {', '.join(exprs)} "
            f"FROM {name} CROSS JOIN generate_series(2, {int(copies)}) AS k "
            f"WHERE {key} NOT LIKE 'R%'"
        )
    from recsvc.store import make_engine

    engine = make_engine(db.url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(db._text(statement))
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(db._text("ANALYZE"))
    finally:
        engine.dispose()


def check_replica(db: Database, base: dict[str, int], copies: int) -> dict[str, Any]:
    """The copy is the base K times over: row counts (and customers naming a missing manager),
    ids unique (the primary keys hold them; counted again here)."""
    counts = table_counts(db)
    problems = [f"{t}: {counts[t]:,}, expected {copies} x {base[t]:,}"
                for t in counts if counts[t] != copies * base[t]]  # fmt: skip
    distinct = db.sql("SELECT count(DISTINCT customer_id) FROM customers")[0][0]
    if distinct != counts["customers"]:
        problems.append(f"customers: {distinct:,} distinct ids in {counts['customers']:,} rows")
    if problems:
        raise SystemExit("replicated store is not K copies of the base: " + "; ".join(problems))
    return counts


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


STEPS = ("synth", "train", "predict", "store", "score-book", "score-book-dask", "train-dask")


def tree_commit() -> str:
    """HEAD's short hash, "+dirty" if tracked files differ from it."""
    git = ["git", "-C", str(ROOT)]
    rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         check=False).stdout.strip()  # fmt: skip
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    return (rev or "?") + ("+dirty" if dirty else "")


class Steps:
    """One size's step results, kept in WORK/steps-N.json as each finishes, with when it ran,
    on which commit and under what load (the 1-minute load average sampled every 5 s)."""

    def __init__(self, path: Path, selected: set[str]) -> None:
        self.path = path
        self.selected = selected
        self.done: dict[str, Any] = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        )

    def run(self, name: str, step: Any) -> Any:
        """The step's result: run now if selected, else the kept one (None if it never ran)."""
        if name not in self.selected:
            kept = self.done.get(name)
            return None if kept is None else kept["result"]
        loads: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while True:
                loads.append(os.getloadavg()[0])
                if stop.wait(5.0):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        at, commit = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), tree_commit()
        try:
            result = step()
        finally:
            stop.set()
            sampler.join()
        self.done[name] = {
            "result": result, "at": at, "commit": commit,
            "load_1min": {"min": round(min(loads), 2), "mean": round(sum(loads) / len(loads), 2),
                          "max": round(max(loads), 2)},
        }  # fmt: skip
        self.path.write_text(json.dumps(self.done, indent=2) + "\n", encoding="utf-8")
        return result

    def meta(self) -> dict[str, Any]:
        return {name: {k: v for k, v in kept.items() if k != "result"}
                for name, kept in self.done.items()}  # fmt: skip


def ensure_bank(n: int, work: Path) -> tuple[Path, Run | None]:
    """WORK/bank-N (synth seed 1), made if missing: its path and the synth run (None if kept)."""
    bank = work / f"bank-{n}"
    if (bank / "manifest.json").exists():
        return bank, None
    run = measure([sys.executable, "-m", "training", "synth", "--customers", str(n), "--seed",
                   "1", "--out", str(bank), "--quiet"])  # fmt: skip
    return bank, run


def plan_env(db: Database, registry: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db.url, "RECSVC_REGISTRY_DIR": str(registry),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get(
                "PYTHONPATH")]))}  # fmt: skip


def build_store(
    n: int, args: argparse.Namespace, work: Path, db: Database, registry: Path
) -> dict[str, Any]:
    """Fill db with n customers: load-customers, or (--replicate-from B) a checked replica of B."""
    py = sys.executable
    base = args.replicate_from
    if not base or n <= base:
        bank = work / f"bank-{n}"
        load = measure([py, "-m", "recsvc", "load-customers", str(bank), "--quiet"],
                       plan_env(db, registry))  # fmt: skip
        return {"load": {"seconds": round(load.seconds, 2),
                         "customers_per_s": round(n / load.seconds)}}  # fmt: skip
    if n % base:
        raise SystemExit(f"--replicate-from {base}: {n:,} is not a multiple of it")
    copies = n // base
    out: dict[str, Any] = {"replicate_from": base, "copies": copies}
    base_bank, run = ensure_bank(base, work)
    if run is not None:
        out["base_synth_seconds"] = round(run.seconds, 2)
    # kept across the sizes of this run; dropped at its end unless --keep-db (drop_bases)
    base_db = Database(args.postgres, f"recsvc_bench_scale_base_{base}", keep=True)
    try:
        if base_db.customers() == base:
            out["base_load"] = "reused"
        else:
            load = measure([py, "-m", "recsvc", "load-customers", str(base_bank), "--quiet"],
                           plan_env(base_db, registry))  # fmt: skip
            out["base_load"] = {"seconds": round(load.seconds, 2),
                                "customers_per_s": round(base / load.seconds)}  # fmt: skip
        base_db.empty_plan()
        base_counts = table_counts(base_db)
        started = time.perf_counter()
        db.copy_of(base_db.name)
        replicate(db, copies)
        out["replicate_seconds"] = round(time.perf_counter() - started, 2)
        out["counts"] = check_replica(db, base_counts, copies)
        # the base's own plan, K times, is what the replica's plan must come to
        book = [py, "-m", "recsvc", "score-book", "--week", WEEK, "--chunk-size", str(args.chunk)]
        plan = json.loads(measure(book, plan_env(base_db, registry)).stdout)
        base_db.empty_plan()
        out["base_plan"] = {k: plan[k] for k in ("customers", "candidates", "entries", "seconds")}
    finally:
        base_db.close()
    return out


def drop_bases(args: argparse.Namespace) -> None:
    """The --replicate-from base database, unless --keep-db keeps it for the next run."""
    if args.postgres and args.replicate_from and not args.keep_db:
        base = Database(args.postgres, f"recsvc_bench_scale_base_{args.replicate_from}", keep=True)
        base.keep = False
        base.close()


def bench_size(
    n: int, args: argparse.Namespace, work: Path, dask: dict[str, bool]
) -> dict[str, Any]:
    py = sys.executable
    workers = int(args.dask.partition(":")[2] or 2) if args.dask.startswith("local") else 0
    steps = Steps(work / f"steps-{n}.json", args.steps)
    out: dict[str, Any] = {"customers": n}

    def synth() -> dict[str, Any]:
        bank, run = ensure_bank(n, work)
        if run is None:
            kept = steps.done.get("synth")
            if kept is not None:
                return dict(kept["result"])
            return {"seconds": None, "bytes": bank_bytes(bank), "peak_mib": None}
        return {"seconds": round(run.seconds, 2), "bytes": bank_bytes(bank),
                "peak_mib": round(run.peak_mib)}  # fmt: skip

    out["synth"] = steps.run("synth", synth)
    bank = work / f"bank-{n}"
    base = ["-m", "training", "train", "--dataset", "synthetic", "--data", str(bank), "--quiet"]

    # the model predict and the plan use: this size's own, or --model-from M's
    plan_model = args.model_from or n
    model = work / f"model-{plan_model}"
    if plan_model != n:
        out["plan_model"] = f"the {plan_model:,}-customer bank's single-process model"

    def train() -> dict[str, Any]:
        run = measure([py, *base, "--out", str(work / f"model-{n}"), "--threads",
                       str(args.threads)])  # fmt: skip
        return {"seconds": round(run.seconds, 2), "cpu_seconds": round(run.cpu_seconds, 1),
                "peak_mib": round(run.peak_mib)}  # fmt: skip

    def train_dask() -> dict[str, Any]:
        run = measure([py, *base, "--out", str(work / f"model-{n}-dask"), "--dask", args.dask])
        return {"seconds": round(run.seconds, 2), "cpu_seconds": round(run.cpu_seconds, 1),
                "peak_mib": round(run.peak_mib),
                "worker_peaks_mib": [round(m) for m in run.worker_peaks_mib]}  # fmt: skip

    def predict() -> dict[str, Any]:
        rates = {}
        for threads in sorted({1, args.threads}):
            _, rate = predict_rate(model, bank, threads)
            rates[f"{threads}_threads"] = round(rate)
        return rates

    out["train"] = {"single": steps.run("train", train)}
    out["predict"] = steps.run("predict", predict)
    if not args.postgres:
        out["score_book"] = "no PostgreSQL: --postgres or RECSVC_TEST_POSTGRES_URL"
    else:
        from recsvc.models.registry import Registry

        registry = work / f"registry-{plan_model}"
        if not (registry / "aliases.json").exists():
            Registry(registry).publish(model, note="bench_scale champion")
        keep = args.keep_db or "store" not in args.steps  # a store built earlier is kept
        db = Database(args.postgres, f"recsvc_bench_scale_{n}", keep=keep)
        try:
            if "store" in args.steps and args.keep_db and db.customers() == n:
                steps.selected = steps.selected - {"store"}  # reused: keep its earlier result
            out["store"] = steps.run("store", lambda: build_store(n, args, work, db, registry))
            if out["store"] is None and db.customers() == n:
                out["store"] = {"reused": "--keep-db, built before steps-N.json kept results"}
            book = [py, "-m", "recsvc", "score-book", "--week", WEEK, "--chunk-size",
                    str(args.chunk)]  # fmt: skip

            def score_book(extra: list[str], workers: int) -> dict[str, Any]:
                if db.customers() != n:
                    raise SystemExit(f"{db.name} does not hold {n:,} customers: run --steps store")
                db.empty_plan()
                run = measure([*book, *extra], plan_env(db, registry))
                costs = plan_costs(json.loads(run.stdout), run, workers, args.chunk)
                result = {**costs, "peak_mib": round(run.peak_mib)}
                if extra:
                    result["worker_peaks_mib"] = [round(m) for m in run.worker_peaks_mib]
                store = out.get("store") or {}
                if "base_plan" in store:  # the replica's plan against copies x the base's
                    expected = store["copies"] * store["base_plan"]["entries"]
                    result["entries_vs_copies_x_base"] = round(costs["entries"] / expected, 4)
                return result

            out["score_book"] = {"single": steps.run("score-book", lambda: score_book([], 1))}
            if dask["score_book"]:
                out["score_book"]["dask"] = steps.run(
                    "score-book-dask", lambda: score_book(["--dask", args.dask], max(workers, 1))
                )
        finally:
            db.close()
    if dask["train"]:
        out["train"]["dask"] = steps.run("train-dask", train_dask)
    out["steps"] = steps.meta()
    return out


def cell(value: Any, fmt: str = "{:,.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def print_table(results: list[dict[str, Any]], dask: dict[str, bool], address: str) -> None:
    print()
    print(f"{'customers':>10} {'step':<11} {'single s':>9} {'dask s':>9} {'speed-up':>8} "
          f"{'peak MiB (CLI)':>15} {'peak MiB per worker':>20}")  # fmt: skip
    for r in results:
        n = r["customers"]
        synth = r.get("synth")
        if synth:
            print(
                f"{n:>10,} {'synth':<11} {cell(synth['seconds']):>9} {'':>9} {'':>8} "
                f"{cell(synth['peak_mib'], '{:,.0f}'):>15}   "
                f"{synth['bytes'] / 2**20:,.0f} MiB on disk"
            )
        for step, key in (("train", "train"), ("score-book", "score_book")):
            data = r.get(key)
            if not isinstance(data, dict):
                print(f"{n:>10,} {step:<11} {data or 'not run'}")
                continue
            single, multi = data.get("single"), data.get("dask")
            speed = single["seconds"] / multi["seconds"] if single and multi else None
            if multi:
                peaks = ", ".join(f"{m:,}" for m in multi["worker_peaks_mib"]) or "-"
            else:
                peaks = NOT_AVAILABLE if not dask[key] else "not run"
            print(f"{n:>10,} {step:<11} {cell(single and single['seconds']):>9} "
                  f"{cell(multi and multi['seconds']):>9} {cell(speed, '{:.2f}x'):>8} "
                  f"{cell(single and single['peak_mib'], '{:,.0f}'):>7}/"
                  f"{cell(multi and multi['peak_mib'], '{:,.0f}'):<7} {peaks:>20}")  # fmt: skip
        store = r.get("store") or {}
        if isinstance(store.get("load"), dict):
            print(
                f"{n:>10,} {'load (PG)':<11} {store['load']['seconds']:>9.1f}   "
                f"{store['load']['customers_per_s']:,} customers/s"
            )
        if "copies" in store:
            loaded = store["base_load"]
            loaded = loaded if isinstance(loaded, str) else f"{loaded['seconds']:,.0f} s"
            print(
                f"{n:>10,} {'store':<11} {store['replicate_seconds']:>9.1f}   "
                f"{store['copies']} copies of {store['replicate_from']:,} by SQL "
                f"(base load-customers: {loaded})"
            )
        if r.get("plan_model"):
            print(f"{n:>10,} {'model':<11} predict and score-book used {r['plan_model']}")
        if r.get("predict"):
            rates = ", ".join(f"{k.replace('_', ' ')} {v:,}/s" for k, v in r["predict"].items())
            print(f"{n:>10,} {'predict':<11} {rates}")
    print(
        f"\n(dask = --dask {address}; peak MiB (CLI) = single/dask CLI process; score-book s = "
        "the plan's own seconds, start-up excluded: wall seconds in the JSON)"
    )
    print("\nper-partition costs (docs/scale.md):")
    print(f"{'customers':>10} {'path':<7} {'partitions':>10} {'cust/part':>10} {'s/part':>8} "
          f"{'rows/s':>9} {'cust/s':>9} {'contactable':>11} {'plan/(K x base)':>15}")  # fmt: skip
    for r in results:
        data = r.get("score_book")
        if not isinstance(data, dict):
            continue
        for path in ("single", "dask"):
            c = data.get(path)
            if c is None:
                why = "not run" if dask["score_book"] else NOT_AVAILABLE
                print(f"{r['customers']:>10,} {path:<7} {why}")
                continue
            share = c["contactable"] / c["customers"] if c["customers"] else 0.0
            print(
                f"{r['customers']:>10,} {path:<7} {c['partitions']:>10,} "
                f"{c['customers_per_partition']:>10,} {c['seconds_per_partition']:>8.3f} "
                f"{c['rows_written_per_s']:>9,} {c['customers_per_s']:>9,} {share:>10.1%} "
                f"{cell(c.get('entries_vs_copies_x_base'), '{:.4f}'):>15}"
            )
    print(
        "\ntraining (CPU s = user + system of the CLI and its Dask workers; load = 1-minute "
        "load average min/mean/max during the step):"
    )
    print(f"{'customers':>10} {'path':<7} {'wall s':>9} {'CPU s':>9} {'peak MiB CLI':>12} "
          f"{'peak MiB per worker':>20} {'load':>15}")  # fmt: skip
    for r in results:
        data = r.get("train")
        if not isinstance(data, dict):
            continue
        for path, step in (("single", "train"), ("dask", "train-dask")):
            t = data.get(path)
            if not t:
                continue
            load = r.get("steps", {}).get(step, {}).get("load_1min")
            shown = f"{load['min']:.1f}/{load['mean']:.1f}/{load['max']:.1f}" if load else "-"
            workers = ", ".join(f"{m:,}" for m in t.get("worker_peaks_mib", [])) or "-"
            print(f"{r['customers']:>10,} {path:<7} {t['seconds']:>9,.1f} "
                  f"{cell(t.get('cpu_seconds')):>9} {t['peak_mib']:>12,} {workers:>20} "
                  f"{shown:>15}")  # fmt: skip
    print("\nwhen each step ran (1-minute load average min/mean/max during it):")
    for r in results:
        for name, meta in r.get("steps", {}).items():
            load = meta["load_1min"]
            print(
                f"{r['customers']:>10,} {name:<16} {meta['at']}  {meta['commit']:<14} "
                f"load {load['min']:.1f}/{load['mean']:.1f}/{load['max']:.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
    parser.add_argument(
        "--replicate-from", type=int, default=0, metavar="B",
        help="build stores larger than B as copies of a B-customer store (by SQL)",
    )  # fmt: skip
    parser.add_argument(
        "--model-from", type=int, default=0, metavar="M",
        help="predict and plan with WORK/model-M (trained on the M-customer bank) at every size, "
        "e.g. a store too big to train on one machine",
    )  # fmt: skip
    parser.add_argument(
        "--steps", default=",".join(STEPS),
        help=f"the steps to run now, comma-separated (default all: {','.join(STEPS)}); "
        "the others are reported from WORK/steps-N.json",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="default: WORK/bench_scale.json")
    args = parser.parse_args()
    args.steps = {s.strip() for s in args.steps.split(",") if s.strip()}
    if unknown := args.steps - set(STEPS):
        parser.error(f"--steps: unknown {', '.join(sorted(unknown))} (steps: {', '.join(STEPS)})")
    sizes = [int(s.replace("_", "")) for s in args.customers.split(",") if s.strip()]
    work = args.work or Path(tempfile.mkdtemp(prefix="recsvc-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    print(f"tree: {tree_commit()}; steps now: {', '.join(s for s in STEPS if s in args.steps)}")
    dask = {"train": accepts_dask("training", "train"),
            "score_book": accepts_dask("recsvc", "score-book")}  # fmt: skip
    for what, ok in dask.items():
        if not ok:
            print(f"{what.replace('_', '-')}: {NOT_AVAILABLE} (single-process path only)")
    results: list[dict[str, Any]] = []
    try:
        for n in sizes:
            print(f"-- {n:,} customers", flush=True)
            results.append(bench_size(n, args, work, dask))
    finally:
        drop_bases(args)
    print_table(results, dask, args.dask)
    path = args.json or work / "bench_scale.json"
    report = {"machine": machine(), "dask": args.dask, "dask_available": dask,
              "replicate_from": args.replicate_from or None, "results": results}  # fmt: skip
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
