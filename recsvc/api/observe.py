"""Request hooks: request id header, one JSON access-log line, and the request metrics."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from recsvc.api.context import REQUEST_ID_HEADER, request_id, started_at
from recsvc.api.extensions import extensions
from recsvc.observability import RequestMetrics

access_log = logging.getLogger("recsvc.access")
UNMATCHED = "<unmatched>"


def _begin() -> None:
    started_at()
    request_id()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    seconds = time.perf_counter() - started_at()
    # The path template, never the raw path: raw paths may carry customer ids.
    endpoint = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    extensions().metrics.observe(
        endpoint=endpoint, method=request.method, status=response.status_code, seconds=seconds
    )
    principal = g.get("principal")
    fields = {
        "request_id": request_id(),
        "method": request.method,
        "path": endpoint,
        "status": response.status_code,
        "duration_ms": round(seconds * 1000, 3),
        "role": getattr(principal, "role", None),
        "staff_id": getattr(principal, "staff_id", None),
    }
    access_log.info("request", extra={"fields": fields})
    return response


def init_app(app: Flask, *, multiproc_dir: str = "") -> RequestMetrics:
    """Register before other hooks, so the id and start time exist whatever fails later."""
    app.before_request(_begin)
    app.after_request(_finish)
    return RequestMetrics(multiproc_dir=multiproc_dir)
