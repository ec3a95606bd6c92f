"""Liveness, readiness registry and request metrics."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from recsvc.api.extensions import extensions


def count(metrics_text: str, endpoint: str, status: int) -> float:
    pattern = (
        r'^recsvc_http_requests_total\{endpoint="' + re.escape(endpoint)
        + r'",method="GET",status="' + str(status) + r'"\} (\S+)$'
    )  # fmt: skip
    match = re.search(pattern, metrics_text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "alive"


def test_readyz_reports_the_store(client: FlaskClient) -> None:
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready"
    assert {"name": "store", "ok": True, "detail": "writable"} in body["checks"]


def test_readyz_is_503_when_a_registered_check_fails(app: Flask, client: FlaskClient) -> None:
    extensions(app).readiness.append(lambda: ("model", False, "no champion published"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    checks = {c["name"]: c["ok"] for c in response.get_json()["checks"]}
    assert checks == {"store": True, "model": False, "challenger": True}


def test_readyz_survives_a_check_that_raises(app: Flask, client: FlaskClient) -> None:
    def broken() -> tuple[str, bool, str]:
        raise ConnectionError("down")

    extensions(app).readiness.append(broken)
    assert client.get("/readyz").status_code == 503


def test_metrics_count_requests_by_path_template_and_status(client: FlaskClient) -> None:
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/customer/13812345678")
    text = client.get("/metrics").get_data(as_text=True)
    assert count(text, "/healthz", 200) == 3
    assert count(text, "<unmatched>", 404) == 1
    assert "13812345678" not in text
    assert "recsvc_http_request_duration_seconds_bucket" in text
