"""Per-API-key rate limit across all endpoints; health and metrics are exempt.

With a shared storage (`redis://...`) the limit holds across workers and hosts. In memory each
worker counts alone, so each enforces limit / workers (rounded down, at least 1): the total
never exceeds the limit, though one caller served mostly by one worker meets it early.

Counting is the `limits` library's (the engine of Flask-Limiter, same storage URIs: memory by
default, Redis when configured), driven by one before-request hook: Flask-Limiter resolves
decorated, blueprint and application limits per request (its cost on the teller's path is in
bench/README.md), for a single application-wide limit this service does not need resolved.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from recsvc.api.auth import current_principal
from recsvc.config import Settings

# Probes and scrapes must never be throttled.
EXEMPT_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "health.metrics"})
SWEEP_SECONDS = 10.0


class SweepingMemoryStorage(Storage):
    """Fixed-window counters in this process, on `limits`' public Storage interface (what
    FixedWindowRateLimiter uses), without a timer thread: limits' MemoryStorage starts a 10 ms
    threading.Timer whenever the last one has finished, i.e. on nearly every request.

    An expired window is dropped before it is read or counted; expired keys are swept inline at
    most once per SWEEP_SECONDS, so memory stays bounded.
    """

    STORAGE_SCHEME = ["recsvc-memory"]  # noqa: RUF012 (the base class declares it so)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.counts: dict[str, int] = {}
        self.expirations: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def _expire(self, key: str, now: float) -> None:
        if self.expirations.get(key, 0.0) <= now:
            self.counts.pop(key, None)
            self.expirations.pop(key, None)

    def _sweep(self, now: float) -> None:
        if time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + SWEEP_SECONDS
        for key in [k for k, at in self.expirations.items() if at <= now]:
            self._expire(key, now)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        with self._lock:
            now = time.time()
            self._expire(key, now)
            self._sweep(now)
            count = self.counts.get(key, 0) + amount
            self.counts[key] = count
            if count == amount:
                self.expirations[key] = now + expiry
            return count

    def get(self, key: str) -> int:
        with self._lock:
            self._expire(key, time.time())
            return self.counts.get(key, 0)

    def get_expiry(self, key: str) -> float:
        return self.expirations.get(key, time.time())

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self.counts)
            self.counts.clear()
            self.expirations.clear()
            return count

    def clear(self, key: str) -> None:
        with self._lock:
            self.counts.pop(key, None)
            self.expirations.pop(key, None)


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
