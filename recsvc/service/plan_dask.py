"""The nightly contact plan on a Dask cluster (`python -m recsvc score-book --dask ADDRESS`).

The books are cut into partitions at client-manager ids (ManagerSpan): the per-manager cap
makes a manager's book the natural unit, and a customer without a manager is in no book. The
driver fixes the run id, the experiment and the models (the registry's champion and challenger
versions) before submitting; each task plans its managers as
the single-process plan does and writes their rows and audit rows in one transaction
(replace_managers: delete the span's rows of the week, upsert on the keys). A task run twice
(a worker killed after it committed, Dask rescheduling it) writes the same request ids over
the same rows, so the finished run is one complete plan with no duplicate.

Workers read their settings (DATABASE_URL, RECSVC_REGISTRY_DIR) from their own environment, so
no credential travels in the task graph; the driver sends the database URL without its
password and a worker on another database refuses. SQLite runs on `local[:N]` only (one file on
this host; its writes take turns on the file lock); a scheduler address needs PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from recsvc.cluster import check_workers, dask_client, file_digest, parse_address, release
from recsvc.config import Settings
from recsvc.models.registry import Registry
from recsvc.service.contact_plan import (
    DEFAULT_CONFIG,
    ContactPlanner,
    build_planner,
    current_experiment,
)
from recsvc.service.experiment import Experiment
from recsvc.service.plan_rows import PlanSummary
from recsvc.store.contact_plan import ManagerSpan, book_sizes, count_customers
from recsvc.store.engine import make_engine, normalise_url

PARTITIONS_PER_WORKER = 4
TASK_RETRIES = 2  # on an exception in the task (a dropped connection); a dead worker is Dask's


class PlanClusterError(ValueError):
    """score-book --dask cannot run as asked; the message says why."""


@dataclass(frozen=True)
class PartitionJob:
    """Everything a task needs, fixed by the driver; no secret in it."""

    database: str  # the URL without its password: the worker's own must match
    week: str
    as_of: dt.date
    run_id: str
    span: ManagerSpan
    experiment: Experiment | None
    chunk_size: int
    config_path: Path = DEFAULT_CONFIG
    # (champion, challenger) versions the registry named when the run started; None: unread
    models: tuple[str | None, str | None] | None = None


def public_url(database_url: str) -> str:
    return make_url(normalise_url(database_url)).render_as_string(hide_password=True)


def spans(sizes: list[tuple[str, int]], partitions: int) -> list[ManagerSpan]:
    """At most `partitions` spans covering every manager id, each about as many customers:
    cut before the manager at which the running count passes the next share."""
    total = sum(n for _, n in sizes)
    cuts: list[str] = []
    seen = 0
    for manager_id, n in sizes:
        share = total * (len(cuts) + 1) / max(partitions, 1)
        if seen >= share and len(cuts) < partitions - 1:
            cuts.append(manager_id)
        seen += n
    bounds: list[str | None] = [None, *cuts, None]
    return [ManagerSpan(a, b) for a, b in pairwise(bounds)]


_PLANNERS: dict[tuple[str, ...], ContactPlanner] = {}


def plan_partition(job: PartitionJob) -> PlanSummary:
    """A Dask task: plan and write one span (the worker keeps its planner between tasks)."""
    settings = Settings.from_env()
    if public_url(settings.database_url) != job.database:
        raise PlanClusterError(
            f"this worker's DATABASE_URL is {public_url(settings.database_url)},"
            f" the driver's is {job.database}"
        )
    # the configuration's contents too: a worker of a running cluster outlives an edit of it
    configs = tuple(file_digest(path) for path in _configs(settings, job.config_path).values())
    key = (settings.database_url, str(job.config_path), *configs)
    planner = _PLANNERS.get(key)
    if planner is None or (job.models is not None and _served(planner) != job.models):
        # a new worker, or one whose runtime has not yet seen the run's models: load afresh
        planner = _PLANNERS[key] = build_planner(settings, config_path=job.config_path)
    if job.models is not None and _served(planner) != job.models:
        raise PlanClusterError(
            f"this worker serves (champion, challenger) {_served(planner)}, the run started"
            f" with {job.models}: a promote during the run? plan the week again"
        )
    return planner.plan_span(
        job.week, as_of=job.as_of, run_id=job.run_id, span=job.span,
        experiment=job.experiment, chunk_size=job.chunk_size,
    )  # fmt: skip


def _served(planner: ContactPlanner) -> tuple[str | None, str | None]:
    champion, challenger = planner.runtime.current(), planner.challenger.current()
    return (champion.version if champion else None, challenger.version if challenger else None)


def _registered(settings: Settings) -> tuple[str | None, str | None] | None:
    """The versions the registry's aliases name now (every partition must plan with these, as
    one process plans with the models it loaded once); None if the registry cannot be read."""
    try:
        state = Registry(settings.registry_dir).alias_state()
    except Exception:  # the planner then serves what it can, as the single process does
        return None
    return state.champion, state.challenger


def worker_state(config_path: str) -> dict[str, str]:
    """What a partition's outcome depends on besides its job, as this process sees it: the
    release (code, libraries), the store, the registry's models, the configuration files'
    contents. The driver runs it on every worker (check_workers) before any task: a worker
    that differs is named and nothing is written."""
    settings = Settings.from_env()
    models = _registered(settings)
    state = release(("recsvc",))
    state["DATABASE_URL"] = public_url(settings.database_url)
    state["registry (RECSVC_REGISTRY_DIR)"] = (
        f"unreadable at {settings.registry_dir}"
        if models is None
        else f"champion {models[0]}, challenger {models[1]} in {settings.registry_dir}"
    )
    configs = _configs(settings, config_path)
    state.update({name: file_digest(path) for name, path in configs.items()})
    return state


def _configs(settings: Settings, config_path: str | Path) -> dict[str, str | Path]:
    """The configuration files a planner reads (at its start: a change needs a new one)."""
    return {
        "catalogue": settings.catalogue_path, "bank config": settings.bank_config_path,
        "rules config": settings.rules_config_path,
        "service config": settings.service_config_path,
        "pitch config": settings.pitch_config_path,
        "reasons config": settings.reasons_config_path, "contact plan config": config_path,
    }  # fmt: skip


def plan_week_on_cluster(
    settings: Settings,
    address: str,
    week: str,
    *,
    as_of: dt.date,
    chunk_size: int = 2000,
    partitions: int | None = None,
    config_path: Path = DEFAULT_CONFIG,
    task: Callable[[PartitionJob], PlanSummary] = plan_partition,
) -> tuple[PlanSummary, int]:
    """Plan the week on the cluster at ADDRESS; (the run's summary, partitions used)."""
    backend = make_url(normalise_url(settings.database_url)).get_backend_name()
    if backend == "sqlite" and not parse_address(address).local:
        raise PlanClusterError(
            "score-book --dask with a scheduler address needs PostgreSQL: workers on other hosts"
            " cannot share this host's SQLite file (use local[:N], or no --dask)"
        )
    engine = make_engine(settings.database_url)
    try:
        sizes = book_sizes(engine)
        experiment = current_experiment(engine)
        customers = count_customers(engine)
    finally:
        engine.dispose()
    summary = PlanSummary(week, as_of, uuid.uuid4().hex[:8], customers=customers)
    models = _registered(settings)
    with dask_client(address) as client:
        c: Any = client
        workers = check_workers(c, worker_state, str(config_path), command="score-book --dask")
        parts = spans(sizes, partitions or PARTITIONS_PER_WORKER * workers)
        jobs = [
            PartitionJob(public_url(settings.database_url), week, as_of, summary.run_id, span,
                         experiment, chunk_size, config_path, models)
            for span in parts
        ]  # fmt: skip
        futures = [
            c.submit(task, job, key=f"score-book-{week}-{summary.run_id}-{k}", pure=False,
                     retries=TASK_RETRIES)
            for k, job in enumerate(jobs)
        ]  # fmt: skip
        done: list[PlanSummary] = c.gather(futures)
    for part in done:
        summary.candidates += part.candidates
        summary.entries += part.entries
        summary.reassign += part.reassign
        summary.per_manager.update(part.per_manager)
    return summary, len(parts)


__all__ = [
    "PartitionJob",
    "PlanClusterError",
    "plan_partition",
    "plan_week_on_cluster",
    "spans",
]
