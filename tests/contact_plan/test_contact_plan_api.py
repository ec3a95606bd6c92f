"""GET /v1/managers/{id}/contact-plan on the synthetic bank: roles, own book, feedback."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from contact_plan_support import WEEK
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from store_reference import recent_declines

from recsvc.rules import evaluate
from recsvc.service.answers import Caller
from recsvc.service.contact_plan import build_planner
from recsvc.service.plan_read import manager_plan
from recsvc.service.weeks import week_start
from recsvc.store import get_customer

OWN, OTHER = "M000011001", "M000012001"
URL = "/v1/managers/{}/contact-plan?week=" + WEEK


@pytest.fixture
def planned(env: Any) -> Any:
    planner = build_planner(env.settings)
    summary = planner.plan_week(WEEK, chunk_size=500)
    planner.engine.dispose()
    assert summary.customers == 2000 and summary.entries > 0
    return env


def test_manager_gets_own_plan_sorted_by_priority(
    planned: Any, service_client: FlaskClient
) -> None:
    headers = planned.headers("manager", manager_id=OWN)
    response = service_client.get(URL.format(OWN), headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    entries = body["entries"]
    assert body["week"] == WEEK and entries
    priorities = [e["priority"] for e in entries]
    assert priorities == sorted(priorities, reverse=True)
    assert [e["rank"] for e in entries] == list(range(1, len(entries) + 1))
    assert all(2 <= len(e["talking_points"]) <= 3 or not e["products"] for e in entries)


@pytest.mark.parametrize(
    ("role", "scope", "status"),
    [
        ("manager", {"manager_id": OTHER}, 404),
        ("manager", {}, 404),
        ("teller", {}, 403),
        ("data_scientist", {}, 403),
        ("admin", {}, 200),
    ],
)
def test_who_may_read_a_plan(
    planned: Any, service_client: FlaskClient, role: str, scope: dict[str, str], status: int
) -> None:
    response = service_client.get(URL.format(OWN), headers=planned.headers(role, **scope))
    assert response.status_code == status
    if status != 200:
        assert response.content_type == "application/problem+json"


def test_a_bad_week_is_a_422(planned: Any, service_client: FlaskClient) -> None:
    headers = planned.headers("manager", manager_id=OWN)
    response = service_client.get(f"/v1/managers/{OWN}/contact-plan?week=2026-48", headers=headers)
    assert response.status_code == 422


def test_outcome_of_an_entry_is_recorded_through_feedback_and_blocks_the_product(
    env: Any, service_client: FlaskClient
) -> None:
    # feedback is recorded at the real clock's time, so plan the real clock's week
    year, week, _ = dt.datetime.now(dt.UTC).isocalendar()
    this_week = f"{year}-W{week:02d}"
    url = f"/v1/managers/{OWN}/contact-plan?week={this_week}"
    planner = build_planner(env.settings)
    planner.plan_week(this_week)
    headers = env.headers("manager", manager_id=OWN)
    entry = next(
        e for e in service_client.get(url, headers=headers).get_json()["entries"] if e["products"]
    )
    product = entry["products"][0]
    body = {"request_id": entry["request_id"], "product_id": product, "outcome": "declined",
            "staff_id": "S001"}  # fmt: skip
    assert service_client.post("/v1/feedback", json=body, headers=headers).status_code == 201
    planner.plan_week(this_week)
    planner.engine.dispose()
    again = service_client.get(url, headers=headers).get_json()["entries"]
    assert entry["customer_id"] not in {e["customer_id"] for e in again}  # contacted this week


def test_every_entry_respects_the_rules_and_the_contact_policy(planned: Any) -> None:
    planner = build_planner(planned.settings)
    as_of = week_start(WEEK)
    since = as_of - dt.timedelta(days=planner.rules.declined_fatigue_days)
    with Session(planner.engine) as session:
        for manager_id in (OWN, OTHER):
            rows = manager_plan(planner.engine, Caller(role="admin"), manager_id, WEEK)
            assert rows
            for row in rows:
                customer = get_customer(session, row["customer_id"])
                assert customer is not None and customer.manager_id == manager_id
                assert customer.consent_marketing and not customer.open_complaint
                declines = recent_declines(session, customer.customer_id, since)
                verdict = evaluate(
                    customer, planner.catalogue, channel="manager", as_of=as_of,
                    rules=planner.rules, bank=planner.bank, recent_declines=declines,
                )  # fmt: skip
                assert set(row["products"]) <= {p.product_id for p in verdict.eligible}
    planner.engine.dispose()
