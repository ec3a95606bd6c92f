"""What every benchmark prints first: the machine its numbers come from; and how it times a step."""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path


def machine() -> str:
    """Platform, CPU model, cores, load average and Python, on one line."""
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.platform()} | {model} | nproc {os.cpu_count()} | load {load} | "
        f"python {platform.python_version()}"
    )


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` runs, in seconds (the least disturbed by the rest of the
    machine)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best
