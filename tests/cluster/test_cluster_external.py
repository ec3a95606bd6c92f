"""recsvc against an existing Dask cluster, as a bank runs one: a `dask scheduler` and two
`dask worker` processes (each with its nanny) started from the command line, not a LocalCluster.

- training through the scheduler gives the model `local:2` gives, tree for tree (partitions are
  placed round-robin on the workers sorted by address, so two workers anywhere fit the same
  rows on the same machine ranks), and it publishes like any model;
- `score-book --dask tcp://…` writes the plan the single-process run writes, on PostgreSQL;
- a worker process killed with SIGKILL mid-task (before or after its partition committed) is
  restarted by its nanny, Dask runs the task again, and the plan is still complete, once;
- a worker that cannot serve the run (another release of the code, another registry, no
  DATABASE_URL) is refused before any task runs, naming the worker and what differs; a
  scheduler without workers is refused, not waited on for ever.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from clustertesting import ROOT, ExternalCluster, external_cluster, worker_env
from pgtesting import postgres_database
from plantesting import week_plan
from sqlalchemy import func, select

from recsvc.cluster import ClusterError, check_workers, dask_client, release
from recsvc.config import Settings
from recsvc.models.registry import Registry
from recsvc.service.contact_plan import DEFAULT_CONFIG, build_planner
from recsvc.service.plan_dask import PartitionJob, plan_partition, plan_week_on_cluster
from recsvc.service.plan_rows import PlanSummary
from recsvc.service.weeks import week_start
from recsvc.store import load_customers, make_engine, upgrade
from recsvc.store.tables import ContactPlanRow
from training.dask_train import train_dask
from training.datasets import load_spec

WEEK = "2026-W40"  # the synthetic pitch history ends on 29 Sep: declines are in force
AS_OF = week_start(WEEK)  # what `score-book --week 2026-W40` plans as of, any other week
REFUSED_WEEK = "2026-W41"
RUN_SECONDS = 300  # a command that has not finished by then hangs: the test fails

# the killing tasks below are defined here: ship them to the workers by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def store(
    synthetic_bank: Path, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The synthetic bank in a private PostgreSQL database, a registry with a champion."""
    registry = tmp_path_factory.mktemp("registry")
    with postgres_database("score-book on an existing Dask cluster") as url:
        engine = make_engine(url)
        upgrade(engine)
        load_customers(engine, synthetic_bank, progress=False)
        engine.dispose()
        Registry(registry).publish(trained_model, note="test champion")
        yield dataclasses.replace(Settings(), database_url=url, registry_dir=registry)


def _env(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "RECSVC_REGISTRY_DIR": str(settings.registry_dir),
    }


@pytest.fixture(scope="module")
def cluster(store: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExternalCluster]:
    """A scheduler and two workers whose environment names the store and the registry."""
    env = worker_env(**_env(store))
    with external_cluster(tmp_path_factory.mktemp("cluster"), {"w1": env, "w2": env}) as c:
        yield c


@pytest.fixture(scope="module")
def single(store: Settings) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """The week planned in one process: the plan every cluster run must write."""
    planner = build_planner(store)
    planner.plan_week(WEEK, as_of=AS_OF)
    planner.engine.dispose()
    rows, counts = week_plan(store, WEEK)
    assert counts["plan"] > 50
    return rows, counts


