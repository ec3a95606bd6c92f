"""Who is signed in (key id and role in the session, never the key), CSRF tokens, language."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from recsvc.api.console.blueprint import bp
from recsvc.api.console.i18n import DEFAULT_LANG, LANGS, label
from recsvc.api.context import once_per_request, request_id
from recsvc.api.extensions import extensions
from recsvc.customers.profile import Transaction
from recsvc.security import ROLES, Principal, active_principal
from recsvc.service.answers import Caller, RecommendRequest
from recsvc.service.errors import DomainError, Forbidden, Invalid, NotFound, Unavailable

F = TypeVar("F", bound=Callable[..., Any])
CSRF_FIELD = "csrf_token"
_OPEN_POSTS = ("console.signin", "console.signout")
_PRINCIPAL_FIELDS = ("key_id", "role", "staff_id", "branch_id", "manager_id")
# What a teller typed, kept across a session that ended under them (never the key).
KEPT_FIELDS = ("customer_id", "txn_type", "amount")
KEPT_MAX = 64
_HOME = {
    "teller": "console.teller",
    "manager": "console.plan",
    "data_scientist": "console.models",
    "compliance": "console.models",
    "admin": "console.models",
}


def sign_in(principal: Principal) -> None:
    """A fresh session for this principal: its id and scope, never the key itself."""
    lang = lang_of_session()
    kept = session.get("kept")
    session.clear()
    session["principal"] = {f: getattr(principal, f) for f in _PRINCIPAL_FIELDS}
    session["lang"] = lang
    if isinstance(kept, dict):
        session["kept"] = kept
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    session.permanent = True


def sign_out() -> None:
    lang = lang_of_session()
    session.clear()
    session["lang"] = lang


def signed_in() -> Principal | None:
    """The session's principal if its key is still active (a revoked key ends the session)."""
    return once_per_request("console_principal", _load_principal)


def _load_principal() -> Principal | None:
    stored = session.get("principal")
    if not isinstance(stored, dict) or "key_id" not in stored:
        return None
    with Session(extensions().engine) as db:
        principal = active_principal(db, str(stored["key_id"]))
    if principal is None:
        session.pop("principal", None)
        session["ended"] = "revoked"
    return principal


def keep_typed_input() -> None:
    """A form posted into an ended session: keep what was typed for after signing in again
    (only the teller's plain fields, only from this site's own pages)."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
        return
    kept = {f: request.form.get(f, "")[:KEPT_MAX] for f in KEPT_FIELDS if f in request.form}
    if kept:
        session["kept"] = kept
    session.setdefault("ended", "expired")


def take_kept_input() -> dict[str, str]:
    kept = session.pop("kept", None)
    return {str(k): str(v) for k, v in kept.items()} if isinstance(kept, dict) else {}


def caller() -> Caller:
    p = signed_in()
    assert p is not None
    return Caller(role=p.role, staff_id=p.staff_id, branch_id=p.branch_id, manager_id=p.manager_id)


def console_request(
    channel: str, customer_id: str, *, limit: int, transaction: Transaction | None = None
) -> RecommendRequest:
    """A recommendation request from the signed-in user, answered in the page's language."""
    return RecommendRequest(
        request_id=request_id(),
        caller=caller(),
        channel=channel,
        customer_id=customer_id,
        transaction=transaction,
        limit=limit,
        locale=lang(),
    )


def home_endpoint(role: str) -> str:
    return _HOME.get(role, "console.signin")


def page(*roles: str) -> Callable[[F], F]:
    """A console page for these roles: signed out -> the sign-in page, other role -> 403."""
    if not roles or set(roles) - set(ROLES):
        raise ValueError(f"roles must be some of {ROLES}, got {roles}")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = signed_in()
            if principal is None:
                if request.method == "POST":
                    keep_typed_input()
                post = request.method == "POST"
                return redirect(url_for("console.signin"), code=303 if post else 302)
            if principal.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def csrf_token() -> str:
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def lang_of_session() -> str:
    lang = session.get("lang")
    return lang if lang in LANGS else DEFAULT_LANG


def lang() -> str:
    return lang_of_session()


def t(key: str, **values: Any) -> str:
    text = label(key, lang())
    return text.format(**values) if values else text


@bp.before_request
def _check_csrf_and_lang() -> None:
    """Every POST carries the session's token (synchronizer pattern); ?lang= is remembered."""
    wanted = request.args.get("lang")
    if wanted in LANGS:
        session["lang"] = wanted
    if request.method == "POST" and request.endpoint not in _OPEN_POSTS and signed_in() is None:
        return  # no session to act for: the page sends the user to sign in, nothing is done
    if request.method == "POST":
        sent = request.form.get(CSRF_FIELD, "")
        expected = session.get(CSRF_FIELD)
        if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
            abort(400, description="csrf")


@bp.context_processor
def _template_globals() -> dict[str, Any]:
    return {"t": t, "lang": lang(), "principal": signed_in(), "csrf_token": csrf_token}


@bp.after_request
def _no_store(response: Any) -> Any:
    """Pages show customer data: never cache them; frame and sniffing protections."""
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault(  # a model card sets its own (sandboxed) policy
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    return response


_DOMAIN_PAGES: dict[type[DomainError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    Forbidden: (403, "forbidden"),
    Invalid: (422, "invalid"),
    Unavailable: (503, "unavailable"),
}


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    key = {403: "forbidden", 404: "not_found", 422: "invalid"}.get(status, "error")
    if status == 400 and error.description == "csrf":
        key = "csrf"
    return render_template("console/error.html", message=t(key)), status


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> tuple[str, int]:
    status, key = next(
        (v for cls, v in _DOMAIN_PAGES.items() if isinstance(error, cls)), (409, "error")
    )
    return render_template("console/error.html", message=t(key), detail=error.detail), status
