"""`python -m training simulate`: days at the counter, driven through the real service.

Each simulated day (day 0 is the day after the bank's last snapshot): customers come to the
counter with probability `1 - exp(-counter_visits_90d / 90)`, each with a transaction drawn
from their own history (a counter one if they have any); the arm's policy asks the service
(training.simulate.policies) and the teller puts its product to the customer; the customer
answers from the hidden truth (training.simulate.world) and the answer is posted to
/v1/feedback. Organic adoptions happen on their own days. At the end: the next snapshot as a
bank export, the decision log, the adoptions, the truth and what it expects of each arm.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from training.simulate.client import InProcessClient, ServiceClient
from training.simulate.expected import expected_outcomes, true_lifts
from training.simulate.export import write_next_export
from training.simulate.policies import ArmPolicy, Decision, ServicePitch, Visit
from training.simulate.world import NEVER, World, adoption_days
from training.synth.reader import BankFrames, read_bank
from training.synth.truth import Truth, build_truth, write_truth
from training.synth.world import load_world

DEFAULT_ARM = "champion"
TELLER_STAFF = "SIMTELLER"
SIM_SCIENTIST = "SIMDS"


def parse_split(text: str) -> dict[str, int]:
    """`champion=80,challenger=10,rules=5,holdout=5` -> {arm: percent} (checked by the service)."""
    split: dict[str, int] = {}
    for part in text.split(","):
        arm, _, share = part.partition("=")
        if not share.strip().isdigit():
            raise ValueError(f"--split: {part!r} is not arm=percent")
        split[arm.strip()] = int(share)
    return split


def everyone_champion(customer_id: str) -> str:
    """Today's assignment: the service has no arms yet, every customer is in the champion."""
    return DEFAULT_ARM


@dataclass
class Simulation:
    """What to run: the bank, the days, the arms (assignment and each arm's behaviour)."""

    bank: Path
    out: Path
    days: int
    seed: int
    window_days: int = 30
    arm_of: Callable[[str], str] = everyone_champion
    policies: dict[str, ArmPolicy] = field(default_factory=dict)  # arm -> policy; default
    default_policy: ArmPolicy = field(default_factory=ServicePitch)  # for arms not listed
    on_day: Callable[[dt.date], None] | None = None  # e.g. set the in-process service's clock
    request_tag: str = ""  # prefix of request ids (default "sim<seed>")
    progress: bool = False


@dataclass
class SimulationResult:
    decisions: pd.DataFrame
    adoptions: pd.DataFrame
    expected: pd.DataFrame
    summary: dict[str, Any]
    truth: Truth


def product_values() -> dict[str, float]:
    """The catalogue's value of one sale per product (yuan)."""
    from recsvc.catalog import load_catalogue
    from recsvc.config import Settings

    return {
        p.product_id: float(p.value) for p in load_catalogue(Settings().catalogue_path).products
    }


class _Transactions:
    """Each customer's past transactions to draw a counter visit's transaction from."""

    def __init__(self, frames: BankFrames) -> None:
        tx = frames.transactions
        ids = frames.customers["customer_id"].to_numpy(dtype=str)
        who = np.searchsorted(ids, tx["customer_id"].to_numpy(dtype=str))
        counter = (tx["channel"] == "counter").to_numpy()
        # counter transactions first per customer; pick among counter ones when there are any
        order = np.lexsort((~counter, who))
        self.who, self.counter = who[order], counter[order]
        self.type = tx["type"].to_numpy(dtype=str)[order]
        self.amount = tx["amount"].to_numpy()[order]
        self.lo = np.searchsorted(self.who, np.arange(len(ids)), "left")
        self.hi = np.searchsorted(self.who, np.arange(len(ids)), "right")
        n_counter = np.zeros(len(ids), dtype=np.int64)
        np.add.at(n_counter, self.who[self.counter], 1)
        self.n_counter = n_counter

    def draw(self, rng: np.random.Generator, c: int) -> dict[str, Any] | None:
        lo, hi = self.lo[c], self.hi[c]
        if hi == lo:
            return None
        span = self.n_counter[c] or (hi - lo)
        k = lo + int(rng.integers(span))
        return {"type": str(self.type[k]), "amount": round(float(self.amount[k]), 2),
                "channel": "counter"}  # fmt: skip


def _teller(branch_id: str) -> str:
    return f"T{int(branch_id[2:]) * 100 + 1:07d}"


