"""The branch simulator against the real service (in-process), its truth and its export."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recsvc.store import load_customers, make_engine
from recsvc.store.tables import AuditLogRow, FeedbackRow
from training.cli import main
from training.experiment_report import (
    experiment_report,
    tables_from_simulation,
    tables_from_store,
)
from training.simulate.client import InProcessClient
from training.simulate.policies import NoPitch, ServicePitch, TruthOracle
from training.simulate.run import (
    Simulation,
    in_process_service,
    product_values,
    run_sharded,
    run_simulation,
)
from training.synth.reader import read_bank
from training.synth.truth import build_truth, read_truth

DAYS = 3


@pytest.fixture(scope="module")
def registry(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from recsvc.models.registry import Registry

    path = tmp_path_factory.mktemp("registry")
    Registry(path).publish(trained_model, note="simulator champion")
    return path


@pytest.fixture(scope="module")
def run_dir(synthetic_bank: Path, registry: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Path:  # fmt: skip
    out = tmp_path_factory.mktemp("sim")
    code = main(["simulate", "--bank", str(synthetic_bank), "--days", str(DAYS), "--seed", "5",
                 "--out", str(out), "--registry", str(registry), "--quiet"])  # fmt: skip
    assert code == 0
    return out


def test_simulate_writes_the_next_snapshot_the_log_and_a_separate_truth(
    run_dir: Path, synthetic_bank: Path
) -> None:
    decisions = pd.read_csv(run_dir / "decisions.csv", dtype=str, keep_default_na=False)
    assert list(decisions.columns) == ["request_id", "customer_id", "day", "date", "arm",
                                       "model_version", "product_id", "outcome"]  # fmt: skip
    assert len(decisions) > 50 and set(decisions["arm"]) == {"champion"}
    assert (decisions["product_id"] != "").mean() > 0.5  # the service says something mostly
    assert set(decisions.loc[decisions["product_id"] != "", "outcome"]) <= {
        "accepted", "declined", "not_interested"}  # fmt: skip
    assert (decisions["outcome"] == "accepted").any()
    assert not (run_dir / "bank" / "truth.parquet").exists()
    assert sorted(p.name for p in (run_dir / "truth").iterdir()) == ["truth.json", "truth.parquet"]
    truth = read_truth(run_dir / "truth")
    assert truth.uplift.max() > 0.1 and (truth.uplift == 0).any()
    frames = read_bank(run_dir / "bank")  # the data contract's reader accepts it
    source = read_bank(synthetic_bank)
    assert frames.snapshot_dates[0] == source.snapshot_dates[-1]
    assert (frames.snapshot_dates[1] - frames.snapshot_dates[0]).days == DAYS
    adoptions = pd.read_csv(run_dir / "adoptions.csv", dtype=str)
    second = frames.holdings[frames.holdings["snapshot_date"] == pd.Timestamp(
        frames.snapshot_dates[1])]  # fmt: skip
    held = set(zip(second["customer_id"], second["product_id"], strict=True))
    assert set(zip(adoptions["customer_id"], adoptions["product_id"], strict=True)) <= held
    accepted = decisions[decisions["outcome"] == "accepted"]
    pitched_adoptions = adoptions[adoptions["how"] == "pitch"]
    assert len(pitched_adoptions) == len(accepted)


def test_the_export_loads_and_the_store_gives_the_same_report_as_the_log(
    run_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "after.db"
    db.write_bytes((run_dir / "service.db").read_bytes())
    engine = make_engine(f"sqlite:///{db}")
    report = load_customers(engine, run_dir / "bank")
    assert report.tables["holdings"].inserted > 0
    decisions = pd.read_csv(run_dir / "decisions.csv", dtype=str, keep_default_na=False)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(FeedbackRow)) == (
            decisions["product_id"] != "").sum()  # fmt: skip
        assert session.scalar(select(func.count()).select_from(AuditLogRow)) == len(decisions)
    engine.dispose()
    from_log = experiment_report(*tables_from_simulation(run_dir))
    from_store = experiment_report(*tables_from_store(f"sqlite:///{db}"))
    assert from_store["arms"] == from_log["arms"]
    assert from_log["arms"]["champion"]["accepted"] == (decisions["outcome"] == "accepted").sum()


def test_same_seed_same_run(run_dir: Path, synthetic_bank: Path, registry: Path,
                            tmp_path: Path) -> None:  # fmt: skip
    main(["simulate", "--bank", str(synthetic_bank), "--days", str(DAYS), "--seed", "5",
          "--out", str(tmp_path), "--registry", str(registry), "--quiet"])  # fmt: skip

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    for name in ("decisions.csv", "adoptions.csv", "expected.csv", "bank/holdings.csv"):
        assert digest(tmp_path / name) == digest(run_dir / name), name


def _arm(customer_id: str) -> str:
    """A stand-in for the service's salted hash: a third each."""
    h = int(hashlib.sha256(f"salt:{customer_id}".encode()).hexdigest(), 16) % 3
    return ("champion", "oracle", "holdout")[h]


