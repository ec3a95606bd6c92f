"""Readers score while another thread promotes back and forth: no error, no mixed model."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from recsvc.models.ranker import ProductRanker
from recsvc.models.registry import Registry
from recsvc.models.runtime import LoadedModel, ModelRuntime

READERS = 4
SWAPS = 12


def _wait_until_served(runtime: ModelRuntime, version: str, errors: list[BaseException]) -> None:
    """Let the readers swap to each promoted version before the next promote (no time limit
    asserted; the bound only stops a broken runtime from hanging the suite)."""
    for _ in range(20_000):
        if errors or runtime.status()["version"] == version:
            return
        time.sleep(0.001)


def test_scores_always_come_from_one_published_model(
    make_runtime: Callable[..., ModelRuntime],
    registry: Registry,
    published: tuple[str, str],
    rows: np.ndarray,
) -> None:
    expected = {
        v: ProductRanker.load(registry.versions_dir / v, num_threads=1).predict_proba(rows)
        for v in published
    }
    # poll_seconds=0 and the real clock: every call may poll, so reloads race with reads.
    runtime = make_runtime(poll_seconds=0.0, clock=time.monotonic)
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[set[str]] = [set() for _ in range(READERS)]

    def read(mine: set[str]) -> None:
        try:
            while not stop.is_set():
                loaded = runtime.current()
                assert isinstance(loaded, LoadedModel)
                scores = runtime.score(loaded, rows)
                contrib = runtime.contributions(loaded, rows[:1], loaded.products[0])
                assert loaded.version in expected
                np.testing.assert_array_equal(scores, expected[loaded.version])
                assert contrib.shape == (1, rows.shape[1] + 1)
                assert np.isfinite(contrib).all()
                mine.add(loaded.version)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    assert runtime.current() is not None
    readers = [threading.Thread(target=read, args=(s,)) for s in seen]
    for thread in readers:
        thread.start()
    try:
        for i in range(SWAPS):
            target = published[(i + 1) % 2]
            registry.promote(target)
            _wait_until_served(runtime, target, errors)
    finally:
        stop.set()
        for thread in readers:
            thread.join()

    assert errors == []
    assert set().union(*seen) == set(published)  # readers did the swaps themselves
    final = published[SWAPS % 2]
    assert registry.alias_state().champion == final
    assert runtime.current().version == final  # type: ignore[union-attr]
    assert runtime.status()["last_error"] is None
