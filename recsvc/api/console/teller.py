"""The teller's screen: one pitch for the customer at the counter, and their answer recorded.

Post/redirect/get: asking for a pitch or recording an answer redirects to the pitch's own page
(read back from the audit), so Back and reload never resubmit a form, and the language switch
works there. Errors are shown under their field, in the page's language, with what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from recsvc.api.console.blueprint import bp
from recsvc.api.console.session import (
    caller,
    console_request,
    page,
    signed_in,
    t,
    take_kept_input,
)
from recsvc.api.corrections import correct, correction_window, staff_of
from recsvc.api.extensions import extensions
from recsvc.customers.profile import TRANSACTION_TYPES, Transaction
from recsvc.service.corrections import correctable
from recsvc.service.desk import audited_answer, no_pitch_reason, normalise_customer_id, recorded
from recsvc.service.errors import Conflict, Forbidden, NotFound
from recsvc.store.constants import PITCH_OUTCOMES

MAX_AMOUNT = 1e12
RECENT_PITCHES = 20  # the pitch pages this session may open again (its own, latest first)


class FieldError(Exception):
    """Bad input in one field: shown under it."""

    def __init__(self, field: str, key: str, status: int = 422) -> None:
        super().__init__(field)
        self.field, self.key, self.status = field, key, status


@bp.route("/teller", methods=["GET"])
@page("teller", "manager")
def teller() -> str:
    kept = take_kept_input()
    return render_template("console/teller.html", **_form_context(kept))


@bp.route("/teller/pitch", methods=["GET", "POST"])
@page("teller", "manager")
def teller_pitch() -> Response | tuple[str, int]:
    if request.method == "GET":  # e.g. the language link of an old page: no 405
        return redirect(url_for("console.teller"))
    typed = {f: request.form.get(f, "") for f in ("customer_id", "txn_type", "amount")}
    try:
        customer_id = normalise_customer_id(typed["customer_id"])
        if customer_id is None:
            raise FieldError("customer_id", "err_customer_id")
        transaction = _transaction()
        answer = extensions().service.recommend(
            console_request("teller", customer_id, limit=1, transaction=transaction),
            pitch_only=True,
        )
    except NotFound:
        return _form_error(typed, FieldError("customer_id", "err_no_customer", 404))
    except FieldError as error:
        return _form_error(typed, error)
    _remember(answer.request_id)
    return redirect(url_for("console.teller_result", rid=answer.request_id), code=303)


@bp.route("/teller/pitch/<string:rid>", methods=["GET"])
@page("teller", "manager")
def teller_result(rid: str) -> str:
    if rid not in session.get("pitches", []):
        abort(404)  # only this session's own pitches
    found = audited_answer(extensions().engine, rid)
    if found is None:
        abort(404)
    answer = found["answer"]
    pitch = answer.get("pitch")
    principal = signed_in()
    assert principal is not None
    answered = None
    can_correct = False
    if pitch:
        rows = recorded(extensions().engine, [rid])[rid]
        rows = [r for r in rows if r.product_id == pitch["product_id"]]
        if rows:
            answered = rows[0]
            can_correct = correctable(
                answered, staff_id=staff_of(principal), now=extensions().service.clock(),
                window=correction_window(),
            )  # fmt: skip
    txn = found["request"].get("transaction") or {}
    typed = {
        "customer_id": found["customer_id"] or "",
        "txn_type": txn.get("type", ""),
        "amount": "" if not txn else f"{txn.get('amount', 0):g}",
    }
    return render_template(
        "console/teller.html",
        answer=answer,
        outcomes=PITCH_OUTCOMES,
        answered=answered,
        can_correct=can_correct,
        window_minutes=int(correction_window().total_seconds() // 60),
        why=None if pitch else no_pitch_reason(answer.get("excluded", [])),
        **_form_context(typed),
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
    created = extensions().service.record_feedback(
        request_id=rid,
        product_id=product_id,
        outcome=outcome,
        caller=caller(),
    )
    if created:
        flash(t("feedback_saved") + t(f"outcome_{outcome}"))
    else:
        _correct(principal, rid, product_id, outcome)
    if rid in session.get("pitches", []):
        return redirect(url_for("console.teller_result", rid=rid), code=303)
    return redirect(url_for("console.teller"), code=303)


def _correct(principal: Any, rid: str, product_id: str, outcome: str) -> None:
    """A different answer to an answered pitch corrects it (same staff member, in time)."""
    minutes = int(correction_window().total_seconds() // 60)
    try:
        done = correct(principal, request_id_=rid, product_id=product_id, outcome=outcome)
    except Forbidden:
        flash(t("correct_not_yours"), "error")
        return
    except Conflict:
        flash(t("correct_too_late", minutes=minutes), "error")
        return
    if done.corrected:
        flash(
            t("feedback_corrected", was=t(f"outcome_{done.previous_outcome}"))
            + t(f"outcome_{outcome}")
        )
    else:
        flash(t("feedback_repeat") + t(f"outcome_{outcome}"))


def _remember(rid: str) -> None:
    pitches = [rid, *[p for p in session.get("pitches", []) if p != rid]]
    session["pitches"] = pitches[:RECENT_PITCHES]


def _form_error(typed: dict[str, str], error: FieldError) -> tuple[str, int]:
    context = _form_context(typed)
    context["errors"] = {error.field: t(error.key)}
    return render_template("console/teller.html", **context), error.status


def _transaction() -> Transaction | None:
    kind = request.form.get("txn_type", "")
    if not kind:
        return None
    if kind not in TRANSACTION_TYPES:
        raise FieldError("txn_type", "err_txn_type")
    try:
        amount = float(request.form.get("amount") or 0)
    except ValueError as exc:
        raise FieldError("amount", "err_amount") from exc
    if not 0 <= amount <= MAX_AMOUNT:
        raise FieldError("amount", "err_amount")
    return Transaction(type=kind, amount=amount)


def _form_context(typed: dict[str, str] | None = None) -> dict[str, Any]:
    typed = typed or {}
    return {
        "txn_types": TRANSACTION_TYPES,
        "customer_id": typed.get("customer_id", ""),
        "txn_type": typed.get("txn_type", ""),
        "amount": typed.get("amount", ""),
        "errors": {},
    }
