"""The in-memory rate-limit storage: limits' fixed-window counting, no timer thread, bounded."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from recsvc.api import ratelimit
from recsvc.api.ratelimit import SweepingMemoryStorage, storage_uri


def test_counts_a_window_then_starts_a_new_one(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    storage = storage_from_string(storage_uri("memory://"))
    assert isinstance(storage, SweepingMemoryStorage)
    limiter = FixedWindowRateLimiter(storage)
    item = parse("2 per minute")
    assert limiter.hit(item, "k") and limiter.hit(item, "k")
    assert not limiter.hit(item, "k")
    assert limiter.hit(item, "other")
    now[0] += 61
    assert limiter.hit(item, "k")


def test_no_timer_thread_and_expired_keys_are_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    monkeypatch.setattr(threading.Timer, "start", lambda self: started.append(self))
    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    storage = SweepingMemoryStorage()
    for i in range(100):
        storage.incr(f"k{i}", 60)
    now[0] += 61
    storage._next_sweep = 0.0  # the next count sweeps
    storage.incr("fresh", 60)
    assert started == []
    assert set(storage.counts) == {"fresh"}
