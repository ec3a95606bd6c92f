"""Helpers the runtime tests import by name (conftest modules are not importable reliably)."""

from __future__ import annotations


class FakeClock:
    """A monotonic clock tests move by hand, so polling never depends on real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
