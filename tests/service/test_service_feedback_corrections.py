"""POST /v1/feedback/corrections: the staff member who recorded an answer corrects a mis-click
within the window; the original is kept and the change audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from apptesting import ServiceEnv
from flask import Flask
from flask.testing import FlaskClient
from service_support import assert_problem
from sqlalchemy.orm import Session
from store_reference import corrections_of

from recsvc.api.extensions import extensions
from recsvc.store import get_audit, make_engine
from recsvc.store.feedback_corrections import feedback_of

CUSTOMERS = ("C00000002", "C00000003", "C00000004", "C00000005", "C00000006", "C00000007")


def pitched(env: ServiceEnv, client: FlaskClient, index: int, staff: str) -> dict[str, Any]:
    """A declined pitch for one of the stored customers (one per test)."""
    headers = env.headers("teller", staff_id=staff)
    for customer_id in CUSTOMERS[index:]:
        reply = client.post("/v1/pitch", json={"customer_id": customer_id}, headers=headers)
        assert reply.status_code == 200
        answer = reply.get_json()
        if answer["pitch"]:
            body = {"request_id": answer["request_id"], "product_id": answer["pitch"]["product_id"],
                    "outcome": "declined", "staff_id": staff}  # fmt: skip
            assert client.post("/v1/feedback", json=body, headers=headers).status_code == 201
            return body
    raise AssertionError("no stored customer got a pitch")


def correction(body: dict[str, Any], outcome: str) -> dict[str, str]:
    return {"request_id": body["request_id"], "product_id": body["product_id"], "outcome": outcome}


def test_the_same_teller_corrects_a_mis_click_and_the_original_is_kept(
    module_env: ServiceEnv, module_client: FlaskClient
) -> None:
    body = pitched(module_env, module_client, 0, "T501")
    headers = module_env.headers("teller", staff_id="T501")
    reply = module_client.post(
        "/v1/feedback/corrections", json=correction(body, "accepted"), headers=headers
    )
    assert reply.status_code == 200
    out = reply.get_json()
    assert (out["previous_outcome"], out["outcome"], out["corrected"]) == (
        "declined", "accepted", True,
    )  # fmt: skip
    engine = make_engine(module_env.settings.database_url)
    with Session(engine) as session:
        (row,) = feedback_of(session, [body["request_id"]])
        chain = corrections_of(session, row.id)
        audit = get_audit(session, out["audit_request_id"])
    engine.dispose()
    assert row.outcome == "accepted" and chain == [("declined", "accepted", "T501")]
    assert audit is not None and audit.payload["endpoint"] == "feedback_correction"


def test_another_staff_member_is_403_and_nothing_changes(
    module_env: ServiceEnv, module_client: FlaskClient
) -> None:
    body = pitched(module_env, module_client, 1, "T502")
    other = module_env.headers("teller", staff_id="T503")
    assert_problem(
        module_client.post(
            "/v1/feedback/corrections", json=correction(body, "accepted"), headers=other
        ),
        403,
    )
    engine = make_engine(module_env.settings.database_url)
    with Session(engine) as session:
        (row,) = feedback_of(session, [body["request_id"]])
    engine.dispose()
    assert row.outcome == "declined"


def test_after_the_window_it_is_409(
    module_env: ServiceEnv, module_client: FlaskClient, module_app: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    body = pitched(module_env, module_client, 2, "T504")
    service = extensions(module_app).service
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    monkeypatch.setattr(service, "clock", lambda: later)
    headers = module_env.headers("teller", staff_id="T504")
    assert_problem(
        module_client.post(
            "/v1/feedback/corrections", json=correction(body, "accepted"), headers=headers
        ),
        409,
    )


def test_nothing_recorded_is_404_and_a_bad_outcome_names_the_field(
    module_env: ServiceEnv, module_client: FlaskClient
) -> None:
    headers = module_env.headers("teller", staff_id="T505")
    missing = {"request_id": "never-issued-0002", "product_id": "gold_plan", "outcome": "declined"}
    assert_problem(
        module_client.post("/v1/feedback/corrections", json=missing, headers=headers), 404
    )
    problem = assert_problem(
        module_client.post(
            "/v1/feedback/corrections", json={**missing, "outcome": "maybe"}, headers=headers
        ),
        422,
    )
    assert set(problem["errors"]) == {"outcome"}
