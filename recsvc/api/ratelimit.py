"""Per-API-key rate limit across all endpoints (Flask-Limiter); health and metrics are exempt."""

from __future__ import annotations

import time

from flask import Flask, request
from flask_limiter import Limiter
from limits.storage import MemoryStorage

from recsvc.api.auth import current_principal
from recsvc.config import Settings

LIMITER = "recsvc.limiter"
# Probes and scrapes must never be throttled.
EXEMPT_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "health.metrics"})
SWEEP_SECONDS = 10.0


class SweepingMemoryStorage(MemoryStorage):
    """limits' in-memory storage without a new timer thread per hit (MemoryStorage starts a
    10 ms threading.Timer whenever the last one has finished, i.e. on nearly every request).

    Counters are still correct: `get` drops an expired window itself before every increment.
    Expired keys are swept inline at most once per SWEEP_SECONDS, so memory stays bounded.
    """

    STORAGE_SCHEME = ["recsvc-memory"]  # noqa: RUF012 (the base class declares it so)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: str) -> None:
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions)

    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def storage_uri(configured: str) -> str:
    """The configured storage; plain in-memory storage becomes the sweeping variant."""
    return "recsvc-memory://" if configured == "memory://" else configured


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
        storage_uri=storage_uri(settings.rate_limit_storage_uri),
        headers_enabled=False,
        strategy="fixed-window",  # one counter per key and window: cheap per request
    )
    limiter.init_app(app)
    app.extensions[LIMITER] = limiter
    return limiter
