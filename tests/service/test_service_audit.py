"""The audit trail: every answer is audited before it is given, matches what was said, can be
replayed, and no answer (nor pitch log entry) exists without it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from apptesting import ServiceEnv
from factories import customer_payload
from flask import Flask
from flask.testing import FlaskClient
from service_support import assert_problem, first
from sqlalchemy import delete, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import recsvc.service.recommend as recommend_module
from recsvc.api.extensions import extensions
from recsvc.customers.profile import Transaction
from recsvc.service.answers import Caller, RecommendRequest
from recsvc.service.recommend import CrossSellService
from recsvc.store.tables import PitchLogRow

ANSWER_FIELDS = (
    "request_id", "model_version", "degraded", "pitch", "next_actions", "recommendations",
    "excluded",
)  # fmt: skip


def service_of(app: Flask) -> CrossSellService:
    svc: CrossSellService = extensions(app).service
    return svc


def pitch_log(app: Flask, customer_id: str) -> list[str]:
    with Session(service_of(app).engine) as session:
        rows = session.scalars(
            select(PitchLogRow.request_id).where(PitchLogRow.customer_id == customer_id)
        )
        return list(rows)


@pytest.fixture
def customer(customers: list[dict[str, str]]) -> dict[str, str]:
    """An assessed, consenting customer in a client manager's book."""
    return first(
        customers,
        consent_marketing="1",
        open_complaint="0",
        risk_level="C4",
        manager_id=lambda m: m != "",
    )


