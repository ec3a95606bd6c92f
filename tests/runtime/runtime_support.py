"""Helpers the runtime tests import by name (conftest modules are not importable reliably)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recsvc.models.registry import Registry
from recsvc.models.runtime import ModelRuntime


class FakeClock:
    """A monotonic clock tests move by hand, so polling never depends on real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Polled:
    """What the polling tests share: two published versions (the first champion, the second
    challenger) in `registry`, the clock the runtimes from `make` poll by."""

    registry: Registry
    versions: tuple[str, str]
    clock: FakeClock
    make: Callable[..., ModelRuntime]

    def serving(self, **options: object) -> ModelRuntime:
        """A runtime made with these options that has loaded the champion (the first version)."""
        runtime = self.make(**options)
        loaded = runtime.current()
        assert loaded is not None and loaded.version == self.versions[0]
        return runtime
