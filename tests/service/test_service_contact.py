"""Contact policy through the API: recent declines, the daily pitch cap, opted-out customers."""

from __future__ import annotations

from typing import Any

import pytest
from apptesting import ServiceEnv
from flask import Flask
from flask.testing import FlaskClient
from service_support import first

from recsvc.api.extensions import extensions
from recsvc.rules.codes import NO_CONSENT, RECENTLY_DECLINED
from recsvc.service.config import DAILY_PITCH_LIMIT
from recsvc.store.constants import DECLINE_OUTCOMES


@pytest.fixture
def customer_id(customers: list[dict[str, str]]) -> str:
    """A consenting customer without complaint, assessed (so several products are suitable)."""
    return first(customers, consent_marketing="1", open_complaint="0", risk_level="C3")[
        "customer_id"
    ]


def pitch(client: FlaskClient, headers: dict[str, str], customer_id: str) -> dict[str, Any]:
    reply = client.post("/v1/pitch", json={"customer_id": customer_id}, headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return dict(reply.get_json())


def recommend(client: FlaskClient, headers: dict[str, str], customer_id: str) -> dict[str, Any]:
    body = {"customer_id": customer_id, "channel": "teller", "limit": 20}
    reply = client.post("/v1/recommendations", json=body, headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return dict(reply.get_json())


@pytest.mark.parametrize("outcome", DECLINE_OUTCOMES)
def test_a_declined_product_is_not_offered_again(
    env: ServiceEnv, service_client: FlaskClient, customer_id: str, outcome: str
) -> None:
    teller = env.headers("teller", staff_id="T001")
    before = recommend(service_client, teller, customer_id)
    product = before["pitch"]["product_id"]
    feedback = {
        "request_id": before["request_id"],
        "product_id": product,
        "outcome": outcome,
        "staff_id": "T001",
    }
    assert service_client.post("/v1/feedback", json=feedback, headers=teller).status_code == 201

    after = recommend(service_client, teller, customer_id)
    assert product not in {r["product_id"] for r in after["recommendations"]}
    assert after["pitch"] is None or after["pitch"]["product_id"] != product
    codes = {e["product_id"]: e["codes"] for e in after["excluded"]}
    assert RECENTLY_DECLINED in codes[product]
    # the decline excluded only that product
    assert [p for p, c in codes.items() if RECENTLY_DECLINED in c] == [product]


def test_an_unanswered_pitch_does_not_count_as_a_decline(
    env: ServiceEnv, service_client: FlaskClient, customer_id: str
) -> None:
    teller = env.headers("teller", staff_id="T001")
    before = recommend(service_client, teller, customer_id)
    feedback = {
        "request_id": before["request_id"],
        "product_id": before["pitch"]["product_id"],
        "outcome": "no_answer",
        "staff_id": "T001",
    }
    assert service_client.post("/v1/feedback", json=feedback, headers=teller).status_code == 201
    after = recommend(service_client, teller, customer_id)
    assert all(RECENTLY_DECLINED not in e["codes"] for e in after["excluded"])


def test_daily_cap_repeats_the_same_product_and_excludes_the_others(
    env: ServiceEnv, service_client: FlaskClient, customer_id: str
) -> None:
    teller = env.headers("teller", staff_id="T001")
    other_terminal = env.headers("teller", staff_id="T002")
    first_pitch = pitch(service_client, teller, customer_id)["pitch"]
    assert first_pitch is not None
    again = pitch(service_client, other_terminal, customer_id)["pitch"]
    assert again["product_id"] == first_pitch["product_id"]

    answer = recommend(service_client, teller, customer_id)
    assert answer["pitch"]["product_id"] == first_pitch["product_id"]
    capped = {e["product_id"] for e in answer["excluded"] if e["code"] == DAILY_PITCH_LIMIT}
    assert capped, "the test needs more than one suitable product"
    # what the cap holds back is excluded, not suggested as well
    assert {r["product_id"] for r in answer["recommendations"]} == {first_pitch["product_id"]}
    assert first_pitch["product_id"] not in capped


def test_daily_cap_is_per_customer(
    env: ServiceEnv, service_client: FlaskClient, customers: list[dict[str, str]]
) -> None:
    teller = env.headers("teller")
    a, b = [
        row["customer_id"]
        for row in customers
        if row["consent_marketing"] == "1" and row["open_complaint"] == "0"
    ][:2]
    pitch(service_client, teller, a)
    answer = recommend(service_client, teller, b)
    assert all(e["code"] != DAILY_PITCH_LIMIT for e in answer["excluded"])


def test_an_opted_out_customer_gets_nothing(
    env: ServiceEnv,
    service_app: Flask,
    service_client: FlaskClient,
    customers: list[dict[str, str]],
) -> None:
    opted_out = first(customers, consent_marketing="0")["customer_id"]
    teller = env.headers("teller")
    assert pitch(service_client, teller, opted_out)["pitch"] is None
    answer = recommend(service_client, teller, opted_out)
    assert answer["recommendations"] == []
    assert answer["pitch"] is None
    assert answer["next_actions"] == []
    assert all(NO_CONSENT in e["codes"] for e in answer["excluded"])
    catalogue = extensions(service_app).catalogue
    assert sorted(e["product_id"] for e in answer["excluded"]) == sorted(catalogue.ids)
