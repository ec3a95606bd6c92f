"""Sign in with an API key (checked once, never stored), sign out, and each role's home."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from recsvc.api.console.blueprint import bp
from recsvc.api.console.session import home_endpoint, sign_in, sign_out, signed_in, t
from recsvc.api.extensions import extensions


@bp.route("/", methods=["GET"])
def home() -> Response:
    principal = signed_in()
    if principal is None:
        return redirect(url_for("console.signin"))
    return redirect(url_for(home_endpoint(principal.role)))


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Response | tuple[str, int] | str:
    ended = session.get("ended")
    notice = t(f"session_{ended}") if ended in ("revoked", "expired") else None
    if request.method == "GET":
        return render_template("console/signin.html", notice=notice)
    authenticator = extensions().authenticator
    principal = authenticator(request.form.get("api_key", "").strip())
    if principal is None:
        # The key typed is never echoed back into the page.
        return render_template("console/signin.html", error=t("bad_key"), notice=notice), 401
    sign_in(principal)
    return redirect(url_for(home_endpoint(principal.role)), code=303)


@bp.route("/signout", methods=["POST"])
def signout() -> Response:
    sign_out()
    return redirect(url_for("console.signin"), code=303)
