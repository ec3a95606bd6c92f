"""The teller's screen: one pitch for the customer at the counter, and their answer recorded."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from recsvc.api.console.blueprint import bp
from recsvc.api.console.session import caller, lang, page, signed_in, t
from recsvc.api.context import request_id
from recsvc.api.recommend import service
from recsvc.customers.profile import TRANSACTION_TYPES, Transaction
from recsvc.service.answers import RecommendRequest
from recsvc.store.constants import PITCH_OUTCOMES

MAX_AMOUNT = 1e12


@bp.route("/teller", methods=["GET"])
@page("teller", "manager")
def teller() -> str:
    return render_template("console/teller.html", **_form_context())


@bp.route("/teller/pitch", methods=["POST"])
@page("teller", "manager")
def teller_pitch() -> str:
    customer_id = request.form.get("customer_id", "").strip()
    if not 1 <= len(customer_id) <= 64:
        raise BadRequest()
    answer = service().recommend(
        RecommendRequest(
            request_id=request_id(),
            caller=caller(),
            channel="teller",
            customer_id=customer_id,
            transaction=_transaction(),
            limit=1,
            locale=lang(),
        ),
        pitch_only=True,
    )
    return render_template(
        "console/teller.html",
        answer=answer,
        outcomes=PITCH_OUTCOMES,
        **_form_context(customer_id),
    )


@bp.route("/teller/feedback", methods=["POST"])
@page("teller", "manager")
def teller_feedback() -> Response:
    outcome = request.form.get("outcome", "")
    rid, product_id = request.form.get("request_id", ""), request.form.get("product_id", "")
    if outcome not in PITCH_OUTCOMES or not (0 < len(rid) <= 64 and 0 < len(product_id) <= 64):
        raise BadRequest()
    principal = signed_in()
    assert principal is not None
    created = service().record_feedback(
        request_id=rid,
        product_id=product_id,
        outcome=outcome,
        staff_id=principal.staff_id or principal.key_id,
    )
    flash(t("feedback_saved" if created else "feedback_repeat") + t(f"outcome_{outcome}"))
    return redirect(url_for("console.teller"), code=303)


def _transaction() -> Transaction | None:
    kind = request.form.get("txn_type", "")
    if not kind:
        return None
    if kind not in TRANSACTION_TYPES:
        raise BadRequest()
    try:
        amount = float(request.form.get("amount") or 0)
    except ValueError as exc:
        raise BadRequest() from exc
    if not 0 <= amount <= MAX_AMOUNT:
        raise BadRequest()
    return Transaction(type=kind, amount=amount)


def _form_context(customer_id: str = "") -> dict[str, Any]:
    return {
        "txn_types": TRANSACTION_TYPES,
        "customer_id": customer_id,
        "txn_type": request.form.get("txn_type", ""),
        "amount": request.form.get("amount", ""),
    }
