"""Where Dask work runs: one address, shared by training and the nightly contact plan.

ADDRESS is an existing scheduler (`tcp://host:8786`, `tls://…`) or `local[:N]`: a LocalCluster on
this machine with N worker processes (default 2), one thread each, the scheduler's HTTP server
on a free port (never a fixed 8787 a neighbour may hold). Nothing here
schedules work; it opens and closes the client, waits for a scheduler's first worker (a
scheduler without workers would hold the tasks for ever) and checks that every worker runs
the release the command runs (`check_workers`): an existing cluster's workers were started
elsewhere, from whatever was installed there.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import platform
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LOCAL = re.compile(r"local(?::(?P<workers>\d+))?")
_REMOTE = re.compile(r"(tcp|tls|ucx|inproc)://[^\s]+")
DEFAULT_LOCAL_WORKERS = 2
WORKER_WAIT_SECONDS = 60.0
CODE_SUFFIXES = frozenset({".py", ".yaml", ".toml"})
# the libraries whose version decides what a task computes or whether its arguments unpickle
LIBRARIES = ("dask", "distributed", "cloudpickle", "lightgbm", "numpy", "pandas", "sqlalchemy")


class ClusterError(ValueError):
    """The cluster cannot run the command as asked; the message says why (and which worker)."""


class ClusterAddressError(ClusterError):
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
def dask_client(
    text: str, *, memory_limit: str | None = None, wait_seconds: float = WORKER_WAIT_SECONDS
) -> Iterator[object]:
    """A distributed.Client on ADDRESS; a LocalCluster is started and stopped around it. A
    scheduler that has no worker after `wait_seconds` is refused (ClusterError)."""
    from distributed import Client, LocalCluster

    address = parse_address(text)
    if not address.local:
        with Client(address.scheduler) as client:
            try:
                client.wait_for_workers(1, timeout=wait_seconds)
            except TimeoutError:
                raise ClusterError(
                    f"the scheduler at {address.scheduler} has no worker after"
                    f" {wait_seconds:g} s: start `dask worker {address.scheduler}` on the"
                    " cluster's hosts (README.md, 'Running on Dask')"
                ) from None
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


@functools.cache
def code_digest(package: str) -> str:
    """sha256 over an importable package's modules and configuration (`CODE_SUFFIXES`: what a
    task executes or reads; not the console's templates), found without importing it. A
    checkout and a wheel built from it give the same digest (the wheel holds these files).
    Once per process: a worker keeps the code it loaded when a new release is installed under
    it, so it must keep reporting the release it first read (the first check, before any of
    the command's tasks imports the package's modules)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return "not installed"
    digest = hashlib.sha256()
    for location in spec.submodule_search_locations:
        root = Path(location)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root)
            if "__pycache__" in relative.parts or path.suffix not in CODE_SUFFIXES:
                continue
            digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    """sha256 of a file this process sees at `path`, or why it has none."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        return f"missing: {path}"
    except OSError as exc:
        return f"unreadable: {path} ({exc.strerror})"


def release(packages: tuple[str, ...] = ("recsvc",), files: tuple[str, ...] = ()) -> dict[str, str]:
    """What this process runs: Python, the pinned libraries' versions, a digest of each of our
    packages' code, and of each of `files` (a data set every worker must see at that path)."""
    state = {"python": platform.python_version()}
    for library in LIBRARIES:
        try:
            state[library] = importlib.metadata.version(library)
        except importlib.metadata.PackageNotFoundError:
            state[library] = "not installed"
    state.update({f"{package} code": code_digest(package) for package in packages})
    state.update({f"file {path}": file_digest(path) for path in files})
    return state


def check_workers(
    client: Any, probe: Callable[..., dict[str, str]], *args: Any, command: str
) -> int:
    """Run `probe(*args)` here and on every worker of the cluster; refuse (ClusterError) if a
    worker cannot run it or reports anything different, naming each such worker and field.
    Returns the number of workers. The probe must be importable on the workers (a function of
    recsvc's, not a closure): a worker without recsvc fails to run it and is named."""
    expected = probe(*args)
    workers = client.scheduler_info()["workers"]
    reports = client.run(probe, *args, on_error="return")
    problems = []
    for address in sorted(workers):
        where = f"worker {workers[address].get('name', address)} ({address})"
        report = reports.get(address)
        if isinstance(report, BaseException) or not isinstance(report, dict):
            problems.append(f"{where} cannot run the check: {type(report).__name__}: {report}")
            continue
        for name in sorted(set(expected) | set(report)):
            mine, theirs = expected.get(name, "-"), report.get(name, "-")
            if mine != theirs:
                problems.append(f"{where}: {name} is {theirs}, here {mine}")
    if problems:
        raise ClusterError(
            f"{command}: {len(problems)} difference(s) between this host and the cluster's"
            " workers; every worker needs the same release, settings and shared paths, and a"
            " worker started before a release was installed runs the code it loaded: restart"
            " it (README.md, 'Running on Dask'): " + "; ".join(problems)
        )
    return len(workers)
