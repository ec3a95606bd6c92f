"""POST /v1/feedback: idempotent, and only for what was actually offered in that request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from apptesting import ServiceEnv
from factories import customer_payload
from flask.testing import FlaskClient
from service_support import assert_problem


@pytest.fixture
def answered(module_env: ServiceEnv, module_client: FlaskClient) -> dict[str, Any]:
    """A fresh audited answer for an inline profile (each test its own request and prospect:
    feedback logs a pitch, which uses up the customer's day)."""
    prospect = f"FB{uuid.uuid4().hex[:10]}"
    body = {"customer": customer_payload(customer_id=prospect), "channel": "teller"}
    reply = module_client.post("/v1/recommendations", json=body, headers=teller(module_env))
    assert reply.status_code == 200
    return dict(reply.get_json())


def teller(env: ServiceEnv) -> dict[str, str]:
    return env.headers("teller", staff_id="T001")


def feedback(answer: dict[str, Any], **overrides: str) -> dict[str, str]:
    body = {
        "request_id": answer["request_id"],
        "product_id": answer["pitch"]["product_id"],
        "outcome": "accepted",
        "staff_id": "T001",
    }
    body.update(overrides)
    return body


def test_first_feedback_is_201_and_a_repeat_is_200(
    module_env: ServiceEnv, module_client: FlaskClient, answered: dict[str, Any]
) -> None:
    body = feedback(answered)
    first = module_client.post("/v1/feedback", json=body, headers=teller(module_env))
    again = module_client.post("/v1/feedback", json=body, headers=teller(module_env))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == {**{k: body[k] for k in ("request_id", "product_id", "outcome")},
                                "created": True}  # fmt: skip
    assert again.get_json()["created"] is False


def test_a_listed_product_that_was_not_pitched_may_get_feedback(
    module_env: ServiceEnv, module_client: FlaskClient, answered: dict[str, Any]
) -> None:
    listed = [r["product_id"] for r in answered["recommendations"]]
    other = next(p for p in listed if p != answered["pitch"]["product_id"])
    reply = module_client.post(
        "/v1/feedback", json=feedback(answered, product_id=other), headers=teller(module_env)
    )
    assert reply.status_code == 201


def test_unknown_request_id_is_404(
    module_env: ServiceEnv, module_client: FlaskClient, answered: dict[str, Any]
) -> None:
    body = feedback(answered, request_id="never-issued-0001")
    assert_problem(module_client.post("/v1/feedback", json=body, headers=teller(module_env)), 404)


def test_a_product_not_offered_in_that_request_is_422_naming_product_id(
    module_env: ServiceEnv,
    module_client: FlaskClient,
    answered: dict[str, Any],
) -> None:
    excluded = answered["excluded"][0]["product_id"]
    body = feedback(answered, product_id=excluded)
    problem = assert_problem(
        module_client.post("/v1/feedback", json=body, headers=teller(module_env)), 422
    )
    assert set(problem["errors"]) == {"product_id"}


@pytest.mark.parametrize("outcome", ["maybe", "", "ACCEPTED"])
def test_a_bad_outcome_is_422_naming_outcome(
    module_env: ServiceEnv, module_client: FlaskClient, answered: dict[str, Any], outcome: str
) -> None:
    body = feedback(answered, outcome=outcome)
    problem = assert_problem(
        module_client.post("/v1/feedback", json=body, headers=teller(module_env)), 422
    )
    assert set(problem["errors"]) == {"outcome"}


def test_the_audit_and_the_answer_are_stamped_by_the_service_clock(
    module_env: ServiceEnv, module_app: Any, module_client: FlaskClient
) -> None:
    """The service's clock (a simulated day, or a test's) dates the answer's audit row and the
    customer's answer, as it dates the pitch log: a decline then ages out of the contact-fatigue
    window on the service's calendar, and an export as of a day sees what was known that day."""
    import datetime as dt

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from recsvc.api.extensions import extensions
    from recsvc.store import make_engine
    from recsvc.store.tables import AuditLogRow, FeedbackRow

    service = extensions(module_app).service
    moment = dt.datetime(2026, 3, 2, 10, 0, tzinfo=service.service_config.timezone)
    before = service.clock
    service.clock = lambda: moment
    try:
        answer = dict(
            module_client.post(
                "/v1/recommendations",
                json={"customer": customer_payload(customer_id=f"CK{uuid.uuid4().hex[:10]}"),
                      "channel": "teller"},
                headers=teller(module_env),
            ).get_json()
        )  # fmt: skip
        body = feedback(answer, outcome="declined")
        assert (
            module_client.post("/v1/feedback", json=body, headers=teller(module_env)).status_code
            == 201
        )
    finally:
        service.clock = before
    engine = make_engine(module_env.settings.database_url)
    with Session(engine) as session:
        created = session.scalar(
            select(AuditLogRow.created_at).where(AuditLogRow.request_id == answer["request_id"])
        )
        recorded = session.scalar(
            select(FeedbackRow.recorded_at).where(FeedbackRow.request_id == answer["request_id"])
        )
    engine.dispose()
    assert created is not None and recorded is not None
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
    assert created.replace(tzinfo=None) == utc
    assert recorded.replace(tzinfo=None) == utc
