"""A hand-made book whose plan is computed by hand: triggers, order, caps, policy, REASSIGN.

Weights (contact_plan.yaml): MATURING 40, VALUE_SWING 25, KEY_DATE 10, ASSESSMENT_EXPIRING 15,
FOLLOW_UP 20; BZC x 0.2. No model and degraded propensity 0, so priority = sum of weights.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from contact_plan_support import MONDAY, WEEK, book_customer, days, store_book
from sqlalchemy.orm import Session

from recsvc.rules import evaluate
from recsvc.service.contact_plan import ContactPlanner
from recsvc.store import get_customer, record_pitch
from recsvc.store.tables import PitchHistoryRow

Plan = Callable[[str], dict[str, dict[str, Any]]]
APP = {"counter_visits_90d": 2, "mobile_logins_90d": 40}


def _book() -> list[Any]:
    maturing = [{"product_id": "time_deposit", "amount": 50000, "maturity_date": days(10)}]
    return [
        # M2: level 1, cap 10
        book_customer("CA", "M2", holdings=maturing),
        book_customer("CB", "M2", birth_date="1980-11-26",
                      channel_habits={"counter_visits_90d": 12}),
        book_customer("CC", "M2", assessment_date=days(-345),
                      channel_habits={"online_logins_90d": 20, "mobile_logins_90d": 5,
                                      "counter_visits_90d": 1}),
        book_customer("CD", "M2", consent_marketing=False,
                      holdings=[{"product_id": "time_deposit", "maturity_date": days(5)}]),
        book_customer("CE", "M2", open_complaint=True, birth_date="1980-11-25"),
        book_customer("CJ", "M2", holdings=[{"product_id": "time_deposit",
                                             "maturity_date": days(12)}]),
        book_customer("CK", "M2", holdings=maturing),
        book_customer("CR", "M2", aum=1_200_000, holdings=[
            {"product_id": "time_deposit", "maturity_date": days(8), "value_change_pct": -7.5}]),
        book_customer("CZ", "M2", aum=10_000, salary_via_bank=False, birth_date="1980-11-24"),
        book_customer("CN", "M2"),  # no trigger at all
        # M1: level 3, cap 2, four eligible customers
        book_customer("CF", "M1", birth_date="1980-11-28",
                      holdings=[{"product_id": "time_deposit", "maturity_date": days(20)}]),
        book_customer("CG", "M1", holdings=[{"product_id": "wealth_r2", "value_change_pct": 6.0}]),
        book_customer("CH", "M1", holdings=[{"product_id": "fund_plan", "open_date": days(-10)}]),
        book_customer("CI", "M1", birth_date="1980-11-29"),
    ]  # fmt: skip


@pytest.fixture
def planned(planner: ContactPlanner, plan_of: Plan) -> tuple[Plan, str]:
    """The book stored, CJ pitched on Tuesday, CK declined CA's top product; planned once.

    Returns the reader and CA's top product (what CK declined)."""
    store_book(planner.engine, _book(), {"M1": (3, 2), "M2": (1, 10)})
    with Session(planner.engine) as session:
        record_pitch(session, request_id="r-1", customer_id="CJ", product_id="credit_card",
                     day=MONDAY + dt.timedelta(days=1), channel="teller")  # fmt: skip
        session.commit()
    planner.plan_week(WEEK, chunk_size=3)
    top = plan_of("M2")["CA"]["products"][0]
    with Session(planner.engine) as session:
        declined = MONDAY - dt.timedelta(days=5)
        row = PitchHistoryRow(
            customer_id="CK", product_id=top, date=declined, channel="manager", outcome="declined"
        )
        session.add(row)
        session.commit()
    planner.plan_week(WEEK, chunk_size=3)
    return plan_of, top


