"""Issue 9, item 6: a holding past its maturity date on the service's date is no longer held: its
product is not excluded as ALREADY_HELD (on the request path and in the contact plan), and it
feeds the renewal trigger (MATURED) instead."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from apptesting import ServiceEnv
from factories import customer_payload, make_customer
from flask.testing import FlaskClient

from recsvc.api.extensions import extensions
from recsvc.rules import evaluate
from recsvc.rules.codes import ALREADY_HELD
from recsvc.service.contact_plan import DEFAULT_CONFIG
from recsvc.service.contact_triggers import (
    MATURED,
    MATURING,
    VALUE_SWING,
    Found,
    load_contact_plan_config,
    profile_triggers,
)
from recsvc.service.recommend import CrossSellService

POLICY = "insurance_protection"  # a one-year policy: not repeatable while held


def test_a_matured_policy_is_not_held_but_one_maturing_later_is(
    env: ServiceEnv, service_app: object, service_client: FlaskClient
) -> None:
    svc: CrossSellService = extensions(service_app).service  # type: ignore[attr-defined]
    today = svc.today()
    codes = {}
    for label, maturity in (("matured", -12), ("today", 0), ("later", 10)):
        customer_id = f"MAT{uuid.uuid4().hex[:10]}"
        holding = {"product_id": POLICY, "amount": 5000, "open_date": "2025-01-01",
                   "maturity_date": (today + dt.timedelta(days=maturity)).isoformat()}  # fmt: skip
        env.store_customer(customer_payload(
            customer_id=customer_id, holdings=[holding],
            assessment_date=today.replace(day=1).isoformat(),
        ))  # fmt: skip
        body = {"customer_id": customer_id, "limit": 20}
        answer = service_client.post(
            "/v1/recommendations", json=body, headers=env.headers("teller")
        ).get_json()
        codes[label] = [c for e in answer["excluded"] if e["product_id"] == POLICY
                        for c in e["codes"]]  # fmt: skip
    assert ALREADY_HELD not in codes["matured"]
    assert ALREADY_HELD in codes["today"] and ALREADY_HELD in codes["later"]


def test_the_rules_read_holdings_on_the_day_asked(settings: object, bank: object) -> None:
    from recsvc.catalog import load_catalogue
    from recsvc.rules import load_rules_config

    catalogue = load_catalogue(settings.catalogue_path)  # type: ignore[attr-defined]
    rules = load_rules_config(settings.rules_config_path)  # type: ignore[attr-defined]
    customer = make_customer(holdings=[{"product_id": POLICY, "maturity_date": "2026-09-01"}])
    for day, held in ((dt.date(2026, 9, 1), True), (dt.date(2026, 9, 2), False)):
        verdict = evaluate(customer, catalogue, channel="teller", as_of=day, rules=rules,
                           bank=bank)  # type: ignore[arg-type]  # fmt: skip
        assert (ALREADY_HELD in [e.code for e in verdict.reasons_for(POLICY)]) is held, day


def test_a_matured_holding_feeds_the_renewal_trigger_only() -> None:
    config = load_contact_plan_config(Path(DEFAULT_CONFIG))
    as_of = dt.date(2026, 11, 23)
    customer = make_customer(
        birth_date="1980-06-15", customer_since=None,
        holdings=[{"product_id": "time_deposit", "maturity_date": "2026-11-11",
                   "value_change_pct": -9.0, "open_date": "2025-11-11"}],
    )  # fmt: skip
    found = profile_triggers(customer, as_of=as_of, days_to_expiry=None, config=config)
    assert Found(MATURED, "time_deposit", 12) in found
    assert not {f.code for f in found} & {MATURING, VALUE_SWING}
    long_ago = make_customer(
        birth_date="1980-06-15", customer_since=None,
        holdings=[{"product_id": "time_deposit", "maturity_date": "2026-01-11"}],
    )  # fmt: skip
    assert MATURED not in {f.code for f in profile_triggers(
        long_ago, as_of=as_of, days_to_expiry=None, config=config)}  # fmt: skip