@dataclass
class _Setting:
    """What every shard of a run shares (read once)."""

    frames: BankFrames
    truth: Truth
    history: _Transactions
    branches: np.ndarray
    rates: np.ndarray
    tag: str


@dataclass
class _Shard:
    """One shard's days: its customers (global rows), log rows and latent outcomes."""

    rows: np.ndarray
    decisions: list[tuple[Any, ...]]
    transactions: list[tuple[str, str, str, float, str]]
    pitches: list[tuple[str, str, str, str, str, str]]
    organic: np.ndarray
    accepted_day: np.ndarray
    accepted_request: dict[tuple[int, int], str]  # (global row, product column) -> request id
    seconds: float
    cpu_seconds: float


def _prepare(sim: Simulation) -> _Setting:
    frames = read_bank(sim.bank)
    truth = build_truth(frames, seed=sim.seed, world=load_world())
    sim.out.mkdir(parents=True, exist_ok=True)
    write_truth(truth, sim.out / "truth")
    return _Setting(
        frames=frames, truth=truth, history=_Transactions(frames),
        branches=frames.customers["branch_id"].to_numpy(dtype=str),
        rates=frames.customers["counter_visits_90d"].to_numpy(dtype=np.float64) / 90.0,
        tag=sim.request_tag or f"sim{sim.seed}",
    )  # fmt: skip


def _shard_rng(seed: int, shard: int, shards: int) -> np.random.Generator:
    key = (12,) if shards == 1 else (12, shard, shards)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _run_days(
    sim: Simulation, client: ServiceClient, setting: _Setting, rows: np.ndarray,
    rng: np.random.Generator, on_day: Callable[[dt.date], None] | None, progress: bool,
) -> _Shard:  # fmt: skip
    """The counter, day after day, for the customers `rows` (global rows of the bank)."""
    truth = setting.truth if len(rows) == len(setting.truth) else setting.truth.subset(rows)
    world = World(truth, rng=rng, window_days=sim.window_days)
    ids, rates = setting.truth.customer_ids, setting.rates[rows]
    log: list[tuple[Any, ...]] = []
    sim_tx: list[tuple[str, str, str, float, str]] = []
    sim_pitches: list[tuple[str, str, str, str, str, str]] = []
    started, cpu = time.perf_counter(), time.process_time()
    bar = tqdm(range(sim.days), desc="simulate", unit="day", file=sys.stderr,
               disable=not progress)  # fmt: skip
    for day in bar:
        date = truth.start + dt.timedelta(days=day + 1)
        if on_day is not None:
            on_day(date)
        for local in world.visits(rates):
            c = int(rows[local])
            cid = str(ids[c])
            arm = sim.arm_of(cid)
            txn = setting.history.draw(rng, c)
            visit = Visit(day, date, c, cid, txn, f"{setting.tag}-{day:03d}-{cid}", arm)
            decision: Decision = sim.policies.get(arm, sim.default_policy).decide(client, visit)
            outcome = ""
            if txn is not None:
                sim_tx.append((cid, date.isoformat(), txn["type"], txn["amount"], "counter"))
            if decision.product_id is not None:
                answer = world.answer(int(local), decision.product_id, day,
                                      decision.request_id or "")  # fmt: skip
                outcome = answer.outcome
                teller = _teller(setting.branches[c])
                if decision.request_id is not None:
                    # recorded under the key's own staff id (another one in the body is 403)
                    client.post("/v1/feedback", {
                        "request_id": decision.request_id, "product_id": decision.product_id,
                        "outcome": outcome,
                    })  # fmt: skip
                sim_pitches.append((cid, decision.product_id, date.isoformat(), "teller",
                                    outcome, teller))  # fmt: skip
            log.append((decision.request_id or "", cid, c, day, date.isoformat(),
                        decision.arm or arm, decision.model_version or "",
                        decision.product_id or "", outcome))  # fmt: skip
    return _Shard(
        rows=rows, decisions=log, transactions=sim_tx, pitches=sim_pitches,
        organic=world.organic, accepted_day=world.accepted_day,
        accepted_request={(int(rows[c]), j): r for (c, j), r in world.accepted_request.items()},
        seconds=time.perf_counter() - started, cpu_seconds=time.process_time() - cpu,
    )  # fmt: skip


def run_simulation(sim: Simulation, client: ServiceClient) -> SimulationResult:
    """Run the days against `client` (one stream of visits), then write everything."""
    setting = _prepare(sim)
    rows = np.arange(len(setting.truth))
    shard = _run_days(sim, client, setting, rows, _shard_rng(sim.seed, 0, 1), sim.on_day,
                      sim.progress)  # fmt: skip
    return _finish(sim, setting, [shard])