def _command(
    args: list[str], env: dict[str, str], cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """A command line run as the operator runs it; a hang fails the test (TimeoutExpired)."""
    return subprocess.run(
        [sys.executable, "-m", *args], env=env, capture_output=True, text=True,
        timeout=RUN_SECONDS, cwd=cwd,
    )  # fmt: skip


# --- training ---------------------------------------------------------------------------------

_NETWORK = re.compile(r"^\[(machines|local_listen_port): .*\]$", re.MULTILINE)


def _trees(model_dir: Path) -> dict[str, str]:
    """Every booster file, without the ports LightGBM's machines listened on for this run."""
    return {p.name: _NETWORK.sub("", p.read_text()) for p in sorted(model_dir.glob("model_*.txt"))}


def test_training_through_the_scheduler_gives_the_local_cluster_model(
    cluster: ExternalCluster, synthetic_bank: Path, tmp_path: Path
) -> None:
    here = train_dask(
        load_spec("synthetic"), synthetic_bank, tmp_path / "local2", address="local:2",
        progress=False, refit=False, seed=0,
    )  # fmt: skip
    there = tmp_path / "ext"
    # as an operator types it, in the export's parent directory: the workers run elsewhere
    done = _command(
        ["training", "train", "--dataset", "synthetic", "--data", synthetic_bank.name,
         "--out", str(there), "--dask", cluster.address, "--no-refit", "--seed", "0", "--quiet"],
        worker_env(), cwd=synthetic_bank.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    trees = _trees(there)
    assert len(trees) >= 5 and trees == _trees(here)
    for name in ("calibration.json", "training_customers.bin"):
        assert (there / name).read_bytes() == (here / name).read_bytes()
    registry = Registry(tmp_path / "registry")
    version = registry.publish(there, note="trained on an existing Dask cluster")
    manifest = registry.manifest(version)
    assert set(manifest["artifacts"]) >= {"model.json", *trees}
    assert all(len(f["sha256"]) == 64 for f in manifest["artifacts"].values())
    registry.load_verified(version, expected_feature_fingerprint=None)  # every hash re-checked


# --- score-book -------------------------------------------------------------------------------


def test_score_book_through_the_scheduler_writes_the_single_process_plan(
    cluster: ExternalCluster, store: Settings, single: tuple[list[Any], dict[str, int]]
) -> None:
    done = _command(
        ["recsvc", "score-book", "--week", WEEK, "--dask", cluster.address],
        worker_env(**_env(store)),
    )
    assert done.returncode == 0, done.stderr
    assert f'"dask": "{cluster.address}"' in done.stdout
    rows, counts = week_plan(store, WEEK)
    assert (rows, counts) == single


def test_workers_of_a_running_cluster_follow_a_configuration_change(
    cluster: ExternalCluster, store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cluster outlives the night: its workers keep their planner between runs, and must
    not keep the configuration it read (a trigger's weight changed between two runs)."""
    for name, value in _env(store).items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "contact_plan.yaml"
    shutil.copy(DEFAULT_CONFIG, config)
    plan_week_on_cluster(store, cluster.address, WEEK, as_of=AS_OF, config_path=config)
    before = week_plan(store, WEEK)
    text = config.read_text(encoding="utf-8")
    changed = re.sub(r"(VALUE_SWING:\n\s+weight: )25", r"\g<1>95", text)
    assert changed != text
    config.write_text(changed, encoding="utf-8")
    planner = build_planner(store, config_path=config)
    planner.plan_week(WEEK, as_of=AS_OF)
    planner.engine.dispose()
    expected = week_plan(store, WEEK)
    assert expected[0] != before[0]  # the change moves priorities
    plan_week_on_cluster(store, cluster.address, WEEK, as_of=AS_OF, config_path=config)
    assert week_plan(store, WEEK) == expected


def test_sqlite_with_a_scheduler_address_is_refused(
    cluster: ExternalCluster, tmp_path: Path
) -> None:
    done = _command(
        ["recsvc", "score-book", "--week", WEEK, "--dask", cluster.address],
        worker_env(DATABASE_URL=f"sqlite:///{tmp_path / 'here.db'}"),
    )
    assert done.returncode == 2
    assert "needs PostgreSQL" in done.stderr


def _killable(marker: Path, after_commit: bool) -> Callable[[PartitionJob], PlanSummary]:
    """plan_partition; the first task to start writes its worker's pid to `marker` and waits
    there to be killed, before planning or after its partition committed."""

    def task(job: PartitionJob) -> PlanSummary:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return plan_partition(job)
        summary = plan_partition(job) if after_commit else None
        marker.write_text(f"{os.getpid()} {job.span.first}")
        time.sleep(RUN_SECONDS)
        return summary or plan_partition(job)

    return task


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
def test_a_worker_killed_mid_task_leaves_the_single_process_plan(
    cluster: ExternalCluster,
    store: Settings,
    single: tuple[list[Any], dict[str, int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    after_commit: bool,
) -> None:
    for name, value in _env(store).items():
        monkeypatch.setenv(name, value)
    pids = cluster.worker_pids()
    marker = tmp_path / "waiting"
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["summary"] = plan_week_on_cluster(
                store, cluster.address, WEEK, as_of=AS_OF, partitions=4,
                task=_killable(marker, after_commit),
            )  # fmt: skip
        except BaseException as exc:  # reported below
            result["error"] = exc

    driver = threading.Thread(target=run)
    driver.start()
    deadline = time.monotonic() + RUN_SECONDS
    while not (marker.exists() and marker.read_text()):
        assert time.monotonic() < deadline and driver.is_alive(), result
        time.sleep(0.05)
    pid = int(marker.read_text().split()[0])
    assert pid in pids.values()  # a worker process of the cluster, not a nanny
    os.kill(pid, signal.SIGKILL)
    driver.join(RUN_SECONDS)
    assert not driver.is_alive() and "error" not in result, result
    summary, partitions = result["summary"]
    assert partitions == 4
    rows, counts = week_plan(store, WEEK)
    assert (rows, counts) == single  # complete, no duplicate, one audit row per entry
    assert summary.entries == len(rows)
    cluster.wait_for_workers(2)  # the nanny started a new worker process
    assert pid not in cluster.worker_pids().values()


# --- workers that cannot serve ------------------------------------------------------------------


@pytest.fixture
def other_release(tmp_path: Path) -> Path:
    """A copy of recsvc with one line changed: a worker with another release installed."""
    root = tmp_path / "other-release"
    shutil.copytree(ROOT / "recsvc", root / "recsvc", ignore=shutil.ignore_patterns("__pycache__"))
    with (root / "recsvc" / "rules" / "__init__.py").open("a") as out:
        out.write("\nRELEASE = 'another'\n")
    return root


def _refused(cluster: ExternalCluster, args: list[str], env: dict[str, str]) -> str:
    done = _command(args, env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "w-bad" in done.stderr  # names the worker
    return done.stderr


def test_a_worker_with_another_release_is_refused(
    store: Settings, synthetic_bank: Path, other_release: Path, tmp_path: Path
) -> None:
    env = worker_env(**_env(store))
    bad = {**env, "PYTHONPATH": os.pathsep.join([str(other_release), env["PYTHONPATH"]])}
    with external_cluster(tmp_path / "cluster", {"w-ok": env, "w-bad": bad}) as cluster:
        book = ["recsvc", "score-book", "--week", REFUSED_WEEK, "--dask", cluster.address]
        assert "recsvc code" in _refused(cluster, book, env)
        train = [
            "training", "train", "--dataset", "synthetic", "--data", str(synthetic_bank),
            "--out", str(tmp_path / "model"), "--dask", cluster.address, "--quiet",
        ]  # fmt: skip
        assert "recsvc code" in _refused(cluster, train, env)
        # the same release installed under the running worker: it still runs what it loaded
        shutil.copy(ROOT / "recsvc" / "rules" / "__init__.py", other_release / "recsvc" / "rules")
        message = _refused(cluster, book, env)
        assert "recsvc code" in message and "restart it" in message
    assert not (tmp_path / "model").exists()
    assert not _refused_week_rows(store)


@pytest.mark.parametrize(
    ("variable", "says"),
    [("RECSVC_REGISTRY_DIR", "registry"), ("DATABASE_URL", "DATABASE_URL")],
)
def test_a_worker_on_another_registry_or_database_is_refused(
    store: Settings, tmp_path: Path, variable: str, says: str
) -> None:
    env = worker_env(**_env(store))
    other = {"RECSVC_REGISTRY_DIR": str(tmp_path / "empty-registry"), "DATABASE_URL": ""}
    bad = worker_env(**{**_env(store), variable: other[variable]})
    with external_cluster(tmp_path / "cluster", {"w-ok": env, "w-bad": bad}) as cluster:
        message = _refused(
            cluster,
            ["recsvc", "score-book", "--week", REFUSED_WEEK, "--dask", cluster.address],
            env,
        )
    assert says in message
    assert "promote during the run" not in message
    assert not _refused_week_rows(store)


def _refused_week_rows(settings: Settings) -> int:
    """Plan rows of REFUSED_WEEK, the week the refused runs ask for: none, no task ran."""
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).where(ContactPlanRow.week == REFUSED_WEEK))
    engine.dispose()
    return int(n or 0)


def test_a_worker_that_does_not_see_the_export_is_named(
    cluster: ExternalCluster, synthetic_bank: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training's check compares the export's manifest.json as each worker sees it at the
    path; a relative path (the workers run in another directory) stands in for a host
    without the shared filesystem."""
    monkeypatch.chdir(synthetic_bank.parent)
    manifest = f"{synthetic_bank.name}/manifest.json"
    with dask_client(cluster.address) as client, pytest.raises(ClusterError) as refused:
        check_workers(client, release, ("recsvc",), (manifest,), command="train --dask")
    message = str(refused.value)
    assert message.count(f"file {manifest} is missing: {manifest}") == 2  # both workers named
    assert "worker w1 (" in message and "worker w2 (" in message


def test_a_scheduler_without_workers_is_refused_not_waited_on(tmp_path: Path) -> None:
    with external_cluster(tmp_path / "cluster", {}) as cluster:
        started = time.monotonic()
        with (
            pytest.raises(ClusterError, match="no worker"),
            dask_client(cluster.address, wait_seconds=3),
        ):
            pass
        assert time.monotonic() - started < 30
