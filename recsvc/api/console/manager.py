"""The client manager's screens: this week's contact plan, and one customer of the book."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, render_template, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest

from recsvc.api.console.blueprint import bp
from recsvc.api.console.charts import maturity_timeline
from recsvc.api.console.session import caller, lang, page, signed_in, t
from recsvc.api.context import request_id
from recsvc.api.recommend import service
from recsvc.catalog import Catalogue
from recsvc.service.answers import RecommendRequest
from recsvc.service.contact_plan import manager_plan, week_of
from recsvc.service.profiles import profile_view

_WEEK = re.compile(r"\A[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])\Z")
SUGGESTIONS = 5


def product_name(product_id: str) -> str:
    catalogue: Catalogue = current_app.extensions["recsvc.catalogue"]
    product = catalogue.get(product_id)
    return product.name(lang()) if product is not None else product_id


@bp.route("/plan", methods=["GET"])
@page("manager")
def plan() -> str:
    svc = service()
    week = request.args.get("week") or week_of(svc.today())
    if not _WEEK.match(week):
        raise BadRequest()
    principal = signed_in()
    assert principal is not None
    entries = manager_plan(svc.engine, caller(), principal.manager_id or "", week)
    return render_template(
        "console/plan.html", week=week, entries=entries, product_name=product_name
    )


@bp.route("/customers/<string:customer_id>", methods=["GET"])
@page("manager")
def customer(customer_id: str) -> str:
    svc = service()
    with Session(svc.engine) as session:
        found = svc.customer(session, caller(), customer_id)
    today = svc.today()
    profile = profile_view(found, bank=svc.bank, as_of=today)
    answer = svc.recommend(
        RecommendRequest(
            request_id=request_id(),
            caller=caller(),
            channel="manager",
            customer_id=customer_id,
            limit=SUGGESTIONS,
            locale=lang(),
        )
    )
    chart = maturity_timeline(
        profile["holdings"], today=today, name=product_name, today_label=t("today")
    )
    return render_template(
        "console/customer.html",
        profile=profile,
        answer=answer,
        chart=chart,
        product_name=product_name,
        today=today,
        **_extra(profile),
    )


def _extra(profile: dict[str, Any]) -> dict[str, Any]:
    return {"tier_name": profile["tier_name"].get(lang(), profile["tier"])}
