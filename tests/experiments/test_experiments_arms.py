"""The service's experiment arms (issue 12): the split set through PUT /v1/experiment, each
answer, audit row and pitch-log row naming its experiment, arm and model; holdout says nothing;
rules uses no model; an arm without a usable model is served as rules and says so; suitability
is the same in every arm."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from recsvc.api.extensions import extensions
from recsvc.service.answers import Caller, RecommendRequest
from recsvc.service.config import FAMILY_LIMIT
from recsvc.service.experiment import ARMS, Experiment
from recsvc.service.experiments import ExperimentSource
from recsvc.service.recommend import CrossSellService
from recsvc.store.tables import AuditLogRow, PitchLogRow

PROBLEM = "application/problem+json"
ONLY = {arm: {a: 100 if a == arm else 0 for a in ARMS} for arm in ARMS}


def customer_rows(bank: Any, n: int) -> list[dict[str, str]]:
    with (bank / "customers.csv").open(encoding="utf-8", newline="") as handle:
        return [row for _, row in zip(range(n), csv.DictReader(handle), strict=False)]


def customer_ids(bank: Any, n: int) -> list[str]:
    return [row["customer_id"] for row in customer_rows(bank, n)]


def put(client: FlaskClient, env: Any, split: dict[str, Any], role: str = "data_scientist"
        ) -> Any:  # fmt: skip
    return client.put("/v1/experiment", json={"split": split}, headers=env.headers(role))


def pitch(client: FlaskClient, headers: dict[str, str], customer_id: str, rid: str) -> Any:
    reply = client.post("/v1/pitch", json={"customer_id": customer_id},
                        headers={**headers, "X-Request-ID": rid})  # fmt: skip
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


@pytest.fixture
def teller(env: Any) -> dict[str, str]:
    return dict(env.headers("teller", staff_id="T0000101"))


# ---- PUT / GET /v1/experiment --------------------------------------------------------------


def test_no_experiment_is_everyone_champion_as_before(
    env: Any, service_client: FlaskClient, teller: dict[str, str]
) -> None:
    got = service_client.get("/v1/experiment", headers=env.headers("data_scientist"))
    assert got.status_code == 200
    assert got.get_json()["experiment_id"] is None
    assert got.get_json()["split"]["champion"] == 100
    answer = pitch(service_client, teller, customer_ids(env.bank, 1)[0], "req-noexp-0001")
    assert answer["experiment"] == {"id": None, "arm": "champion", "served": "champion",
                                    "fallback": None}  # fmt: skip
    assert answer["model_version"] == env.registry.alias_state().champion
    assert answer["degraded"] is False


def test_a_split_is_set_by_a_data_scientist_audited_and_seen(
    env: Any, service_app: Flask, service_client: FlaskClient
) -> None:
    split = {"champion": 80, "challenger": 10, "rules": 5, "holdout": 5}
    first = put(service_client, env, split)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["split"] == split and body["experiment_id"].startswith("exp-")
    seen = service_client.get("/v1/experiment", headers=env.headers("compliance")).get_json()
    assert seen["experiment_id"] == body["experiment_id"] and seen["split"] == split
    second = put(service_client, env, split, role="admin").get_json()
    assert second["experiment_id"] != body["experiment_id"]  # a new split, a new experiment
    assert second["salt"] != body["salt"]
    engine = extensions(service_app).services.engine
    with Session(engine) as session:
        rows = session.scalars(
            select(AuditLogRow).where(AuditLogRow.experiment_id == body["experiment_id"])
        ).all()
    assert len(rows) == 1 and rows[0].caller_role == "data_scientist"
    assert rows[0].payload["experiment"]["split"] == split
    assert rows[0].arm is None  # a design change, not a decision


@pytest.mark.parametrize("role", ["teller", "manager", "compliance"])
def test_only_a_data_scientist_or_admin_sets_the_split(
    env: Any, service_client: FlaskClient, role: str
) -> None:
    reply = put(service_client, env, ONLY["holdout"], role=role)
    assert reply.status_code == 403 and reply.mimetype == PROBLEM


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"split": {"champion": 80, "challenger": 10}}, "split"),
        ({"split": {"champion": 90, "shadow": 10}}, "split.shadow"),
        ({"split": {"champion": 99.5, "holdout": 0.5}}, "split.champion"),
        ({"split": "80/20"}, "split"),
        ({}, "split"),
        ({"split": {"champion": 100}, "colour": "red"}, "colour"),
    ],
)
def test_a_bad_split_is_problem_json_naming_the_field_and_changes_nothing(
    env: Any, service_client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    reply = service_client.put("/v1/experiment", json=body, headers=env.headers("admin"))
    assert reply.status_code == 422, reply.get_data(as_text=True)
    assert reply.mimetype == PROBLEM
    assert field in str(reply.get_json().get("errors")), reply.get_json()
    got = service_client.get("/v1/experiment", headers=env.headers("admin")).get_json()
    assert got["experiment_id"] is None


def test_every_worker_sees_a_new_split_within_its_ttl(service_app: Flask) -> None:
    engine = extensions(service_app).services.engine
    now = [0.0]
    other = ExperimentSource(engine, ttl_seconds=1.0, clock=lambda: now[0])  # another worker
    assert other.current() is None
    writer = ExperimentSource(engine)
    made = writer.set_split(ONLY["rules"], caller=Caller("admin", "A1"), request_id="req-ttl-1")
    now[0] = 0.5
    assert other.current() is None  # still cached
    now[0] = 1.01
    seen = other.current()
    assert seen is not None and seen.experiment_id == made.experiment_id


# ---- the arms ------------------------------------------------------------------------------


def test_holdout_computes_suitability_but_offers_and_logs_nothing(
    env: Any, service_app: Flask, service_client: FlaskClient, teller: dict[str, str]
) -> None:
    ids = customer_ids(env.bank, 30)
    engine = extensions(service_app).services.engine
    champion = [pitch(service_client, teller, c, f"req-hc-{c}") for c in ids]
    pitched = [(c, a) for c, a in zip(ids, champion, strict=True) if a["pitch"]]
    assert pitched, "some champion customers are pitched"
    exp = put(service_client, env, ONLY["holdout"]).get_json()["experiment_id"]
    for c, before in pitched:
        answer = pitch(service_client, teller, c, f"req-ho-{c}")
        assert answer["pitch"] is None
        assert answer["experiment"] == {"id": exp, "arm": "holdout", "served": "holdout",
                                        "fallback": None}  # fmt: skip
        listed = service_client.post(
            "/v1/recommendations", json={"customer_id": c, "limit": 20},
            headers={**teller, "X-Request-ID": f"req-hr-{c}"},
        ).get_json()  # fmt: skip
        assert listed["recommendations"] == [] and listed["pitch"] is None
        assert listed["excluded"]  # suitability still computed ...
        feedback = service_client.post("/v1/feedback", headers=teller, json={
            "request_id": f"req-ho-{c}", "product_id": before["pitch"]["product_id"],
            "outcome": "accepted"})  # fmt: skip
        assert feedback.status_code == 422  # nothing was offered, nothing can be accepted
    with Session(engine) as session:
        audits = session.scalars(select(AuditLogRow).where(AuditLogRow.arm == "holdout")).all()
        logged = session.scalars(select(PitchLogRow).where(PitchLogRow.arm == "holdout")).all()
    assert len(audits) == 2 * len(pitched)  # ... and audited
    assert {a.experiment_id for a in audits} == {exp}
    assert "excluded" in audits[0].payload["answer"]
    assert logged == []


def test_rules_arm_ranks_without_the_model(
    env: Any, service_client: FlaskClient, teller: dict[str, str]
) -> None:
    put(service_client, env, ONLY["rules"])
    for c in customer_ids(env.bank, 10):
        listed = service_client.post(
            "/v1/recommendations", json={"customer_id": c, "limit": 20},
            headers={**teller, "X-Request-ID": f"req-ru-{c}"},
        ).get_json()  # fmt: skip
        assert listed["model_version"] is None and listed["degraded"] is False
        assert listed["experiment"]["served"] == "rules"
        assert all(r["propensity"] is None for r in listed["recommendations"])


def test_challenger_serves_the_published_challenger_and_records_it_everywhere(
    env: Any, service_app: Flask, service_client: FlaskClient, teller: dict[str, str]
) -> None:
    exp = put(service_client, env, ONLY["challenger"]).get_json()["experiment_id"]
    c0 = customer_ids(env.bank, 1)[0]
    fell = pitch(service_client, teller, c0, "req-ch-none")
    assert fell["experiment"]["arm"] == "challenger"
    assert fell["experiment"]["served"] == "rules"
    assert "challenger" in fell["experiment"]["fallback"]
    assert fell["model_version"] is None and fell["degraded"] is True
    version = env.registry.publish(env.model_dir, note="challenger", alias="challenger")
    assert version != env.registry.alias_state().champion
    runtime = extensions(service_app).service.arms.runtimes["challenger"]
    runtime._next_poll = float("-inf")  # as if a second had passed
    answers = [(c, pitch(service_client, teller, c, f"req-ch-{c}"))
               for c in customer_ids(env.bank, 41)[1:]]  # fmt: skip
    assert all(a["model_version"] == version for _, a in answers)
    assert all(a["experiment"]["served"] == "challenger" for _, a in answers)
    said = [(c, a) for c, a in answers if a["pitch"]]
    assert said
    c, answer = said[0]
    reply = service_client.post("/v1/feedback", headers=teller, json={
        "request_id": answer["request_id"], "product_id": answer["pitch"]["product_id"],
        "outcome": "declined"})  # fmt: skip
    assert reply.status_code == 201
    with Session(extensions(service_app).services.engine) as session:
        audit = session.get(AuditLogRow, answer["request_id"])
        logs = session.scalars(
            select(PitchLogRow).where(PitchLogRow.request_id == answer["request_id"])
        ).all()
    assert audit is not None
    assert (audit.experiment_id, audit.arm, audit.model_version) == (exp, "challenger", version)
    assert logs and all((p.experiment_id, p.arm, p.model_version) == (exp, "challenger", version)
                        for p in logs)  # fmt: skip
    assert c in {c for c, _ in answers}


# ---- suitability is the same in every arm --------------------------------------------------


class _Fixed:
    """An experiment source that always says one design (the arm under test)."""

    def __init__(self) -> None:
        self.experiment: Experiment | None = None

    def current(self) -> Experiment | None:
        return self.experiment


class _Arms:
    """The service and (customer id, manager id) pairs; a short repr (no personal data)."""

    def __init__(self, service: CrossSellService, rows: list[tuple[str, str]]) -> None:
        self.service, self.rows = service, rows

    def __repr__(self) -> str:
        return f"<arms service, {len(self.rows)} customers>"


@pytest.fixture(scope="module")
def arm_service(tmp_path_factory: pytest.TempPathFactory, loaded_store: Any, trained_model: Any,
                synthetic_bank: Any) -> Iterator[_Arms]:  # fmt: skip
    from apptesting import service_env

    from recsvc import create_app

    env = service_env(tmp_path_factory.mktemp("arms"), template_db=loaded_store,
                      model_dir=trained_model, bank=synthetic_bank)  # fmt: skip
    env.registry.publish(trained_model, note="challenger", alias="challenger")
    app = create_app({"SETTINGS": env.settings, "TESTING": True})
    service: CrossSellService = extensions(app).service
    yield _Arms(service, [(r["customer_id"], r["manager_id"]) for r in
                          customer_rows(synthetic_bank, 400)])  # fmt: skip
    extensions(app).services.engine.dispose()


_counter = iter(range(10**9))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(index=st.integers(0, 399), channel=st.sampled_from(["teller", "manager", "self_service"]))
def test_suitability_is_identical_in_every_arm(
    arm_service: _Arms, index: int, channel: str
) -> None:
    service = arm_service.service
    customer_id, manager = arm_service.rows[index]
    fixed = _Fixed()
    service.experiments = fixed  # type: ignore[assignment]
    caller = Caller("manager", "M1", manager_id=manager) if manager else Caller("teller", "T1")
    if channel == "manager" and not manager:
        channel = "teller"
    seen: dict[str, Any] = {}
    suitable: dict[str, set[str]] = {}
    for arm in ARMS:
        fixed.experiment = Experiment(f"exp-{arm}", ONLY[arm], "salt")
        request = RecommendRequest(
            request_id=f"req-suit-{next(_counter)}", caller=caller, channel=channel,
            customer_id=customer_id, limit=20, as_of=dt.date(2026, 12, 1),
        )  # fmt: skip
        answer = service.recommend(request)
        assert answer.experiment is not None and answer.experiment.served == arm
        assert all(e.code for e in answer.excluded)  # every exclusion carries its reason code
        # the rules' exclusions; FAMILY_LIMIT is arbitration (which suitable product of a
        # family is shown depends on the ranking), not suitability
        excluded = sorted((e.product_id, e.code, tuple(e.codes)) for e in answer.excluded
                          if e.code != FAMILY_LIMIT)  # fmt: skip
        family = {e.product_id for e in answer.excluded if e.code == FAMILY_LIMIT}
        offered = {r.product_id for r in answer.recommendations}
        assert not offered & {e[0] for e in excluded}
        seen[arm] = excluded
        suitable[arm] = offered | family
    assert seen["challenger"] == seen["champion"] == seen["rules"] == seen["holdout"]
    assert suitable["challenger"] == suitable["champion"] == suitable["rules"]


def test_a_challenger_that_fails_its_hash_check_is_served_as_rules_and_says_so(
    env: Any, service_app: Flask, service_client: FlaskClient, teller: dict[str, str]
) -> None:
    version = env.registry.publish(env.model_dir, note="challenger", alias="challenger")
    path = env.registry.versions_dir / version / "calibration.json"
    path.parent.chmod(0o755)
    path.chmod(0o644)
    path.write_text(path.read_text(encoding="utf-8") + " ", encoding="utf-8")
    put(service_client, env, ONLY["challenger"])
    for c in customer_ids(env.bank, 5):
        answer = pitch(service_client, teller, c, f"req-tamper-{c}")
        assert answer["experiment"]["served"] == "rules"
        assert answer["experiment"]["fallback"] == "no usable challenger model"
        assert answer["model_version"] is None and answer["degraded"] is True
    status = extensions(service_app).service.arms.runtimes["challenger"].status()
    assert status["last_error"]["type"] == "TamperedArtifact"


def test_readyz_reports_the_challenger_arm_and_never_blocks_on_it(
    env: Any, service_app: Flask, service_client: FlaskClient
) -> None:
    """An operator sees what the challenger arm serves; without a challenger the worker stays
    ready (that arm is answered by the rules)."""

    def challenger_check() -> dict[str, Any]:
        body = service_client.get("/readyz").get_json()
        assert body["status"] == "ready"
        return next(c for c in body["checks"] if c["name"] == "challenger")

    none = challenger_check()
    assert none["ok"] is True and none["detail"].startswith("none:")
    version = env.registry.publish(env.model_dir, note="challenger", alias="challenger")
    runtime = extensions(service_app).service.arms.runtimes["challenger"]
    runtime._next_poll = float("-inf")  # poll now instead of within a second
    served = challenger_check()
    assert served["ok"] is True and served["detail"].startswith(version)
