"""Per-request facts every layer of the API reads: the request id and start time, and what is
worked out once per request (the caller)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from flask import g, request

from recsvc.observability import mask_pii

T = TypeVar("T")

REQUEST_ID_HEADER = "X-Request-ID"
# Accept a caller's id only if it is short and plain, so it is safe to log and echo.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def request_id() -> str:
    """This request's id: the caller's X-Request-ID if sane, else a fresh uuid4."""
    rid = g.get("request_id")
    if rid is None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        # ... and only if masking would leave it alone: an id must never carry a phone or ID
        # number (it is logged and echoed as it is)
        sane = _SANE_ID.match(incoming) and mask_pii(incoming) == incoming
        rid = incoming if sane else uuid.uuid4().hex
        g.request_id = rid
    return str(rid)


def started_at() -> float:
    """perf_counter() at the start of the request (set by the first before_request hook)."""
    start = g.get("started_at")
    if start is None:
        start = g.started_at = time.perf_counter()
    return float(start)


def once_per_request(key: str, work_out: Callable[[], T]) -> T:
    """`work_out()` the first time this request asks, kept on flask.g under `key`."""
    if key not in g:
        setattr(g, key, work_out())
    found: T = getattr(g, key)
    return found
