"""The console's session cookie is `Secure` when the console is served over TLS."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from recsvc import create_app


def session_cookie_header(client: FlaskClient, base_url: str) -> str:
    response = client.get("/console/signin", base_url=base_url)
    assert response.status_code == 200
    cookies = [v for v in response.headers.getlist("Set-Cookie") if "recsvc_console=" in v]
    assert len(cookies) == 1, response.headers
    return str(cookies[0])


def test_the_session_cookie_is_secure_over_tls(service_client: FlaskClient) -> None:
    # https as the WSGI server reports it: TLS ended at nginx, X-Forwarded-Proto trusted
    assert "; Secure" in session_cookie_header(service_client, "https://branch.example")


def test_the_session_cookie_is_not_secure_over_plain_http(service_client: FlaskClient) -> None:
    # a browser would drop a Secure cookie on http://: the development server must still work
    assert "Secure" not in session_cookie_header(service_client, "http://localhost")


def test_session_cookie_secure_forces_it(env: Any) -> None:
    app = create_app({"SETTINGS": env.settings, "SESSION_COOKIE_SECURE": True})
    assert "; Secure" in session_cookie_header(app.test_client(), "http://localhost")
