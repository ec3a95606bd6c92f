"""Serving a stored contact plan: a manager's week, each entry checked again against the
customer as they are now."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from recsvc.catalog import Catalogue
from recsvc.customers.bank import BankConfig
from recsvc.rules import RulesConfig, codes, evaluate
from recsvc.service.answers import Caller
from recsvc.service.errors import NotFound
from recsvc.service.weeks import week_start
from recsvc.store.contact_plan import acceptances_of, customers_by_ids, declines_of, plan_of

CHANNEL = "manager"


def manager_plan(
    engine: Engine, caller: Caller, manager_id: str, week: str
) -> list[dict[str, Any]]:
    """A manager's plan, best first; a manager asking for another's book gets 404, not 403."""
    week_start(week)
    if caller.role == "manager" and caller.manager_id != manager_id:
        raise NotFound(f"no contact plan of manager {manager_id!r} in your book")
    with Session(engine) as session:
        return plan_of(session, week, manager_id)


def recheck_plan(
    engine: Engine,
    entries: list[dict[str, Any]],
    *,
    manager_id: str,
    as_of: dt.date,
    catalogue: Catalogue,
    rules: RulesConfig,
    bank: BankConfig,
    tz: dt.tzinfo,
) -> list[dict[str, Any]]:
    """A stored plan checked again against the customers as they are now, when it is served.

    A customer no longer in the manager's book (or no longer stored) is dropped. A customer who
    may not be contacted now (opted out, open complaint) stays listed, marked `blocked` with the
    reason codes, with nothing to suggest or say. A product that no longer passes the rules
    (declined, accepted and being opened, held, assessment expired...) moves from `products` to
    `withdrawn`, with its reason codes."""
    ids = [e["customer_id"] for e in entries]
    customers = customers_by_ids(engine, ids) if ids else {}
    with Session(engine) as session:
        since = as_of - dt.timedelta(days=rules.declined_fatigue_days)
        declines = declines_of(session, ids, since, tz=tz) if ids else {}
        opened_since = as_of - dt.timedelta(days=rules.opening_days)
        accepted = acceptances_of(session, ids, opened_since, tz=tz) if ids else {}
    out = []
    for entry in entries:
        customer = customers.get(entry["customer_id"])
        if customer is None or customer.manager_id != manager_id:
            continue
        verdict = evaluate(
            customer, catalogue, channel=CHANNEL, as_of=as_of, rules=rules, bank=bank,
            recent_declines=declines.get(customer.customer_id, {}),
            recent_acceptances=accepted.get(customer.customer_id, {}),
        )  # fmt: skip
        blocked = [
            code
            for code, applies in (
                (codes.NO_CONSENT, not customer.consent_marketing),
                (codes.OPEN_COMPLAINT, customer.open_complaint),
            )
            if applies
        ]
        eligible = set(verdict.eligible_ids)
        products = [p for p in entry["products"] if p in eligible]
        withdrawn = [
            {"product_id": p, "codes": [e.code for e in verdict.reasons_for(p)]}
            for p in entry["products"]
            if p not in eligible
        ]
        checked = {**entry, "products": products, "withdrawn": withdrawn, "blocked": blocked}
        if blocked:
            checked.update(products=[], talking_points=[])
        out.append(checked)
    return out
