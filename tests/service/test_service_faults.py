"""Faults seen from the API: a store outage is 503 + Retry-After on every endpoint and passes by
itself; a read-only episode (PostgreSQL) passes by itself, logged, with /readyz saying so; a
corrupt registry is a 503 naming it on /v1/models, promote and rollback while pitches go on."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from apptesting import ServiceEnv
from flask import Flask
from flask.testing import FlaskClient
from pgtesting import postgres_database
from service_support import assert_problem, first, read_customers
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from recsvc import create_app
from recsvc.api.extensions import extensions
from recsvc.security import create_key
from recsvc.store import load_customers, make_engine, upgrade


def every_endpoint(customer: dict[str, str], answer_id: str) -> list[tuple[str, str, Any, str]]:
    """(method, path, body, role) of each endpoint that reads or writes the store."""
    cid, manager = customer["customer_id"], customer["manager_id"]
    return [
        ("POST", "/v1/pitch", {"customer_id": cid}, "teller"),
        ("POST", "/v1/recommendations", {"customer_id": cid, "channel": "teller"}, "teller"),
        ("POST", "/v1/feedback", {"request_id": answer_id, "product_id": "mobile_banking",
                                  "outcome": "accepted", "staff_id": "T001"}, "teller"),
        ("GET", f"/v1/customers/{cid}", None, "manager"),
        ("GET", f"/v1/customers/{cid}/recommendations", None, "manager"),
        ("GET", f"/v1/audit/{answer_id}", None, "compliance"),
        ("GET", f"/v1/managers/{manager}/contact-plan", None, "manager"),
    ]  # fmt: skip


def call(client: FlaskClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.open(path, method=method, json=body, headers=headers)


def test_store_outage_is_503_with_retry_after_everywhere_and_passes(
    env: ServiceEnv, service_app: Flask, synthetic_bank: Path
) -> None:
    customer = first(read_customers(synthetic_bank), manager_id=lambda m: m != "")
    keys = {
        "teller": env.headers("teller", staff_id="T001"),
        "manager": env.headers("manager", manager_id=customer["manager_id"]),
        "compliance": env.headers("compliance"),
    }
    client = service_app.test_client()
    answered = call(client, "POST", "/v1/pitch", {"customer_id": customer["customer_id"]},
                    keys["teller"])  # fmt: skip
    assert answered.status_code == 200
    endpoints = every_endpoint(customer, answered.get_json()["request_id"])
    for method, path, body, role in endpoints:  # all work, and every key is now known
        assert call(client, method, path, body, keys[role]).status_code < 500, path

    db = Path(env.settings.database_url.removeprefix("sqlite:///"))
    away = db.with_name("away.db")
    extensions(service_app).engine.dispose()  # the outage reaches new connections
    os.rename(db, away)
    db.mkdir()  # the path exists but cannot be opened as a database
    try:
        for method, path, body, role in endpoints:
            reply = call(client, method, path, body, keys[role])
            problem = assert_problem(reply, 503)
            assert int(reply.headers["Retry-After"]) >= 1, path
            assert "store" in problem["detail"], path
    finally:
        db.rmdir()
        os.rename(away, db)
    reply = call(client, "POST", "/v1/pitch", {"customer_id": customer["customer_id"]},
                 keys["teller"])  # fmt: skip
    assert reply.status_code == 200, reply.get_json()


# ---- read-only episode, PostgreSQL ---------------------------------------------------------------


@pytest.fixture
def pg_database() -> Iterator[str]:
    with postgres_database("the store", prefix="recsvc_faults") as url:
        yield url


def set_read_only(url: str, on: bool) -> None:
    """The whole database read-only for new sessions (as a standby), or writable again;
    turning it on also ends the current sessions, so the pool reconnects during the episode."""
    name = make_url(url).database
    admin: Engine = create_engine(make_url(url).set(database="postgres"),
                                  isolation_level="AUTOCOMMIT")  # fmt: skip
    try:
        with admin.connect() as conn:
            if on:
                conn.execute(
                    text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
                )
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = :name AND pid <> pg_backend_pid()"),
                    {"name": name},
                )  # fmt: skip
            else:
                conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_read_only_episode_passes_by_itself_logged_and_reported(
    env: ServiceEnv,
    pg_database: str,
    synthetic_bank: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = make_engine(pg_database)
    upgrade(engine)
    load_customers(engine, synthetic_bank)
    with Session(engine) as session:
        key = create_key(session, role="teller", staff_id="T001")
        session.commit()
    engine.dispose()
    app = create_app({"SETTINGS": replace(env.settings, database_url=pg_database),
                      "TESTING": True})  # fmt: skip
    client = app.test_client()
    teller = {"Authorization": f"Bearer {key}"}
    customer = read_customers(synthetic_bank)[0]
    pitch = {"customer_id": customer["customer_id"]}
    try:
        assert client.post("/v1/pitch", json=pitch, headers=teller).status_code == 200
        assert client.get("/readyz").status_code == 200

        set_read_only(pg_database, True)
        with caplog.at_level(logging.WARNING):
            reply = client.post("/v1/pitch", json=pitch, headers=teller)
        assert_problem(reply, 503)
        assert "Retry-After" in reply.headers
        ready = client.get("/readyz")
        assert ready.status_code == 503
        store = next(c for c in ready.get_json()["checks"] if c["name"] == "store")
        assert store["ok"] is False and "read-only" in store["detail"]
        causes = [r for r in caplog.records if r.getMessage() == "store connection invalidated"]
        assert causes and causes[0].fields["error_type"] == "ReadOnlySqlTransaction"  # type: ignore[attr-defined]
        logged = "\n".join(str(getattr(r, "fields", "")) + r.getMessage() for r in caplog.records)
        for value in (customer["name"], customer["phone"], customer["id_number"]):
            assert value not in logged

        set_read_only(pg_database, False)
        # No restart: the refused writes dropped the read-only connections.
        reply = client.post("/v1/pitch", json=pitch, headers=teller)
        assert reply.status_code == 200, reply.get_json()
        assert client.get("/readyz").status_code == 200
    finally:
        set_read_only(pg_database, False)
        extensions(app).engine.dispose()


# ---- registry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_unreadable_registry_is_503_naming_it_while_pitches_go_on(
    env: ServiceEnv, service_client: FlaskClient, synthetic_bank: Path, damage: str
) -> None:
    teller = env.headers("teller", staff_id="T001")
    scientist = env.headers("data_scientist")
    pitch = {"customer_id": read_customers(synthetic_bank)[0]["customer_id"]}
    before = service_client.post("/v1/pitch", json=pitch, headers=teller)
    assert before.status_code == 200 and before.get_json()["model_version"] is not None
    version = before.get_json()["model_version"]

    if damage == "corrupt":
        env.registry.aliases_path.write_text('{"champion": "v2026', encoding="utf-8")
    else:
        shutil.move(env.registry.root, env.registry.root.with_name("registry.away"))
    service_app_runtime_poll(service_client)

    for method, path in [("GET", "/v1/models"), ("POST", f"/v1/models/{version}/promote"),
                         ("POST", "/v1/models/rollback")]:  # fmt: skip
        reply = service_client.open(path, method=method, headers=scientist)
        problem = assert_problem(reply, 503)
        assert "registry" in problem["detail"], problem
        assert "Retry-After" in reply.headers
    after = service_client.post("/v1/pitch", json=pitch, headers=teller)
    assert after.status_code == 200
    assert after.get_json()["model_version"] == version and not after.get_json()["degraded"]
    ready = service_client.get("/readyz").get_json()
    model = next(c for c in ready["checks"] if c["name"] == "model")
    assert model["ok"] and "registry unavailable" in model["detail"]


def service_app_runtime_poll(client: FlaskClient) -> None:
    """Wait until the worker's runtime polls the registry again (at most once a second)."""
    runtime = extensions(client.application).service.runtime
    time.sleep(runtime.poll_seconds + 0.1)
