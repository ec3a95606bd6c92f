"""Liveness, readiness (a registry other parts add checks to) and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Response
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from recsvc.api.extensions import extensions
from recsvc.api.wire import Blueprint
from recsvc.observability import render_metrics
from recsvc.service.errors import Unavailable
from recsvc.store.errors import unusable_reason

if TYPE_CHECKING:
    from recsvc.models.runtime import ModelRuntime

ReadinessCheck = Callable[[], tuple[str, bool, str]]
blp = Blueprint("health", __name__, description="Probes and metrics (no API key needed)")


class CheckSchema(Schema):
    name = fields.String()
    ok = fields.Boolean()
    detail = fields.String()


class StatusSchema(Schema):
    status = fields.String(metadata={"description": "`alive` or `ready`"})
    checks = fields.List(fields.Nested(CheckSchema))


# A write the store must accept, changing nothing, in a transaction that is rolled back: a
# read-only store (a standby, a read-only file) refuses it; alembic_version always exists.
WRITE_PROBE = text("UPDATE alembic_version SET version_num = version_num WHERE 1 = 0")


def store_check(engine: Engine) -> ReadinessCheck:
    """Ready only if the store takes a write (rolled back); a refused write also replaces the
    pooled connection (see recsvc.store.errors), so the probe helps recovery."""

    def store() -> tuple[str, bool, str]:
        try:
            with engine.connect() as connection:
                connection.execute(WRITE_PROBE)
                connection.rollback()
        except DBAPIError as exc:
            reason = (exc.orig is not None and unusable_reason(exc.orig)) or "unavailable"
            return "store", False, f"cannot take a write ({reason}: {type(exc.orig).__name__})"
        return "store", True, "writable"

    return store


def challenger_check(runtime: ModelRuntime) -> ReadinessCheck:
    """What the experiment's challenger arm serves (issue 12), for the operator to see. Never
    makes the worker unready: without a usable challenger that arm is answered by the rules."""

    def challenger() -> tuple[str, bool, str]:
        _, _, detail = runtime.readiness()
        if runtime.status()["version"] is None:
            return "challenger", True, f"none: the challenger arm is served by the rules ({detail})"
        return "challenger", True, detail

    return challenger


def _run(check: ReadinessCheck) -> dict[str, object]:
    try:
        name, ok, detail = check()
    except Exception as exc:  # a failing check means "not ready", never a 500
        name, ok, detail = getattr(check, "__name__", "check"), False, type(exc).__name__
    return {"name": name, "ok": bool(ok), "detail": detail}


@blp.route("/healthz")
@blp.response(200, StatusSchema)
def healthz() -> dict[str, object]:
    """The process is alive and serving requests."""
    return {"status": "alive", "checks": []}


@blp.route("/readyz")
@blp.response(200, StatusSchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def readyz() -> dict[str, object]:
    """Every readiness check passes: the store takes a write, the champion (or rules only)."""
    checks = [_run(check) for check in extensions().readiness]
    if not all(c["ok"] for c in checks):
        raise Unavailable("Not ready: a readiness check failed.", extensions={"checks": checks})
    return {"status": "ready", "checks": checks}


@blp.route("/metrics")
@blp.doc(
    responses={
        "200": {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
)
def metrics() -> Response:
    """Request counts and latencies, summed over all gunicorn workers."""
    return Response(
        render_metrics(extensions().metrics), mimetype=None, content_type=CONTENT_TYPE_LATEST
    )
