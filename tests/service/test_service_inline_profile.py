"""Issue 9, item 1: an inline profile never overrides the store. A stored customer's regulated
attributes (consent, open complaint, risk level and assessment date, birth date) are the
store's, an inline profile may only add context; a prospect counts as unassessed and unverified;
inline answers are audited with the profile used (replayable), and the daily cap applies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from apptesting import ServiceEnv
from factories import customer_payload
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from service_support import first, through_fixtures

from recsvc.api.extensions import extensions
from recsvc.catalog.product import Product
from recsvc.customers import CustomerSchema
from recsvc.rules.codes import NO_CONSENT, REASON_CODES, REDO_RISK_ASSESSMENT
from recsvc.service.answers import Caller, RecommendRequest
from recsvc.service.config import DAILY_PITCH_LIMIT
from recsvc.service.recommend import CrossSellService

UNASSESSED_MAX_RISK = 1


@pytest.fixture(scope="module")
def svc(module_app: Flask) -> CrossSellService:
    service: CrossSellService = extensions(module_app).service
    return service


@pytest.fixture(scope="module")
def teller(module_env: ServiceEnv) -> dict[str, str]:
    return module_env.headers("teller", staff_id="T-INLINE")


@pytest.fixture(scope="module")
def compliance(module_env: ServiceEnv) -> dict[str, str]:
    return module_env.headers("compliance")


def ask(client: FlaskClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    reply = client.post("/v1/recommendations", json={"limit": 20, **body}, headers=headers)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return dict(reply.get_json())


def audited(client: FlaskClient, compliance: dict[str, str], request_id: str) -> dict[str, Any]:
    reply = client.get(f"/v1/audit/{request_id}", headers=compliance)
    assert reply.status_code == 200
    return dict(reply.get_json()["payload"])


def offered(answer: dict[str, Any]) -> set[str]:
    pitch = answer["pitch"]
    return {r["product_id"] for r in answer["recommendations"]} | (
        {pitch["product_id"]} if pitch else set()
    )


def ruled_out(answer: dict[str, Any]) -> set[str]:
    """Products the rules exclude (not the contact policy or arbitration)."""
    return {e["product_id"] for e in answer["excluded"] if set(e["codes"]) & set(REASON_CODES)}


def depends_on_unverified(product: Product) -> bool:
    """Eligibility that needs assets, income, tier or holdings at the bank to be true."""
    rule = product.eligibility
    return bool(
        rule.min_aum > 0
        or rule.min_monthly_income > 0
        or rule.required_holdings
        or rule.tiers is not None
    )


def wire_row(row: dict[str, str]) -> dict[str, Any]:
    """The regulated attributes of a bank export row, in wire form."""
    return {
        "consent_marketing": row["consent_marketing"] == "1",
        "open_complaint": row["open_complaint"] == "1",
        "risk_level": row["risk_level"] or None,
        "assessment_date": row["assessment_date"] or None,
        "birth_date": row["birth_date"],
    }


def test_an_opted_out_stored_customer_gets_nothing_whatever_the_inline_profile_says(
    module_client: FlaskClient, teller: dict[str, str], customers: list[dict[str, str]],
    svc: CrossSellService,
) -> None:  # fmt: skip
    row = first(customers, consent_marketing="0")
    recent = (svc.today() - dt.timedelta(days=10)).isoformat()
    inline = customer_payload(
        customer_id=row["customer_id"], risk_level="C5", assessment_date=recent,
        consent_marketing=True, open_complaint=False, aum=12_000_000, monthly_income=80_000,
    )  # fmt: skip
    for channel in ("teller", "self_service"):
        answer = ask(module_client, teller, customer=inline, channel=channel)
        assert offered(answer) == set()
        assert all(NO_CONSENT in e["codes"] for e in answer["excluded"])
        assert len(answer["excluded"]) == len(svc.catalogue.ids)


def test_a_prospect_is_unassessed_and_unverified_whatever_is_sent(
    module_client: FlaskClient, teller: dict[str, str], compliance: dict[str, str],
    svc: CrossSellService,
) -> None:  # fmt: skip
    recent = (svc.today() - dt.timedelta(days=10)).isoformat()
    inline = customer_payload(
        customer_id=f"PROS{uuid.uuid4().hex[:8]}", risk_level="C5", assessment_date=recent,
        aum=12_000_000, monthly_income=80_000, birth_date="1980-01-01",
        holdings=[{"product_id": "credit_card"}],
    )  # fmt: skip
    answer = ask(module_client, teller, customer=inline, channel="teller")
    products = {p.product_id: p for p in svc.catalogue.products}
    assert offered(answer), "a prospect may still be offered the plainest products"
    for pid in offered(answer):
        assert (products[pid].risk_level or 0) <= UNASSESSED_MAX_RISK, pid
        assert not depends_on_unverified(products[pid]), pid
    assert REDO_RISK_ASSESSMENT in [a["code"] for a in answer["next_actions"]]
    profile = audited(module_client, compliance, answer["request_id"])["profile"]
    assert profile["risk_level"] is None and profile["assessment_date"] is None
    assert profile["aum"] == 0 and profile["monthly_income"] == 0 and profile["holdings"] == []


@st.composite
def overrides(draw: st.DrawFn, today: dt.date) -> dict[str, Any]:
    """Whatever a caller might send inline to loosen (or tighten) the stored record."""
    level = draw(st.sampled_from([None, "C1", "C3", "C5"]))
    assessed = None
    if level is not None:
        assessed = (today - dt.timedelta(days=draw(st.integers(0, 800)))).isoformat()
    return {
        "consent_marketing": draw(st.booleans()),
        "open_complaint": draw(st.booleans()),
        "risk_level": level,
        "assessment_date": assessed,
        "birth_date": draw(st.sampled_from(["1950-03-01", "1985-07-20", "2012-01-01"])),
        "aum": draw(st.sampled_from([0, 60_000, 12_000_000])),
        "monthly_income": draw(st.sampled_from([0, 80_000])),
        "holdings": [
            {"product_id": p}
            for p in draw(st.lists(st.sampled_from(["credit_card", "mobile_banking"]), unique=True))
        ],
        "recent_transactions": draw(
            st.sampled_from([[], [{"type": "cash_deposit", "amount": 300_000}]])
        ),
    }


@through_fixtures(40)
@given(data=st.data())
def test_inline_overrides_never_loosen_a_stored_customer(
    data: st.DataObject,
    module_client: FlaskClient,
    teller: dict[str, str],
    compliance: dict[str, str],
    customers: list[dict[str, str]],
    svc: CrossSellService,
) -> None:
    row = data.draw(st.sampled_from(customers[:200]))
    sent = data.draw(overrides(svc.today()))
    inline = customer_payload(customer_id=row["customer_id"], **sent)
    channel = data.draw(st.sampled_from(["teller", "self_service"]))
    by_id = ask(module_client, teller, customer_id=row["customer_id"], channel=channel)
    answer = ask(module_client, teller, customer=inline, channel=channel)

    # nothing the rules rule out for the stored customer is offered because of the inline profile
    assert not offered(answer) & ruled_out(by_id), (offered(answer) & ruled_out(by_id), sent)

    # and the profile used (audited) is never looser than the store in a regulated attribute
    stored, used = wire_row(row), audited(module_client, compliance, answer["request_id"])
    used = used["profile"]
    assert used["consent_marketing"] <= stored["consent_marketing"]
    assert used["open_complaint"] >= stored["open_complaint"]
    assert used["birth_date"] == stored["birth_date"]
    assert used["assessment_date"] == stored["assessment_date"]
    if stored["risk_level"] is None:
        assert used["risk_level"] is None
    else:
        assert used["risk_level"] is not None and used["risk_level"] <= stored["risk_level"]


@through_fixtures(25)
@given(data=st.data())
def test_a_prospect_is_never_offered_what_needs_verified_data(
    data: st.DataObject, module_client: FlaskClient, teller: dict[str, str],
    svc: CrossSellService,
) -> None:  # fmt: skip
    sent = data.draw(overrides(svc.today()))
    inline = customer_payload(customer_id=f"PROS{uuid.uuid4().hex[:8]}", **sent)
    answer = ask(module_client, teller, customer=inline, channel="teller")
    products = {p.product_id: p for p in svc.catalogue.products}
    for pid in offered(answer):
        assert (products[pid].risk_level or 0) <= UNASSESSED_MAX_RISK, (pid, sent)
        assert not depends_on_unverified(products[pid]), (pid, sent)


@pytest.mark.parametrize("kind", ["stored", "prospect"])
def test_an_inline_answer_is_audited_with_the_profile_used_and_replays(
    module_client: FlaskClient, teller: dict[str, str], compliance: dict[str, str],
    customers: list[dict[str, str]], svc: CrossSellService, kind: str,
) -> None:  # fmt: skip
    if kind == "stored":
        row = first(customers, consent_marketing="1", open_complaint="0", risk_level="C3")
        customer_id = row["customer_id"]
    else:
        customer_id = f"PROS{uuid.uuid4().hex[:8]}"
    inline = customer_payload(
        customer_id=customer_id, name="欧阳娜娜", phone="13800138000",
        recent_transactions=[{"type": "cash_deposit", "amount": 80_000}],
    )  # fmt: skip
    answer = ask(module_client, teller, customer=inline, channel="teller", locale="zh-CN")
    payload = audited(module_client, compliance, answer["request_id"])
    profile = payload["profile"]
    assert profile["phone"] is None and profile["id_number"] is None
    assert "娜娜" not in str(payload)
    replay = svc.recommend(
        RecommendRequest(
            request_id=f"replay-{answer['request_id']}",
            caller=Caller(**payload["caller"]),
            channel=payload["request"]["channel"],
            customer=CustomerSchema().load(profile),
            limit=payload["request"]["limit"],
            locale=payload["request"]["locale"],
            as_of=dt.date.fromisoformat(payload["answer"]["as_of"]),
        )
    ).to_dict()
    replay["request_id"] = answer["request_id"]
    assert replay == payload["answer"]


def test_the_daily_cap_holds_for_inline_answers_and_their_feedback_uses_it(
    module_client: FlaskClient, teller: dict[str, str]
) -> None:
    inline = customer_payload(customer_id=f"PROS{uuid.uuid4().hex[:8]}")
    answer = ask(module_client, teller, customer=inline, channel="teller")
    product = answer["pitch"]["product_id"]
    feedback = {"request_id": answer["request_id"], "product_id": product, "outcome": "declined"}
    assert module_client.post("/v1/feedback", json=feedback, headers=teller).status_code == 201

    again = ask(module_client, teller, customer=inline, channel="teller")
    assert again["pitch"] is None  # the day's pitch was said (and declined)
    capped = {e["product_id"] for e in again["excluded"] if e["code"] == DAILY_PITCH_LIMIT}
    assert capped and not capped & offered(again)
