"""The branch console: web pages for tellers, client managers and data scientists.

Signed in with an API key, then a session cookie (key id and role only) with CSRF tokens on
every form; Chinese by default, `?lang=en` for English; every asset is served by the app.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import Flask, Request, has_request_context, redirect, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Response

from recsvc.api.extensions import extensions

SESSION_HOURS = 10  # a working day at the branch
CONSOLE_PREFIX = "/console"


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions for the console's pages only: the API is stateless (bearer keys),
    and opening a session per API request (a new signing serializer each time) is pure cost."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(CONSOLE_PREFIX):
            return None  # Flask's null session: nothing read, nothing written
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        """`Secure` whenever the page came over TLS, or always with SESSION_COOKIE_SECURE.

        Behind nginx (scripts/serve-production) TLS ends at the proxy, which sets
        X-Forwarded-Proto to its own $scheme (a client's value is overwritten); gunicorn
        takes the scheme from that header only from its unix socket or loopback peers
        (forwarded_allow_ips), so `request.is_secure` is the proxy's word, not the client's."""
        configured = bool(app.config["SESSION_COOKIE_SECURE"])
        return configured or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    """Sign the session cookie, harden it, and add the console's pages."""
    from recsvc.api.console import manager, model_admin, signin, teller, whatif  # noqa: F401 (routes)
    from recsvc.api.console.blueprint import bp

    settings = extensions(app).settings
    # Empty: one secret per start (`recsvc serve` shares one across its workers).
    app.secret_key = settings.secret_key or secrets.token_hex(32)
    app.config.update(
        SESSION_COOKIE_NAME="recsvc_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
    )
    app.session_interface = ConsoleSessionInterface()
    app.register_blueprint(bp)
    app.add_url_rule("/", "root", _root, methods=["GET"])
    # Routing errors happen before any blueprint is chosen: under /console they get a page too.
    app.register_error_handler(NotFound, _routing_error)
    app.register_error_handler(MethodNotAllowed, _routing_error)


def _routing_error(error: HTTPException) -> Any:
    from flask import render_template, request

    from recsvc.api.console.session import csrf_token, lang, signed_in, t
    from recsvc.api.errors import handle_http_exception

    if not request.path.startswith(CONSOLE_PREFIX):
        return handle_http_exception(error)
    page = render_template(
        "console/error.html", message=t("not_found"), t=t, lang=lang(),
        principal=signed_in(), csrf_token=csrf_token,
    )  # fmt: skip
    return page, error.code


def _root() -> Response:
    """A browser opening the service's address lands on the console (API: /docs, /v1)."""
    return redirect(url_for("console.home"))
