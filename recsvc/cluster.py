"""Where Dask work runs: one address, shared by training and the nightly contact plan.

ADDRESS is an existing scheduler (`tcp://host:8786`, `tls://…`) or `local[:N]`: a LocalCluster on
this machine with N worker processes (default 2), one thread each, the scheduler's HTTP server
on a free port (never a fixed 8787 a neighbour may hold). Nothing here
schedules work; it only opens and closes the client.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_LOCAL = re.compile(r"local(?::(?P<workers>\d+))?")
_REMOTE = re.compile(r"(tcp|tls|ucx|inproc)://[^\s]+")
DEFAULT_LOCAL_WORKERS = 2


class ClusterAddressError(ValueError):
    """An ADDRESS that is neither `local[:N]` nor a scheduler URL."""


@dataclass(frozen=True)
class ClusterAddress:
    """A parsed ADDRESS: `workers` is set for a LocalCluster, `scheduler` for an existing one."""

    scheduler: str | None = None
    workers: int | None = None

    @property
    def local(self) -> bool:
        return self.scheduler is None


def parse_address(text: str) -> ClusterAddress:
    """`local`, `local:N` (N >= 1) or a scheduler URL; anything else is an error naming it."""
    text = text.strip()
    local = _LOCAL.fullmatch(text)
    if local:
        workers = int(local["workers"] or DEFAULT_LOCAL_WORKERS)
        if workers < 1:
            raise ClusterAddressError(f"--dask {text!r}: local needs at least one worker")
        return ClusterAddress(workers=workers)
    if _REMOTE.fullmatch(text):
        return ClusterAddress(scheduler=text)
    raise ClusterAddressError(
        f"--dask {text!r}: expected local, local:N or a scheduler address such as tcp://host:8786"
    )


@contextmanager
def dask_client(text: str, *, memory_limit: str | None = None) -> Iterator[object]:
    """A distributed.Client on ADDRESS; a LocalCluster is started and stopped around it."""
    from distributed import Client, LocalCluster

    address = parse_address(text)
    if not address.local:
        with Client(address.scheduler) as client:
            yield client
        return
    options: dict[str, object] = {
        "n_workers": address.workers,
        "threads_per_worker": 1,
        "processes": True,
        # None still binds the scheduler's HTTP routes to 8787; a second cluster on the same
        # machine (another run, a test) then fails with "Port 8787 is already in use". Any
        # free port instead.
        "dashboard_address": ":0",
    }
    if memory_limit is not None:
        options["memory_limit"] = memory_limit
    with LocalCluster(**options) as cluster, Client(cluster) as client:
        yield client
