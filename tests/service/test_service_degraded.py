"""No published model: the service still answers, rules-only, says so, and stays suitable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apptesting import ServiceEnv, service_env
from factories import customer_payload
from flask import Flask
from flask.testing import FlaskClient
from service_support import build_app

from recsvc.api.extensions import extensions
from recsvc.service.recommend import CrossSellService


@pytest.fixture
def empty_env(
    tmp_path: Path, loaded_store: Path, trained_model: Path, synthetic_bank: Path
) -> ServiceEnv:
    return service_env(
        tmp_path, template_db=loaded_store, model_dir=trained_model, bank=synthetic_bank,
        publish=False,
    )  # fmt: skip


@pytest.fixture
def app(empty_env: ServiceEnv) -> Iterator[Flask]:
    app = build_app(empty_env)
    yield app
    extensions(app).engine.dispose()


@pytest.mark.parametrize("channel", ["teller", "manager", "self_service"])
def test_rules_only_answers_when_no_model_is_published(
    empty_env: ServiceEnv, app: Flask, channel: str
) -> None:
    client = app.test_client()
    profile = customer_payload(customer_id="DEG0000001", risk_level="C2")
    body = {"customer": profile, "channel": channel, "limit": 20}
    # a client manager may ask for every channel's answer
    reply = client.post("/v1/recommendations", json=body, headers=empty_env.headers("manager"))
    assert reply.status_code == 200, reply.get_json()
    answer = reply.get_json()
    assert answer["degraded"] is True
    assert answer["model_version"] is None
    assert answer["recommendations"], "rules-only still recommends"
    assert all(r["propensity"] is None for r in answer["recommendations"])
    svc: CrossSellService = extensions(app).service
    products = {p.product_id: p for p in svc.catalogue.products}
    offered = [r["product_id"] for r in answer["recommendations"]]
    if answer["pitch"]:
        offered.append(answer["pitch"]["product_id"])
    assert all((products[p].risk_level or 0) <= 2 for p in offered)
    assert all(channel in products[p].channels for p in offered)
    excluded = {e["product_id"] for e in answer["excluded"]}
    assert {p for p, prod in products.items() if (prod.risk_level or 0) > 2} <= excluded


def test_pitch_by_customer_id_is_degraded_and_audited_as_such(
    empty_env: ServiceEnv, app: Flask
) -> None:
    client = app.test_client()
    answer = client.post(
        "/v1/pitch", json={"customer_id": "C00000001"}, headers=empty_env.headers("teller")
    ).get_json()
    assert answer["degraded"] is True and answer["model_version"] is None
    audit = client.get(
        f"/v1/audit/{answer['request_id']}", headers=empty_env.headers("compliance")
    ).get_json()
    assert audit["degraded"] is True
    assert audit["model_version"] is None and audit["model_hash"] is None


def test_readyz_stays_ready_but_reports_the_degraded_model(app: Flask) -> None:
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 200
    checks = {c["name"]: c for c in reply.get_json()["checks"]}
    assert checks["model"]["ok"] is True
    assert checks["model"]["detail"].startswith("degraded, rules only")
    assert "no published model" in checks["model"]["detail"]


def test_readyz_names_the_model_when_one_is_served(
    service_app: Flask, env: ServiceEnv, service_client: FlaskClient
) -> None:
    service_client.post("/v1/pitch", json={"customer_id": "C00000001"},
                        headers=env.headers("teller"))  # fmt: skip
    checks = {c["name"]: c for c in service_client.get("/readyz").get_json()["checks"]}
    assert checks["model"]["detail"].startswith(str(env.registry.alias_state().champion))
