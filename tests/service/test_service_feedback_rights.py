"""Issue 9, item 3: only the caller who received an answer, or the client manager whose book holds
the customer, may record the customer's answer; the staff id is the caller's (from the API key):
the body may leave it out, and a different one is 403."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from apptesting import ServiceEnv
from factories import customer_payload
from flask import Flask
from flask.testing import FlaskClient
from service_support import assert_problem
from sqlalchemy import select
from sqlalchemy.orm import Session

from recsvc.api.extensions import extensions
from recsvc.store.tables import FeedbackRow

BOOK, OTHER_BOOK = "MFB001", "MFB002"


@pytest.fixture
def customer_id(env: ServiceEnv) -> str:
    """A stored customer in BOOK's book."""
    customer_id = f"FBR{uuid.uuid4().hex[:10]}"
    env.store_customer(customer_payload(customer_id=customer_id, manager_id=BOOK, holdings=[]))
    return customer_id


@pytest.fixture
def answer(env: ServiceEnv, service_client: FlaskClient, customer_id: str) -> dict[str, Any]:
    """Teller T-FB1's pitch to the customer."""
    teller = env.headers("teller", staff_id="T-FB1")
    reply = service_client.post("/v1/pitch", json={"customer_id": customer_id}, headers=teller)
    assert reply.status_code == 200 and reply.get_json()["pitch"]
    return dict(reply.get_json())


def feedback(answer: dict[str, Any], **extra: str) -> dict[str, str]:
    return {"request_id": answer["request_id"], "product_id": answer["pitch"]["product_id"],
            "outcome": "declined", **extra}  # fmt: skip


def stored(app: Flask) -> list[tuple[str, str | None]]:
    with Session(extensions(app).engine) as session:
        rows = session.execute(select(FeedbackRow.request_id, FeedbackRow.staff_id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_manager_outside_the_book_may_not_answer_for_another_callers_request(
    env: ServiceEnv, service_app: Flask, service_client: FlaskClient, answer: dict[str, Any]
) -> None:
    intruder = env.headers("manager", manager_id=OTHER_BOOK, staff_id="M-FB2")
    for body in (feedback(answer), feedback(answer, staff_id="T-FB1")):
        assert_problem(service_client.post("/v1/feedback", json=body, headers=intruder), 403)
    other_teller = env.headers("teller", staff_id="T-FB9")
    assert_problem(
        service_client.post("/v1/feedback", json=feedback(answer), headers=other_teller), 403
    )
    assert stored(service_app) == []


def test_the_staff_id_comes_from_the_key_and_a_different_one_is_403(
    env: ServiceEnv, service_app: Flask, service_client: FlaskClient, answer: dict[str, Any]
) -> None:
    teller = env.headers("teller", staff_id="T-FB1")
    problem = assert_problem(
        service_client.post("/v1/feedback", json=feedback(answer, staff_id="M-FB2"),
                            headers=teller), 403,
    )  # fmt: skip
    assert set(problem["errors"]) == {"staff_id"}
    assert stored(service_app) == []
    reply = service_client.post("/v1/feedback", json=feedback(answer), headers=teller)
    assert reply.status_code == 201
    assert stored(service_app) == [(answer["request_id"], "T-FB1")]


def test_the_customers_own_manager_may_answer_and_is_recorded_as_such(
    env: ServiceEnv, service_app: Flask, service_client: FlaskClient, answer: dict[str, Any]
) -> None:
    manager = env.headers("manager", manager_id=BOOK, staff_id="M-FB1")
    body = feedback(answer, staff_id="M-FB1")
    assert service_client.post("/v1/feedback", json=body, headers=manager).status_code == 201
    assert stored(service_app) == [(answer["request_id"], "M-FB1")]
