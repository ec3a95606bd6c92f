"""Per-API-key rate limit across all endpoints (Flask-Limiter); health and metrics are exempt."""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter

from recsvc.api.auth import current_principal
from recsvc.config import Settings

LIMITER = "recsvc.limiter"
# Probes and scrapes must never be throttled.
EXEMPT_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "health.metrics"})


def rate_key() -> str:
    """The verified key id; callers without a valid key share a bucket per address."""
    principal = current_principal()
    if principal is not None:
        return f"key:{principal.key_id}"
    return f"addr:{request.remote_addr or 'unknown'}"


def _exempt() -> bool:
    return request.endpoint in EXEMPT_ENDPOINTS


def init_app(app: Flask, settings: Settings) -> Limiter:
    """One limiter per app; memory storage by default, Redis when its URI is configured."""
    limiter = Limiter(
        key_func=rate_key,
        application_limits=[settings.rate_limit],
        application_limits_exempt_when=_exempt,
        storage_uri=settings.rate_limit_storage_uri,
        headers_enabled=False,
        strategy="fixed-window",  # one counter per key and window: cheap per request
    )
    limiter.init_app(app)
    app.extensions[LIMITER] = limiter
    return limiter