def calls(customer_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every kind of answering request, by a role allowed to make it."""
    return [
        ("POST", "/v1/pitch", {"customer_id": customer_id}),
        (
            "POST",
            "/v1/pitch",
            {"customer_id": customer_id, "transaction": {"type": "cash_deposit", "amount": 9e4}},
        ),
        ("POST", "/v1/recommendations", {"customer_id": customer_id, "channel": "manager"}),
        (
            "POST",
            "/v1/recommendations",
            {"customer": customer_payload(customer_id="AUD0000001"), "channel": "self_service"},
        ),
        ("GET", f"/v1/customers/{customer_id}/recommendations?limit=3&locale=en", None),
    ]


def test_every_answer_has_an_audit_record_matching_it(
    env: ServiceEnv,
    service_app: Flask,
    service_client: FlaskClient,
    customer: dict[str, str],
) -> None:
    manager = env.headers("manager", manager_id=customer["manager_id"])
    compliance = env.headers("compliance")
    runtime = service_of(service_app).runtime
    for method, path, body in calls(customer["customer_id"]):
        reply = service_client.open(path, method=method, json=body, headers=manager)
        assert reply.status_code == 200, (path, reply.get_json())
        answer = reply.get_json()
        audit = service_client.get(f"/v1/audit/{answer['request_id']}", headers=compliance)
        assert audit.status_code == 200
        record = audit.get_json()
        payload = record["payload"]
        for name in ANSWER_FIELDS:
            if name in answer:
                assert payload["answer"][name] == answer[name], (path, name)
        loaded = runtime.current()
        assert loaded is not None
        assert record["model_version"] == answer["model_version"] == loaded.version
        assert record["model_hash"] == payload["answer"]["model_hash"] == loaded.model_hash
        assert record["degraded"] is False
        assert record["caller_role"] == "manager"
        if body is None or "customer_id" in body:
            assert record["customer_id"] == customer["customer_id"]
            assert payload["customer"]["risk_level"] == customer["risk_level"]
            assert payload["customer"]["assessment_date"] == customer["assessment_date"]
        for entry in payload["answer"]["excluded"]:
            assert entry["code"] and entry["codes"][0] == entry["code"]


def test_the_audit_holds_no_personal_data(
    env: ServiceEnv, service_client: FlaskClient, customer: dict[str, str]
) -> None:
    body = {"customer_id": customer["customer_id"]}
    answer = service_client.post("/v1/pitch", json=body, headers=env.headers("teller")).get_json()
    record = service_client.get(
        f"/v1/audit/{answer['request_id']}", headers=env.headers("compliance")
    ).get_data(as_text=True)
    for pii in ("name", "id_number", "phone"):
        assert customer[pii] not in record


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/pitch", {}),
        ("/v1/pitch", {"transaction": {"type": "credit_card_repayment", "amount": 3000}}),
        ("/v1/recommendations", {"channel": "teller", "limit": 10, "locale": "en"}),
        ("/v1/recommendations", {"channel": "self_service"}),
    ],
)
def test_replaying_an_audited_request_gives_the_same_answer(
    env: ServiceEnv,
    service_app: Flask,
    service_client: FlaskClient,
    customer: dict[str, str],
    path: str,
    body: dict[str, Any],
) -> None:
    request = {"customer_id": customer["customer_id"], **body}
    reply = service_client.post(path, json=request, headers=env.headers("teller", staff_id="T9"))
    assert reply.status_code == 200
    rid = reply.get_json()["request_id"]
    payload = service_client.get(f"/v1/audit/{rid}", headers=env.headers("compliance")).get_json()[
        "payload"
    ]
    svc = service_of(service_app)
    # The contact state as it was: without the pitch this very request logged.
    with Session(svc.engine) as session:
        session.execute(delete(PitchLogRow).where(PitchLogRow.request_id == rid))
        session.commit()
    asked, txn = payload["request"], payload["request"]["transaction"]
    replay = svc.recommend(
        RecommendRequest(
            request_id=f"replay-{rid}",
            caller=Caller(**payload["caller"]),
            channel=asked["channel"],
            customer_id=asked["customer_id"],
            transaction=None if txn is None else Transaction(**txn),
            limit=asked["limit"],
            locale=asked["locale"],
            as_of=dt.date.fromisoformat(payload["answer"]["as_of"]),
        ),
        pitch_only=payload["endpoint"] == "pitch",
    ).to_dict()
    assert replay["model_version"] == payload["answer"]["model_version"]
    replay["request_id"] = rid
    assert replay == payload["answer"]


@pytest.mark.parametrize("path", ["/v1/pitch", "/v1/recommendations"])
def test_no_audit_means_503_and_no_pitch_logged(
    env: ServiceEnv,
    service_app: Flask,
    service_client: FlaskClient,
    customer: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    def unwritable(*_: Any, **__: Any) -> None:
        raise OperationalError("INSERT INTO audit_log", {}, Exception("disk I/O error"))

    monkeypatch.setattr(recommend_module, "write_audit", unwritable)
    body = {"customer_id": customer["customer_id"], "channel": "teller"}
    if path == "/v1/pitch":
        del body["channel"]
    reply = service_client.post(path, json=body, headers=env.headers("teller"))
    problem = assert_problem(reply, 503)
    assert "pitch" not in problem and "recommendations" not in problem
    assert reply.headers["Retry-After"]
    assert pitch_log(service_app, customer["customer_id"]) == []


def test_a_dropped_audit_table_means_503(
    env: ServiceEnv, service_app: Flask, service_client: FlaskClient, customer: dict[str, str]
) -> None:
    teller = env.headers("teller")  # the key is made before the table goes
    with service_of(service_app).engine.begin() as connection:
        connection.execute(text("DROP TABLE audit_log"))
    reply = service_client.post(
        "/v1/pitch", json={"customer_id": customer["customer_id"]}, headers=teller
    )
    assert_problem(reply, 503)
    assert pitch_log(service_app, customer["customer_id"]) == []


def test_a_reused_request_id_is_409_and_changes_nothing(
    env: ServiceEnv, service_app: Flask, service_client: FlaskClient, customer: dict[str, str]
) -> None:
    teller = {**env.headers("teller"), "X-Request-ID": "till-0042-req-0001"}
    body = {"customer_id": customer["customer_id"]}
    first_reply = service_client.post("/v1/pitch", json=body, headers=teller)
    assert first_reply.status_code == 200
    assert first_reply.get_json()["request_id"] == "till-0042-req-0001"
    assert_problem(service_client.post("/v1/pitch", json=body, headers=teller), 409)
    other = {"customer": customer_payload(customer_id="AUD0000002"), "channel": "teller"}
    assert_problem(service_client.post("/v1/recommendations", json=other, headers=teller), 409)
    assert pitch_log(service_app, customer["customer_id"]) == ["till-0042-req-0001"]
    audit = service_client.get(
        "/v1/audit/till-0042-req-0001", headers=env.headers("compliance")
    ).get_json()
    assert audit["payload"]["answer"]["pitch"] == first_reply.get_json()["pitch"]
