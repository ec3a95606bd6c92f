"""score-book on Dask (recsvc.service.plan_dask): partitions by manager range, each written in its
own transaction on PostgreSQL; a worker killed right after its partition committed (before Dask
heard back) makes Dask run that partition again, and the run still ends with the plan the
single-process path writes: the same entries, no duplicate, every audit row there once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from pgtesting import postgres_database
from plantesting import week_plan

from recsvc.config import Settings
from recsvc.models.registry import Registry
from recsvc.service.contact_plan import build_planner
from recsvc.service.plan_dask import (
    PartitionJob,
    PlanClusterError,
    plan_partition,
    plan_week_on_cluster,
    public_url,
    spans,
)
from recsvc.service.plan_rows import PlanSummary
from recsvc.store import load_customers, make_engine, upgrade
from recsvc.store.contact_plan import ManagerSpan

WEEK = "2026-W40"  # the synthetic pitch history ends on 29 Sep: declines are in force
AS_OF = dt.date(2026, 9, 30)

# the tasks below are defined here: ship them to the workers by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture
def pg_settings(
    synthetic_bank: Path, trained_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The synthetic bank in a private PostgreSQL database with a champion; the workers of a
    LocalCluster started in the test inherit DATABASE_URL and RECSVC_REGISTRY_DIR."""
    with postgres_database("score-book --dask") as url:
        engine = make_engine(url)
        upgrade(engine)
        load_customers(engine, synthetic_bank, progress=False)
        engine.dispose()
        Registry(tmp_path / "registry").publish(trained_model, note="test champion")
        settings = dataclasses.replace(
            Settings(), database_url=url, registry_dir=tmp_path / "registry"
        )
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("RECSVC_REGISTRY_DIR", str(settings.registry_dir))
        yield settings


def _killing(marker: Path, log: Path) -> Callable[[PartitionJob], PlanSummary]:
    """plan_partition, except that the first partition to commit kills its worker process
    before returning (the commit is in the store, Dask never hears of it)."""

    def task(job: PartitionJob) -> PlanSummary:
        summary = plan_partition(job)
        with log.open("a") as out:
            out.write(f"{job.span.first}\n")
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return summary
        marker.write_text(str(job.span.first))
        os._exit(1)

    return task


@pytest.mark.postgres
def test_a_worker_killed_after_its_commit_leaves_the_single_process_plan(
    pg_settings: Settings, tmp_path: Path
) -> None:
    planner = build_planner(pg_settings)
    planner.plan_week(WEEK, as_of=AS_OF)
    planner.engine.dispose()
    single, single_counts = week_plan(pg_settings, WEEK)
    assert single_counts["plan"] > 50

    marker, log = tmp_path / "killed", tmp_path / "ran"
    summary, partitions = plan_week_on_cluster(
        pg_settings, "local:2", WEEK, as_of=AS_OF, partitions=4, task=_killing(marker, log)
    )
    ran = log.read_text().splitlines()
    killed = marker.read_text()
    assert partitions == 4 and len(set(ran)) == 4
    assert ran.count(killed) == 2  # committed, killed, run again by Dask
    rows, counts = week_plan(pg_settings, WEEK)
    assert rows == single  # the same entries, ranks, priorities, texts, customers
    assert counts == single_counts  # no duplicate; one audit row per entry
    assert summary.entries == len(rows)


def test_spans_cover_every_manager_once_with_balanced_books() -> None:
    sizes = [(f"M{i:02d}", 10) for i in range(8)]
    parts = spans(sizes, 3)
    assert parts[0].first is None and parts[-1].before is None
    assert [(p.first, p.before) for p in parts] == [(None, "M03"), ("M03", "M06"), ("M06", None)]
    assert spans([], 4) == [ManagerSpan()]
    assert len(spans(sizes, 20)) == 8


def test_a_scheduler_address_with_sqlite_is_refused(tmp_path: Path) -> None:
    settings = dataclasses.replace(Settings(), database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(PlanClusterError, match="needs PostgreSQL"):
        plan_week_on_cluster(settings, "tcp://127.0.0.1:1", WEEK, as_of=AS_OF)


def _job(settings: Settings, **overrides: Any) -> PartitionJob:
    values: dict[str, Any] = {
        "database": public_url(settings.database_url), "week": WEEK, "as_of": AS_OF,
        "run_id": "r1", "span": ManagerSpan(), "experiment": None, "chunk_size": 100,
        "models": (None, None),
    }  # fmt: skip
    return PartitionJob(**{**values, **overrides})


def test_a_partition_refuses_other_models_or_another_database(
    store_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A promote during the run would plan some managers with another model; a worker whose
    DATABASE_URL differs from the driver's would write elsewhere. Both refuse."""
    monkeypatch.setenv("DATABASE_URL", store_settings.database_url)
    monkeypatch.setenv("RECSVC_REGISTRY_DIR", str(store_settings.registry_dir))
    assert plan_partition(_job(store_settings)).entries == 0  # an empty book, no model: fine
    with pytest.raises(PlanClusterError, match="promote during the run"):
        plan_partition(_job(store_settings, models=("20261201T000000Z-abcdef12", None)))
    with pytest.raises(PlanClusterError, match="DATABASE_URL"):
        plan_partition(_job(store_settings, database=f"sqlite:///{tmp_path / 'other.db'}"))