def run_sharded(
    sim: Simulation, service: InProcessService, *, workers: int = 1, real_clock: bool = False
) -> SimulationResult:
    """In-process. With workers > 1, forked processes each build their own app on the shared
    store and serve their own customers (row % workers): a customer's service state (declines,
    daily cap) is theirs alone, so shards do not interact. Deterministic for a worker count;
    workers=1 is run_simulation on service.app. The service's clock follows the simulated days
    unless real_clock."""
    import multiprocessing

    if workers <= 1:
        if not real_clock:
            sim.on_day = service.set_day
        return run_simulation(sim, InProcessClient(service.app, service.key))
    if service.built is not None:
        raise ValueError("fork the workers before the parent builds an app")
    setting = _prepare(sim)
    ctx = multiprocessing.get_context("fork")
    queues, procs = [], []
    for k in range(workers):
        queue = ctx.SimpleQueue()
        args = (sim, service, setting, k, workers, real_clock, queue)
        proc = ctx.Process(target=_shard_main, args=args)
        proc.start()
        queues.append(queue)
        procs.append(proc)
    results = [q.get() for q in queues]
    for proc in procs:
        proc.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return _finish(sim, setting, results)


def _shard_main(sim: Simulation, service: InProcessService, setting: _Setting, k: int,
                workers: int, real_clock: bool, queue: Any) -> None:  # fmt: skip
    """A forked worker: its own app (built after the fork), its rows, its result queued."""
    try:
        rows = np.arange(k, len(setting.truth), workers)
        client = InProcessClient(service.app, service.key)
        shard = _run_days(sim, client, setting, rows, _shard_rng(sim.seed, k, workers),
                          None if real_clock else service.set_day,
                          sim.progress and k == 0)  # fmt: skip
        service.close()
        queue.put(shard)
    except BaseException as exc:  # the parent re-raises it
        queue.put(RuntimeError(f"shard {k}: {type(exc).__name__}: {exc}"))


