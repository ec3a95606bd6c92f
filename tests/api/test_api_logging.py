"""Logs: one JSON line per request with the agreed fields, and no personal data, ever."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

import pytest
from api_support import VALID_CUSTOMER
from flask.testing import FlaskClient

from recsvc.observability import mask_pii
from recsvc.observability.logging import HANDLER_NAME, ROOT_LOGGER

PII = ("张伟", "13812345678", "11010519900501234X")


@pytest.fixture
def log_stream(client: FlaskClient) -> io.StringIO:
    """What recsvc's JSON handler writes, captured (the app was built by `client`)."""
    handler = next(h for h in logging.getLogger(ROOT_LOGGER).handlers if h.name == HANDLER_NAME)
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    return stream


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("id 11010519900501234X here", "11010519900501234X"),
        ("call 13812345678 now", "13812345678"),
        ("tel +86 13812345678", "13812345678"),
        ('{"name": "张伟", "x": 1}', "张伟"),
        ("customer_name=王小明&b=2", "王小明"),
        ("姓名：李娜", "李娜"),
    ],
)
def test_mask_pii_hides_each_kind(text: str, leaked: str) -> None:
    assert leaked not in mask_pii(text)


def test_mask_pii_keeps_ordinary_numbers() -> None:
    text = "request 3f2a took 12.5 ms, amount 19999, product fund_plan"
    assert mask_pii(text) == text


def test_access_log_is_one_json_line_with_agreed_fields(
    client: FlaskClient, log_stream: io.StringIO, auth: Callable[[str], dict[str, str]]
) -> None:
    client.get("/v1/products", headers=auth("teller"))
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    access = [e for e in lines if e["logger"] == "recsvc.access"]
    assert len(access) == 1
    entry = access[0]
    assert entry["path"] == "/v1/products" and entry["status"] == 200
    assert entry["role"] == "teller" and entry["staff_id"] == "S-teller"
    assert {"request_id", "method", "duration_ms"} <= set(entry)


def test_no_personal_data_in_logs(
    client: FlaskClient, log_stream: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/_test/customers", json=VALID_CUSTOMER)
    client.post("/_test/customers", json=dict(VALID_CUSTOMER, gender="?"))
    client.get(f"/v1/customers/{PII[2]}/phone/{PII[1]}")
    client.get("/_test/raise/crash")  # the exception message carries a customer record
    logging.getLogger("recsvc.service").warning("customer name=%s phone %s", PII[0], PII[1])
    written = log_stream.getvalue()
    assert written.count("\n") >= 5
    assert "Traceback" in written  # the 500 was logged, with its traceback
    for value in PII:
        assert value not in written
    for record in caplog.records:
        if record.name == "recsvc.access":
            assert not any(value in json.dumps(record.fields, ensure_ascii=False) for value in PII)
