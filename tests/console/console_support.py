"""Console test helpers: sign in through the form (CSRF token read from the page)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

MANAGER = "M000011001"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def page_token(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return csrf_from(response.get_data(as_text=True))


def sign_in(client: FlaskClient, key: str) -> str:
    """Sign in with a key; the landing page's text."""
    token = page_token(client, "/console/signin")
    response = client.post(
        "/console/signin", data={"api_key": key, "csrf_token": token}, follow_redirects=True
    )
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)
