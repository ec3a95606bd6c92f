"""Every error is RFC 9457 problem+json with a request id, whatever raised it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from api_support import MAX_BODY_BYTES, VALID_CUSTOMER, build_app, make_settings
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from recsvc.api.extensions import extensions

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(response: TestResponse, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert set(body) >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert str(body["type"]).startswith("urn:recsvc:problem:")
    return dict(body)


def test_unknown_route_is_404_problem(client: FlaskClient) -> None:
    body = assert_problem(client.get("/no/such/path"), 404)
    assert body["instance"] == "/no/such/path"


def test_wrong_method_is_405_problem(client: FlaskClient) -> None:
    assert_problem(client.delete("/healthz"), 405)


def test_body_too_large_is_413_problem(client: FlaskClient) -> None:
    big = dict(VALID_CUSTOMER, customer_id="C" * (MAX_BODY_BYTES + 10))
    assert_problem(client.post("/_test/customers", json=big), 413)


def test_invalid_field_is_422_naming_the_field(client: FlaskClient) -> None:
    sent = dict(VALID_CUSTOMER, gender="X", holdings=[{"amount": 5}])
    body = assert_problem(client.post("/_test/customers", json=sent), 422)
    errors = body["errors"]
    assert isinstance(errors, dict)
    assert set(errors) == {"gender", "holdings.0.product_id"}
    assert all(isinstance(m, list) and m for m in errors.values())


def test_validation_problem_carries_no_customer_data(client: FlaskClient) -> None:
    sent = dict(VALID_CUSTOMER, gender="X", nickname="小张")
    text = client.post("/_test/customers", json=sent).get_data(as_text=True)
    for value in ("张伟", "13812345678", "11010519900501234X", "小张"):
        assert value not in text


def test_malformed_json_is_400_problem(client: FlaskClient) -> None:
    response = client.post(
        "/_test/customers", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


def test_missing_key_is_401_with_bearer_challenge(client: FlaskClient) -> None:
    response = client.get("/v1/products")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer rk_0123456789abcdef_" + "x" * 43, "Bearer nonsense", "Basic dXNlcjpwYXNz"],
)
def test_invalid_key_is_401(client: FlaskClient, header: str) -> None:
    assert_problem(client.get("/v1/products", headers={"Authorization": header}), 401)


def test_wrong_role_is_403_problem(
    client: FlaskClient, auth: Callable[[str], dict[str, str]]
) -> None:
    assert_problem(client.get("/_test/admin-only", headers=auth("teller")), 403)
    assert client.get("/_test/admin-only", headers=auth("admin")).status_code == 200


@pytest.mark.parametrize(
    ("kind", "status"),
    [("not_found", 404), ("conflict", 409), ("forbidden", 403), ("unavailable", 503)],
)
def test_domain_errors_map_to_statuses(client: FlaskClient, kind: str, status: int) -> None:
    response = client.get(f"/_test/raise/{kind}")
    body = assert_problem(response, status)
    assert body["detail"]
    if status == 503:
        assert int(response.headers["Retry-After"]) > 0


def test_unexpected_error_is_500_without_internals(client: FlaskClient) -> None:
    response = client.get("/_test/raise/crash")
    body = assert_problem(response, 500)
    text = json.dumps(body, ensure_ascii=False)
    for leak in ("Traceback", "boom", "RuntimeError", "张伟", "13812345678"):
        assert leak not in text


def test_rate_limit_is_429_with_retry_after(
    tmp_path: Path,
) -> None:
    app = build_app(make_settings(tmp_path, rate_limit="2 per minute"))
    from sqlalchemy.orm import Session

    from recsvc.security import create_key

    with Session(extensions(app).engine) as session:
        key = create_key(session, role="teller", staff_id="T1")
        other = create_key(session, role="teller", staff_id="T2")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert [client.get("/v1/products", headers=headers).status_code for _ in range(2)] == [200] * 2
    response = client.get("/v1/products", headers=headers)
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    # The limit is per key: another key is unaffected, and probes are never limited.
    assert (
        client.get("/v1/products", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    )
    assert client.get("/healthz").status_code == 200
    extensions(app).engine.dispose()


def test_sane_request_id_is_echoed_and_insane_replaced(client: FlaskClient) -> None:
    sane = client.get("/healthz", headers={"X-Request-ID": "abc-12345-def"})
    assert sane.headers["X-Request-ID"] == "abc-12345-def"
    insane = client.get("/nowhere", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert insane.headers["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(insane.headers["X-Request-ID"]) == 32


def test_success_responses_carry_request_id(
    client: FlaskClient, auth: Callable[[str], dict[str, str]]
) -> None:
    assert client.get("/v1/products", headers=auth("teller")).headers["X-Request-ID"]


def test_the_api_opens_no_session(app: Flask) -> None:
    """Sessions are the console's; an API request neither reads nor signs a cookie."""
    from flask import request

    interface = app.session_interface
    for path, opened in (("/v1/pitch", False), ("/healthz", False), ("/console/", True)):
        with app.test_request_context(path, headers={"Cookie": "recsvc_console=x"}):
            assert (interface.open_session(app, request) is not None) is opened, path