def _finish(sim: Simulation, setting: _Setting, shards: list[_Shard]) -> SimulationResult:
    """Merge the shards (their visits by day, then shard) and write every output."""
    frames, truth = setting.frames, setting.truth
    organic = np.full(truth.base_daily.shape, NEVER, dtype=np.int64)
    accepted_day = organic.copy()
    accepted_request: dict[tuple[int, int], str] = {}
    for shard in shards:
        organic[shard.rows] = shard.organic
        accepted_day[shard.rows] = shard.accepted_day
        accepted_request.update(shard.accepted_request)
    decisions = pd.DataFrame(
        [row for shard in shards for row in shard.decisions],
        columns=["request_id", "customer_id", "customer", "day", "date", "arm",
                 "model_version", "product_id", "outcome"],
    ).sort_values("day", kind="stable").reset_index(drop=True)  # fmt: skip
    sim_tx = [row for shard in shards for row in shard.transactions]
    sim_pitches = [row for shard in shards for row in shard.pitches]
    seconds = max(shard.seconds for shard in shards)
    values = product_values()
    value_vec = np.array([values.get(p, 0.0) for p in truth.product_ids])
    opened = adoption_days(organic, accepted_day, sim.days)
    who, col = np.nonzero(opened < NEVER)
    day = opened[who, col]
    by_pitch = accepted_day[who, col] == day
    adoptions = pd.DataFrame({
        "customer_id": truth.customer_ids[who], "customer": who, "product": col,
        "product_id": np.asarray(truth.product_ids, dtype=object)[col],
        "day": day, "date": [(truth.start + dt.timedelta(days=int(d) + 1)).isoformat()
                             for d in day],
        "how": np.where(by_pitch, "pitch", "organic"),
        "request_id": [accepted_request.get((int(c), int(j)), "") if p else ""
                       for c, j, p in zip(who, col, by_pitch, strict=True)],
        "value": value_vec[col],
    })  # fmt: skip
    column = {p: j for j, p in enumerate(truth.product_ids)}
    pcol = decisions["product_id"].map(lambda p: column.get(p, -1) if p else -1)
    expected = expected_outcomes(
        truth,
        pd.DataFrame({"customer": decisions["customer"], "day": decisions["day"],
                      "arm": decisions["arm"], "product": pcol.astype(np.int64)}),
        days=sim.days, window_days=sim.window_days, values=value_vec,
    )  # fmt: skip
    expected.insert(0, "customer_id", truth.customer_ids[expected["customer"].to_numpy()])
    snapshot = truth.start + dt.timedelta(days=sim.days)
    tx = pd.DataFrame(sim_tx, columns=["customer_id", "date", "type", "amount", "channel"])
    pitches = pd.DataFrame(sim_pitches, columns=["customer_id", "product_id", "date", "channel",
                                                 "outcome", "staff_id"])  # fmt: skip
    write_next_export(
        sim.bank, sim.out / "bank", frames, load_world(), snapshot=snapshot,
        adopted=pd.DataFrame({"customer": who, "product": col, "date": adoptions["date"]}),
        transactions=tx, pitches=pitches, seed=sim.seed,
    )  # fmt: skip
    decisions.drop(columns="customer").to_csv(sim.out / "decisions.csv", index=False)
    adoptions.drop(columns=["customer", "product"]).to_csv(sim.out / "adoptions.csv", index=False)
    expected.drop(columns="customer").to_csv(sim.out / "expected.csv", index=False)
    summary = {
        "bank": str(sim.bank), "days": sim.days, "seed": sim.seed, "window_days": sim.window_days,
        "start": (truth.start + dt.timedelta(days=1)).isoformat(), "snapshot": snapshot.isoformat(),
        "customers": len(truth), "visits": len(decisions),
        "pitches": int((decisions["product_id"] != "").sum()),
        "accepted": int((decisions["outcome"] == "accepted").sum()),
        "adoptions": {"pitch": int(by_pitch.sum()), "organic": int((~by_pitch).sum())},
        "seconds": round(seconds, 2), "workers": len(shards),
        "cpu_seconds": round(sum(shard.cpu_seconds for shard in shards), 2),
        "truth": true_lifts(expected),
    }  # fmt: skip
    (sim.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return SimulationResult(decisions, adoptions, expected, summary, truth)


@dataclass
class InProcessService:
    """A store loaded from the bank, a teller key, and the Flask app on them (built on first
    use, so a parent can fork workers that build their own)."""

    settings: Any
    key: str
    built: Any = None
    experiment: Any = None  # the recsvc Experiment set in the store (None: everyone champion)

    @property
    def app(self) -> Any:
        if self.built is None:
            self.built = self.make_app()
        return self.built

    def make_app(self) -> Any:
        from recsvc import create_app

        return create_app({"SETTINGS": self.settings})

    def set_day(self, day: dt.date) -> None:
        """The service's calendar follows the simulation (its clock is an attribute)."""
        from recsvc.api.extensions import extensions

        service = extensions(self.app).service
        moment = dt.datetime.combine(day, dt.time(10, 0), tzinfo=service.service_config.timezone)
        service.clock = lambda: moment

    def close(self) -> None:
        if self.built is not None:
            from recsvc.api.extensions import extensions

            extensions(self.built).engine.dispose()


@contextmanager
def in_process_service(
    bank: Path, workdir: Path, *, registry: Path | None = None,
    split: dict[str, int] | None = None, salt: str | None = None,
) -> Iterator[InProcessService]:  # fmt: skip
    """Load the bank into workdir/service.db, create a teller key; the app is built on it on
    first use (champion and challenger from registry, default: RECSVC_REGISTRY_DIR or
    model_registry/). With `split`, an experiment is set in the store first, as a data
    scientist's PUT /v1/experiment would (the service then serves each customer's arm); with
    `salt`, the assignment is that salt's (the same run for the same seed)."""
    from sqlalchemy.orm import Session

    from recsvc.config import Settings
    from recsvc.security import create_key
    from recsvc.store import load_customers, make_engine, upgrade

    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "service.db"
    db.unlink(missing_ok=True)
    base = Settings.from_env()
    settings = replace(
        base,
        database_url=f"sqlite:///{db}",
        registry_dir=registry or base.registry_dir,
        rate_limit="1000000000 per minute",
        log_level="WARNING",
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    load_customers(engine, bank)
    with Session(engine) as session:
        key = create_key(session, role="teller", staff_id=TELLER_STAFF)
        session.commit()
    experiment = None
    if split is not None:
        from recsvc.service.answers import Caller
        from recsvc.service.experiments import ExperimentSource

        experiment = ExperimentSource(engine).set_split(
            split,
            caller=Caller("data_scientist", SIM_SCIENTIST),
            request_id=f"sim-split-{os.getpid()}",
            salt=salt,
        )
    engine.dispose()
    service = InProcessService(settings, key, experiment=experiment)
    try:
        yield service
    finally:
        service.close()
