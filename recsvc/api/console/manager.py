"""The client manager's screens: this week's contact plan, and one customer of the book.

The plan: masked names, filters by trigger and channel, pages, previous and next week, and a
contact recorded per customer through the same feedback path as POST /v1/feedback. A customer:
profile, maturity timeline, suggestions; the full phone number only after an explicit, audited
request (a POST), shown for a short while to this session only and never logged.
"""

from __future__ import annotations

import re
import time
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from recsvc.api.console.blueprint import bp
from recsvc.api.console.charts import maturity_timeline
from recsvc.api.console.session import caller, console_request, lang, page, signed_in, t
from recsvc.api.context import request_id
from recsvc.api.extensions import extensions
from recsvc.customers import Customer
from recsvc.service.contact_triggers import trigger_label
from recsvc.service.desk import (
    PLAN_CHANNELS,
    assessment_expired,
    plan_entry,
    plan_page,
    reveal_phone,
)
from recsvc.service.profiles import profile_view
from recsvc.service.weeks import week_of
from recsvc.store.constants import PITCH_OUTCOMES

_WEEK = re.compile(r"\A[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])\Z")
SUGGESTIONS = 5
REVEAL_SECONDS = 120  # how long a revealed number stays on this session's page


def product_name(product_id: str) -> str:
    catalogue = extensions().catalogue
    product = catalogue.get(product_id)
    return product.name(lang()) if product is not None else product_id


def _week_arg(value: str | None) -> str:
    week = value or week_of(extensions().service.today())
    if not _WEEK.match(week):
        raise BadRequest()
    return week


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise BadRequest()
    return value


def _page_number() -> int:
    raw = request.args.get("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise BadRequest()
    return int(raw)


@bp.route("/plan", methods=["GET"])
@page("manager")
def plan() -> str:
    week = _week_arg(request.args.get("week"))
    ext = extensions()
    config = ext.services.contact_plan
    trigger = _choice("trigger", config.codes)
    channel = _choice("channel", PLAN_CHANNELS)
    principal = signed_in()
    assert principal is not None
    svc = ext.service
    shown = plan_page(
        ext.engine, svc.contact_plan(caller(), principal.manager_id or "", week), week,
        trigger=trigger, channel=channel, page=_page_number(), triggers=config.codes,
    )  # fmt: skip
    filters = {"trigger": trigger or "", "channel": channel or ""}
    return render_template(
        "console/plan.html",
        week=week,
        plan=shown,
        entries=shown.entries,
        filters=filters,
        triggers=config.codes,
        trigger_label=lambda code: trigger_label(config, code, lang()),
        channels=PLAN_CHANNELS,
        outcomes=PITCH_OUTCOMES,
        product_name=product_name,
        plan_url=lambda **changes: url_for(
            "console.plan", **{k: v for k, v in {"week": week, **filters, **changes}.items() if v}
        ),
    )


@bp.route("/plan/contact", methods=["POST"])
@page("manager")
def plan_contact() -> Response:
    """The customer was contacted: the outcome for one suggested product, recorded through
    the feedback path of the API (on the plan entry's audited request id)."""
    form = request.form
    week = _week_arg(form.get("week"))
    customer_id, product_id = form.get("customer_id", ""), form.get("product_id", "")
    outcome = form.get("outcome", "")
    if outcome not in PITCH_OUTCOMES or not (0 < len(customer_id) <= 64):
        raise BadRequest()
    principal = signed_in()
    assert principal is not None
    plan = extensions().service.contact_plan(caller(), principal.manager_id or "", week)
    entry = plan_entry(plan, week, customer_id)
    if product_id not in entry["products"]:
        raise BadRequest()
    created = extensions().service.record_feedback(
        request_id=entry["request_id"],
        product_id=product_id,
        outcome=outcome,
        caller=caller(),
    )
    flash(
        t("contact_saved" if created else "feedback_repeat", customer=customer_id)
        + t(f"outcome_{outcome}")
    )
    back: dict[str, Any] = {k: form[k] for k in ("trigger", "channel", "page") if form.get(k)}
    return redirect(url_for("console.plan", week=week, **back), code=303)


@bp.route("/customers/<string:customer_id>", methods=["GET"])
@page("manager")
def customer(customer_id: str) -> str:
    ext = extensions()
    svc = ext.service
    found = _book_customer(customer_id)
    today = svc.today()
    profile = profile_view(found, bank=ext.services.bank, as_of=today)
    answer = svc.recommend(console_request("manager", customer_id, limit=SUGGESTIONS))
    chart = maturity_timeline(
        profile["holdings"], today=today, name=product_name, today_label=t("today"),
        matured_label=t("matured"),
    )  # fmt: skip
    revealed = session.get("revealed") or {}
    phone = None
    if revealed.get("customer_id") == customer_id and time.time() < revealed.get("until", 0):
        phone = found.phone
    return render_template(
        "console/customer.html",
        profile=profile,
        answer=answer,
        chart=chart,
        product_name=product_name,
        today=today,
        full_phone=phone,
        assessment_expired=assessment_expired(
            found, as_of=today, validity_days=ext.services.rules.assessment_validity_days
        ),
        **_extra(profile),
    )


@bp.route("/customers/<string:customer_id>/phone", methods=["POST"])
@page("manager")
def reveal(customer_id: str) -> Response:
    """Show the full number to make a call: an explicit action, audited (without the number)."""
    found = _book_customer(customer_id)
    reveal_phone(extensions().engine, caller(), found, audit_request_id=request_id())
    session["revealed"] = {"customer_id": customer_id, "until": time.time() + REVEAL_SECONDS}
    return redirect(url_for("console.customer", customer_id=customer_id) + "#phone", code=303)


def _book_customer(customer_id: str) -> Customer:
    """The stored customer, who must be in the caller's book (else NotFound: a 404)."""
    ext = extensions()
    with Session(ext.engine) as db:
        return ext.service.customer(db, caller(), customer_id)


def _extra(profile: dict[str, Any]) -> dict[str, Any]:
    return {"tier_name": profile["tier_name"].get(lang(), profile["tier"])}