def test_arm_hooks_route_customers_and_the_truth_ranks_the_arms(
    synthetic_bank: Path, registry: Path, tmp_path: Path
) -> None:
    truth = build_truth(read_bank(synthetic_bank), seed=9)
    oracle = TruthOracle(truth, product_values())
    calls: list[str] = []

    class Counting(ServicePitch):
        def decide(self, client: Any, visit: Any) -> Any:
            calls.append(visit.customer_id)
            return super().decide(client, visit)

    with in_process_service(synthetic_bank, tmp_path, registry=registry) as service:
        sim = Simulation(
            bank=synthetic_bank, out=tmp_path, days=4, seed=9, arm_of=_arm,
            policies={"champion": Counting(), "oracle": oracle, "holdout": NoPitch()},
            on_day=service.set_day,
        )  # fmt: skip
        result = run_simulation(sim, InProcessClient(service.app, service.key))
    d = result.decisions
    assert set(d["arm"]) == {"champion", "oracle", "holdout"}
    assert all(_arm(c) == a for c, a in zip(d["customer_id"], d["arm"], strict=True))
    assert sorted(calls) == sorted(d.loc[d["arm"] == "champion", "customer_id"])
    assert (d.loc[d["arm"] == "holdout", "product_id"] == "").all()
    assert (d.loc[d["arm"] == "holdout", "request_id"] == "").all()
    true = result.summary["truth"]
    assert true["holdout"]["lift_vs_nothing"] == 0.0
    assert true["oracle"]["lift_vs_nothing"] > true["champion"]["lift_vs_nothing"] > 0
    assert true["champion"]["expected_vs_holdout"] == pytest.approx(
        true["champion"]["adoption_policy"] - true["holdout"]["adoption_nothing"])  # fmt: skip
    report = experiment_report(*tables_from_simulation(tmp_path))
    assert report["arms"]["holdout"]["pitches"] == 0
    assert report["arms"]["oracle"]["vs_holdout"]["n_baseline"] == true["holdout"]["customers"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["truth"] == true


def test_through_http_the_same_run_as_in_process(
    synthetic_bank: Path, registry: Path, loaded_store: Path, tmp_path: Path
) -> None:
    # over HTTP the service keeps its own calendar, so the in-process run does too here
    from dataclasses import replace

    from servertesting import cli, server_environ, serving

    from recsvc.config import Settings

    db = tmp_path / "served.db"
    db.write_bytes(loaded_store.read_bytes())
    settings = replace(Settings(), database_url=f"sqlite:///{db}", registry_dir=registry,
                       rate_limit="1000000 per minute")  # fmt: skip
    env = server_environ(settings, RECSVC_LOG_LEVEL="WARNING")
    key = cli(env, "keys", "create", "--role", "teller", "--staff", "SIMTELLER")
    common = ["simulate", "--bank", str(synthetic_bank), "--days", "2", "--seed", "8", "--quiet"]
    with serving(env, tmp_path, workers=1) as server:
        assert main([*common, "--out", str(tmp_path / "http"), "--url", server.base,
                     "--key", key]) == 0  # fmt: skip
    assert main([*common, "--out", str(tmp_path / "local"), "--registry", str(registry),
                 "--real-clock"]) == 0  # fmt: skip
    columns = ["customer_id", "date", "arm", "product_id", "outcome"]
    over_http = pd.read_csv(tmp_path / "http" / "decisions.csv", dtype=str, keep_default_na=False)
    local = pd.read_csv(tmp_path / "local" / "decisions.csv", dtype=str, keep_default_na=False)
    assert len(local) > 20
    pd.testing.assert_frame_equal(over_http[columns], local[columns])
    assert (over_http["request_id"] != local["request_id"]).all()  # a live store keeps ids
    report_http = experiment_report(*tables_from_simulation(tmp_path / "http"))
    assert report_http["arms"] == experiment_report(*tables_from_simulation(tmp_path / "local"))[
        "arms"]  # fmt: skip
    served = make_engine(settings.database_url)
    with Session(served) as session:
        assert session.scalar(select(func.count()).select_from(AuditLogRow)) == len(over_http)
    served.dispose()


def test_forked_workers_share_the_customers_and_the_store(
    run_dir: Path, synthetic_bank: Path, registry: Path, tmp_path: Path
) -> None:
    args = ["simulate", "--bank", str(synthetic_bank), "--days", str(DAYS), "--seed", "5",
            "--registry", str(registry), "--quiet", "--workers", "2"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    a = pd.read_csv(tmp_path / "a" / "decisions.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(tmp_path / "b" / "decisions.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(a, b)  # same seed and workers, same run
    one = pd.read_csv(run_dir / "decisions.csv", dtype=str, keep_default_na=False)
    assert abs(len(a) - len(one)) < 0.3 * len(one)  # the same kind of day, other draws
    rows = a["customer_id"].str.slice(1).astype(int) - 1
    assert set(rows % 2) == {0, 1}  # both shards served customers
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'service.db'}")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditLogRow)) == len(a)
        assert session.scalar(select(func.count()).select_from(FeedbackRow)) == (
            a["product_id"] != "").sum()  # fmt: skip
    engine.dispose()
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["workers"] == 2
    read_bank(tmp_path / "a" / "bank")


def test_through_http_the_same_arms_as_in_process(
    synthetic_bank: Path, trained_model: Path, loaded_store: Path, tmp_path: Path
) -> None:
    # the split set over HTTP (PUT /v1/experiment) on a running service; the in-process run
    # gets the same design (split and salt, read back with GET) in its own store
    from dataclasses import replace

    from servertesting import cli, request, server_environ, serving

    from recsvc.config import Settings
    from recsvc.models.registry import Registry

    registry = Registry(tmp_path / "registry")
    champion = registry.publish(trained_model, note="champion")
    challenger = registry.publish(trained_model, note="challenger", alias="challenger")
    db = tmp_path / "served.db"
    db.write_bytes(loaded_store.read_bytes())
    settings = replace(Settings(), database_url=f"sqlite:///{db}", registry_dir=registry.root,
                       rate_limit="1000000 per minute")  # fmt: skip
    env = server_environ(settings, RECSVC_LOG_LEVEL="WARNING")
    key = cli(env, "keys", "create", "--role", "teller", "--staff", "SIMTELLER")
    scientist = {"Authorization": "Bearer " + cli(env, "keys", "create", "--role",
                                                  "data_scientist", "--staff", "DS01")}  # fmt: skip
    split = {"champion": 40, "challenger": 20, "rules": 20, "holdout": 20}
    common = ["simulate", "--bank", str(synthetic_bank), "--days", "2", "--seed", "8", "--quiet"]
    with serving(env, tmp_path, workers=1) as server:
        status, text = request(server.base, "PUT", "/v1/experiment", body={"split": split},
                               headers=scientist)  # fmt: skip
        assert status == 200, text
        status, text = request(server.base, "GET", "/v1/experiment", headers=scientist)
        experiment = json.loads(text)
        assert status == 200 and experiment["split"] == split
        time.sleep(1.2)  # the worker's cached design expires (it may have read it at start)
        assert main([*common, "--out", str(tmp_path / "http"), "--url", server.base,
                     "--key", key]) == 0  # fmt: skip
    with in_process_service(synthetic_bank, tmp_path / "local", registry=registry.root,
                            split=split, salt=experiment["salt"]) as service:  # fmt: skip
        sim = Simulation(bank=synthetic_bank, out=tmp_path / "local", days=2, seed=8,
                         arm_of=service.experiment.arm_of)  # fmt: skip
        run_sharded(sim, service, real_clock=True)
    columns = ["customer_id", "date", "arm", "model_version", "product_id", "outcome"]
    over_http = pd.read_csv(tmp_path / "http" / "decisions.csv", dtype=str, keep_default_na=False)
    local = pd.read_csv(tmp_path / "local" / "decisions.csv", dtype=str, keep_default_na=False)
    assert set(over_http["arm"]) == set(split)  # the answers name each arm
    pd.testing.assert_frame_equal(over_http[columns], local[columns])
    by_arm = over_http.groupby("arm")["model_version"].agg(lambda s: set(s) - {""})
    assert by_arm["champion"] == {champion} and by_arm["challenger"] == {challenger}
    assert by_arm["rules"] == set() and by_arm["holdout"] == set()
    report_http = experiment_report(*tables_from_simulation(tmp_path / "http"))
    report_local = experiment_report(*tables_from_simulation(tmp_path / "local"))
    assert set(report_http["arms"]) == set(split)
    assert report_http["arms"] == report_local["arms"]
    # the served store's audit log gives the same decisions, per arm, under the experiment's id
    decisions, _ = tables_from_store(settings.database_url)
    assert set(decisions["experiment"]) == {experiment["experiment_id"]}
    stored = decisions.groupby("arm")["customer_id"].count().to_dict()
    assert stored == over_http.groupby("arm")["customer_id"].count().to_dict()
