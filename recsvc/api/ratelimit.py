"""Per-API-key rate limit across all endpoints; health and metrics are exempt.

With a shared storage (`redis://...`) the limit holds across workers and hosts. In memory each
worker counts alone, so each enforces limit / workers (rounded down, at least 1): the total
never exceeds the limit, though one caller served mostly by one worker meets it early.

Counting is the `limits` library's (the engine of Flask-Limiter, same storage URIs: memory by
default, Redis when configured), driven by one before-request hook: Flask-Limiter's per-request
resolution of decorated, blueprint and application limits cost ~50 us a request on the teller's
path, for a single application-wide limit this service does not need resolved per request.
"""

from __future__ import annotations

import time

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from recsvc.api.auth import current_principal
from recsvc.config import Settings

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


def is_per_process(storage: str) -> bool:
    """Counters that live in one worker (not shared with the others)."""
    return storage.split("://", 1)[0] in ("memory", "recsvc-memory")


def per_worker(items: list[RateLimitItem], workers: int) -> list[RateLimitItem]:
    """Each limit divided among `workers` processes that count alone."""
    return [
        type(item)(max(1, item.amount // max(1, workers)), item.multiples, item.namespace)
        for item in items
    ]


def storage_uri(configured: str) -> str:
    """The configured storage; plain in-memory storage becomes the sweeping variant."""
    return "recsvc-memory://" if configured == "memory://" else configured


class KeyRateLimiter:
    """Fixed-window counters per caller, one per configured limit ("600 per minute; ...")."""

    def __init__(self, limits: str, storage: str, *, workers: int = 1) -> None:
        self.items: list[RateLimitItem] = parse_many(limits)
        if is_per_process(storage):
            self.items = per_worker(self.items, workers)
        backend = storage_from_string(storage_uri(storage))
        if not isinstance(backend, Storage):
            raise ValueError(f"rate_limit_storage_uri {storage!r} is not a synchronous storage")
        self.storage = backend
        self._strategy = FixedWindowRateLimiter(backend)

    def hit(self, key: str) -> int | None:
        """Count one request; None if within every limit, else whole seconds to wait."""
        for item in self.items:
            if not self._strategy.hit(item, key):
                reset_at = self._strategy.get_window_stats(item, key).reset_time
                return max(1, int(reset_at - time.time()))
        return None


def rate_key() -> str:
    """The verified key id; callers without a valid key share a bucket per address."""
    principal = current_principal()
    if principal is not None:
        return f"key:{principal.key_id}"
    return f"addr:{request.remote_addr or 'unknown'}"


def init_app(app: Flask, settings: Settings) -> KeyRateLimiter:
    """One limiter per app, checked before every request but the probes (429 + Retry-After)."""
    limiter = KeyRateLimiter(
        settings.rate_limit, settings.rate_limit_storage_uri, workers=settings.web_workers
    )

    def check() -> None:
        if request.endpoint in EXEMPT_ENDPOINTS:
            return
        wait = limiter.hit(rate_key())
        if wait is not None:
            raise TooManyRequests(retry_after=wait)

    app.before_request(check)
    return limiter
