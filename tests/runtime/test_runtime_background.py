"""In a serving worker a promote is loaded beside the serving model, never inside a request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from runtime_support import Polled

from recsvc.models.ranker import ProductRanker
from recsvc.models.runtime import ModelRuntime

WAIT_S = 10.0


@pytest.fixture
def background_runtime(make_runtime: Callable[..., ModelRuntime]) -> ModelRuntime:
    """A runtime that polls every second and loads what it finds in the background."""
    runtime = make_runtime(poll_seconds=1.0)
    runtime.reload_in_background()
    return runtime


def test_requests_keep_the_current_model_while_a_promoted_one_loads(
    polled: Polled, background_runtime: ModelRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion, challenger = polled.versions
    runtime = background_runtime
    first = runtime.current()  # nothing loaded yet: this one loads in the caller
    assert first is not None and first.version == champion

    release = threading.Event()
    original = ProductRanker.load.__func__  # type: ignore[attr-defined]

    def slow_load(cls: type[ProductRanker], directory: Path, **kw: object) -> ProductRanker:
        assert release.wait(WAIT_S), "the test never released the load"
        return original(cls, directory, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(ProductRanker, "load", classmethod(slow_load))
    polled.registry.promote(challenger)
    polled.clock.advance(2.0)

    started = time.monotonic()
    during = runtime.current()  # the poll finds the promote; the load must not run here
    assert time.monotonic() - started < WAIT_S / 2
    assert during is first
    release.set()
    deadline = time.monotonic() + WAIT_S
    while runtime.status()["version"] != challenger and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runtime.status()["version"] == challenger
    assert runtime.current().version == challenger  # type: ignore[union-attr]


def test_a_failed_background_reload_keeps_the_current_model(
    polled: Polled, background_runtime: ModelRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion, challenger = polled.versions
    runtime = background_runtime
    first = runtime.current()
    assert first is not None

    def broken(cls: type[ProductRanker], directory: Path, **kw: object) -> ProductRanker:
        raise OSError("disk gone")

    monkeypatch.setattr(ProductRanker, "load", classmethod(broken))
    polled.registry.promote(challenger)
    polled.clock.advance(2.0)
    assert runtime.current() is first
    deadline = time.monotonic() + WAIT_S
    while runtime.status()["last_error"] is None and time.monotonic() < deadline:
        time.sleep(0.02)
    status = runtime.status()
    assert status["version"] == champion and status["last_error"]["type"] == "OSError"
    assert runtime.current() is first