def test_manager_two_entries_codes_and_order_as_computed_by_hand(planned: tuple[Plan, str]) -> None:
    plan = planned[0]("M2")
    got = [(cid, e["triggers"], e["priority"], e["flag"]) for cid, e in plan.items()]
    assert got == [
        ("CR", ["MATURING", "VALUE_SWING"], 65.0, "REASSIGN"),
        ("CA", ["MATURING"], 40.0, None),
        ("CK", ["MATURING"], 40.0, None),
        ("CC", ["ASSESSMENT_EXPIRING"], 15.0, None),
        ("CB", ["KEY_DATE"], 10.0, None),
        ("CZ", ["KEY_DATE"], 2.0, None),  # below zero value: 10 x 0.2
    ]
    assert [e["rank"] for e in plan.values()] == [1, 2, 3, 4, 5, 6]


def test_capped_manager_keeps_the_two_highest_priorities(planned: tuple[Plan, str]) -> None:
    plan = planned[0]("M1")
    assert [(cid, e["triggers"], e["priority"]) for cid, e in plan.items()] == [
        ("CF", ["MATURING", "KEY_DATE"], 50.0),
        ("CG", ["VALUE_SWING"], 25.0),
    ]  # CH (FOLLOW_UP 20) and CI (KEY_DATE 10) are beyond the cap of 2


def test_opted_out_complaint_contacted_and_triggerless_customers_are_not_listed(
    planned: tuple[Plan, str],
) -> None:
    assert not {"CD", "CE", "CJ", "CN"} & set(planned[0]("M2"))


def test_a_declined_product_is_not_suggested_again(planned: tuple[Plan, str]) -> None:
    plan, top = planned
    assert top in plan("M2")["CA"]["products"]
    assert top not in plan("M2")["CK"]["products"]
    assert plan("M2")["CK"]["products"]


def test_talking_points_channels_and_request_ids(planned: tuple[Plan, str]) -> None:
    plan = planned[0]("M2")
    maturing = plan["CA"]["talking_points"]
    assert [p["code"] for p in maturing] == ["MATURING", "SUGGESTION"]
    assert "10 days" in maturing[0]["en"] and "10天" in maturing[0]["zh-CN"]
    codes = [p["code"] for p in plan["CR"]["talking_points"]]
    assert codes == ["REASSIGN", "MATURING", "VALUE_SWING"]
    assert "20 days" in plan["CC"]["talking_points"][0]["en"]
    assert {c: plan[c]["channel"] for c in ("CA", "CB", "CC")} == {
        "CA": "app_message", "CB": "branch_visit", "CC": "phone",
    }  # fmt: skip
    assert all(e["request_id"].startswith(f"cp-{WEEK}-") for e in plan.values())
    assert len({e["request_id"] for e in plan.values()}) == len(plan)


def test_suggestions_are_what_the_rules_allow_for_the_manager_channel(
    planner: ContactPlanner, planned: tuple[Plan, str]
) -> None:
    plan = planned[0]("M2")
    with Session(planner.engine) as session:
        for customer_id in ("CA", "CB", "CC", "CR"):
            customer = get_customer(session, customer_id)
            assert customer is not None
            verdict = evaluate(
                customer, planner.catalogue, channel="manager", as_of=MONDAY,
                rules=planner.rules, bank=planner.bank,
            )  # fmt: skip
            allowed = {p.product_id for p in verdict.eligible}
            assert 1 <= len(plan[customer_id]["products"]) <= 3
            assert set(plan[customer_id]["products"]) <= allowed


def test_planning_again_replaces_the_week(
    planner: ContactPlanner, planned: tuple[Plan, str]
) -> None:
    plan = planned[0]
    before = plan("M2")
    with Session(planner.engine) as session:
        record_pitch(session, request_id="r-2", customer_id="CA", product_id="credit_card",
                     day=MONDAY + dt.timedelta(days=2), channel="teller")  # fmt: skip
        session.commit()
    planner.plan_week(WEEK)
    after = plan("M2")
    assert list(after) == [c for c in before if c != "CA"]
    assert {e["request_id"] for e in after.values()}.isdisjoint(
        e["request_id"] for e in before.values()
    )
