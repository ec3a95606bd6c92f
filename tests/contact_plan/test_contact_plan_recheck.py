"""Issue 9, item 5: a served contact plan is checked again against the customers as they are now:
a customer who opted out or complains is marked blocked, a product declined since is withdrawn,
each with its reason codes; a customer who left the manager's book is left out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import update

from recsvc.rules.codes import NO_CONSENT, OPEN_COMPLAINT, RECENTLY_DECLINED
from recsvc.service.contact_plan import build_planner
from recsvc.store import make_engine
from recsvc.store.tables import CustomerRow

OWN, OTHER = "M000011001", "M000012001"


def test_a_served_plan_reflects_opt_outs_complaints_declines_and_book_moves(
    env: Any, service_client: FlaskClient
) -> None:
    year, week, _ = dt.datetime.now(dt.UTC).isocalendar()  # the service's today is in this week
    url = f"/v1/managers/{OWN}/contact-plan?week={year}-W{week:02d}"
    planner = build_planner(env.settings)
    planner.plan_week(f"{year}-W{week:02d}")
    planner.engine.dispose()
    manager = env.headers("manager", manager_id=OWN)
    before = service_client.get(url, headers=manager).get_json()["entries"]
    opted, complains, declines, moved = [e for e in before if e["products"]][:4]

    engine = make_engine(env.settings.database_url)
    with engine.begin() as conn:
        for customer_id, values in (
            (opted["customer_id"], {"consent_marketing": False}),
            (complains["customer_id"], {"open_complaint": True}),
            (moved["customer_id"], {"manager_id": OTHER}),
        ):
            conn.execute(
                update(CustomerRow).where(CustomerRow.customer_id == customer_id).values(values)
            )
    engine.dispose()
    product = declines["products"][0]
    body = {"request_id": declines["request_id"], "product_id": product, "outcome": "declined"}
    assert service_client.post("/v1/feedback", json=body, headers=manager).status_code == 201

    after = {e["customer_id"]: e for e in service_client.get(url, headers=manager).get_json()[
        "entries"]}  # fmt: skip
    assert moved["customer_id"] not in after
    for entry, code in ((opted, NO_CONSENT), (complains, OPEN_COMPLAINT)):
        served = after[entry["customer_id"]]
        assert served["blocked"] == [code]
        assert served["products"] == [] and served["talking_points"] == []
    served = after[declines["customer_id"]]
    assert served["blocked"] == []
    assert product not in served["products"]
    assert {"product_id": product, "codes": [RECENTLY_DECLINED]} in served["withdrawn"]
    untouched = [e for e in before if e["customer_id"] not in
                 {opted["customer_id"], complains["customer_id"], declines["customer_id"],
                  moved["customer_id"]}]  # fmt: skip
    for entry in untouched:
        assert after[entry["customer_id"]]["products"] == entry["products"]
        assert after[entry["customer_id"]]["withdrawn"] == []
