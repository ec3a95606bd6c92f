"""Running `python -m recsvc serve` (gunicorn) for a test: start, wait healthy, stop for sure.

Import as `from servertesting import ...`. The server listens on 127.0.0.1 only, in its own
process group, with its output in a file (a pipe nobody reads would stall a busy server); it is
stopped with SIGTERM to the whole group, then SIGKILL if it does not go in time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from recsvc.config import PROJECT_ROOT, Settings
from recsvc.security import create_key
from recsvc.store import make_engine, upgrade

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 10
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def store_with_key(tmp_path: Path, **settings: Any) -> tuple[Settings, str]:
    """Settings for a new, migrated SQLite store and registry under tmp_path (`settings` override
    any other field), and a teller's API key (staff T001) in that store."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'recsvc.db'}",
        "registry_dir": tmp_path / "registry",
        **settings,
    }
    store = Settings(**values)
    engine = make_engine(store.database_url)
    upgrade(engine)
    with Session(engine) as session:
        key = create_key(session, role="teller", staff_id="T001")
        session.commit()
    engine.dispose()
    return store, key


def server_environ(settings: Settings | None = None, **extra: str) -> dict[str, str]:
    """The environment for the CLI: this checkout importable, the test's store and registry."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if settings is not None:
        env["DATABASE_URL"] = settings.database_url
        env["RECSVC_REGISTRY_DIR"] = str(settings.registry_dir)
        env["RECSVC_RATE_LIMIT"] = settings.rate_limit
    env.update(extra)
    return env


def cli(env: Mapping[str, str], *args: str) -> str:
    """Run `python -m recsvc ARGS`; its stdout, stripped."""
    return subprocess.run(
        [sys.executable, "-m", "recsvc", *args],
        env=dict(env), capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip


def request(
    base: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = HTTP_TIMEOUT_S,
) -> tuple[int, str]:
    """One request on a fresh connection: (status, body text); OSError if none came back."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def get(base: str, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, str]:
    return request(base, "GET", path, headers=headers)


@dataclass
class Server:
    """A running gunicorn master started by `serving`."""

    base: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def master_pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> set[int]:
        """Live children of the master (gunicorn's workers)."""
        return children_of(self.master_pid)


def children_of(pid: int) -> set[int]:
    """Child process ids, from /proc (Linux)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found.update(int(c) for c in (task / "children").read_text().split())
    return found


def wait_healthy(server: Server, *, workers: int | None = None) -> None:
    """Until /healthz answers 200 (and, if given, `workers` children are up)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"server exited during start-up:\n{server.log()}"
        try:
            healthy = get(server.base, "/healthz")[0] == 200
        except OSError:
            healthy = False
        if healthy and (workers is None or len(server.worker_pids()) == workers):
            return
        time.sleep(0.2)
    raise AssertionError(f"server did not become healthy:\n{server.log()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers; always reaps the master."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
    # Workers outlive a SIGKILLed master; the group goes in any case.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_TIMEOUT_S)


def start_server(env: Mapping[str, str], cwd: Path, *, workers: int) -> Server:
    """`python -m recsvc serve` started on a free loopback port, its log in cwd (not waited
    for: see wait_healthy; stop it with stop)."""
    port = free_port()
    log_path = cwd / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "recsvc", "serve",
             "--host", LOOPBACK, "--port", str(port), "--workers", str(workers)],
            env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return Server(base=f"http://{LOOPBACK}:{port}", process=process, log_path=log_path)


@contextlib.contextmanager
def serving(env: Mapping[str, str], cwd: Path, *, workers: int = 2) -> Iterator[Server]:
    """`python -m recsvc serve` on a free loopback port, healthy, stopped on exit."""
    server = start_server(env, cwd, workers=workers)
    try:
        wait_healthy(server, workers=workers)
        yield server
    finally:
        stop(server.process)


def metric_values(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Samples of one metric in Prometheus text format, keyed by their label set."""
    values: dict[frozenset[tuple[str, str]], float] = {}
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        labels_text, _, value = line[len(name) + 1 :].rpartition("} ")
        labels = frozenset(
            (k, v.strip('"')) for k, _, v in (p.partition("=") for p in labels_text.split(","))
        )
        values[labels] = float(value)
    return values


SERVE_PRODUCTION = PROJECT_ROOT / "scripts" / "serve-production"


@contextlib.contextmanager
def serving_production(env: Mapping[str, str], cwd: Path, *, workers: int = 2) -> Iterator[Server]:
    """`scripts/serve-production` (nginx -> gunicorn on a unix socket) on a free loopback port,
    its run directory under cwd; healthy through nginx, stopped on exit."""
    port = free_port()
    log_path = cwd / f"production-{port}.log"
    environ = dict(env, RECSVC_HOST=LOOPBACK, RECSVC_PORT=str(port),
                   RECSVC_RUN_DIR=str(cwd / f"run-{port}"),
                   RECSVC_WEB_WORKERS=str(workers))  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(SERVE_PRODUCTION)], env=environ, cwd=cwd, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = Server(base=f"http://{LOOPBACK}:{port}", process=process, log_path=log_path)
    try:
        wait_healthy(server)
        yield server
    finally:
        stop(process)
