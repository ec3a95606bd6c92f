"""An existing Dask cluster as a bank runs one: `dask scheduler` and `dask worker` (with its
nanny) started from the command line in processes of their own, on free ports.

Import as `from clustertesting import ...` (tests/cluster is on the path of its tests).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import recsvc

DASK = str(Path(sys.executable).with_name("dask"))
ROOT = Path(recsvc.__file__).resolve().parents[1]
STARTUP_SECONDS = 60
_SCHEDULER_AT = re.compile(r"Scheduler at:\s+(tcp://\S+)")


def worker_env(**extra: str) -> dict[str, str]:
    """This process's environment (so the project's code comes from this checkout) with
    `extra` set; an empty value removes the variable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    for name, value in extra.items():
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    return env


@dataclass
class ExternalCluster:
    address: str
    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, name: str, env: dict[str, str]) -> None:
        """`dask worker ADDRESS --nworkers 1 --nthreads 1`: a nanny and its worker process."""
        log = (self.directory / f"{name}.log").open("wb")
        command = [
            DASK, "worker", self.address, "--name", name, "--nworkers", "1", "--nthreads", "1",
            "--host", "127.0.0.1", "--dashboard-address", ":0",
            "--local-directory", str(self.directory / name),
        ]  # fmt: skip
        self.processes.append(
            subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )
        log.close()

    def wait_for_workers(self, n: int, timeout: float = STARTUP_SECONDS) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(n, timeout=timeout)

    def worker_pids(self) -> dict[str, int]:
        """Each worker's address -> the pid of its worker process (not its nanny)."""
        from distributed import Client

        with Client(self.address) as client:
            return dict(client.run(os.getpid))

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")


@contextmanager
def external_cluster(
    directory: Path, workers: dict[str, dict[str, str]]
) -> Iterator[ExternalCluster]:
    """A scheduler on a free port and one `dask worker` per entry of `workers` (name -> its
    environment), all stopped afterwards (their process groups, nannies and workers)."""
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "scheduler.log"
    with log_path.open("wb") as log:
        scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", ":0"],
            env=worker_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    cluster = ExternalCluster("", directory, [scheduler])
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (found := _SCHEDULER_AT.search(log_path.read_text(errors="replace"))):
            if scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dask scheduler did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        cluster.address = found[1]
        for name, env in workers.items():
            cluster.add_worker(name, env)
        if workers:
            cluster.wait_for_workers(len(workers))
        yield cluster
    finally:
        for process in reversed(cluster.processes):
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
