"""Client load for the operational tests: bounded threads that record every reply."""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servertesting import LOOPBACK, Server, free_port, request, start_server, stop, wait_healthy

from recsvc.config import Settings

MAX_RUN_S = 60  # no client loop outlives this, whatever the test's own stop condition
MAX_REQUESTS_PER_CLIENT = 20_000
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"  # .ci/run installs it


@dataclass(frozen=True)
class Reply:
    """One request as the client saw it: status None means no HTTP answer (connection error)."""

    path: str
    sent: float
    done: float
    status: int | None
    request_id: str
    body: dict[str, Any] | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def model_version(self) -> str | None:
        return None if self.body is None else self.body.get("model_version")


class Recorder:
    """Thread-safe list of replies, in completion order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: list[Reply] = []

    def add(self, reply: Reply) -> None:
        with self._lock:
            self._replies.append(reply)

    def snapshot(self) -> list[Reply]:
        with self._lock:
            return list(self._replies)


def call(
    base: str, path: str, body: Mapping[str, Any], headers: Mapping[str, str], rec: Recorder
) -> Reply:
    """POST with our own X-Request-ID, so every attempt can be found in the store later."""
    rid = uuid.uuid4().hex
    sent = time.monotonic()
    try:
        status, text = request(
            base, "POST", path, body=dict(body), headers={**headers, "X-Request-ID": rid}
        )
    except (OSError, http.client.HTTPException) as exc:
        # a worker killed mid-answer: no status, or a body cut short -> never acknowledged
        reply = Reply(path, sent, time.monotonic(), None, rid, None, f"{type(exc).__name__}")
    else:
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        reply = Reply(path, sent, time.monotonic(), status, rid, parsed)
    rec.add(reply)
    return reply


def run_clients(
    n: int, step: Callable[[random.Random], None], stop: threading.Event, *, seed: int = 0
) -> list[threading.Thread]:
    """Start n threads calling step(rng) until stop is set (or the count/time bounds hit)."""

    def loop(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        deadline = time.monotonic() + MAX_RUN_S
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if stop.is_set() or time.monotonic() > deadline:
                return
            step(rng)

    threads = [threading.Thread(target=loop, args=(k,), daemon=True) for k in range(n)]
    for thread in threads:
        thread.start()
    return threads


def join_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(timeout=MAX_RUN_S)
        assert not thread.is_alive(), "a client thread did not stop"


def sqlite_path(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def customer_ids(settings: Settings) -> list[str]:
    return sorted(row[0] for row in stored_rows(settings, "SELECT customer_id FROM customers"))


def stored_rows(settings: Settings, sql: str) -> set[tuple[Any, ...]]:
    """Rows read straight from the SQLite file, bypassing the service."""
    db = sqlite3.connect(sqlite_path(settings))
    try:
        return {tuple(row) for row in db.execute(sql)}
    finally:
        db.close()


@contextlib.contextmanager
def redis_server(tmp_path: Path) -> Iterator[str]:
    """A throw-away redis-server on loopback (no persistence); its URI."""
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", LOOPBACK, "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((LOOPBACK, port), 2) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
            assert process.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.1)
        yield f"redis://{LOOPBACK}:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextlib.contextmanager
def serving_hosts(
    envs: Sequence[Mapping[str, str]], homes: Sequence[Path], *, workers: int = 2
) -> Iterator[list[Server]]:
    """One `python -m recsvc serve` per (environment, home directory), started at once, each
    on its own free loopback port with `workers` workers; all healthy, all stopped on exit.

    Each runs in its home directory with TMPDIR there, standing in for a host of its own: what
    the instances share is only what their environments name (store, Redis, registry)."""
    servers: list[Server] = []
    try:
        for env, home in zip(envs, homes, strict=True):
            (home / "tmp").mkdir(parents=True, exist_ok=True)
            env_here = {**env, "TMPDIR": str(home / "tmp")}
            servers.append(start_server(env_here, home, workers=workers))
        for server in servers:
            wait_healthy(server, workers=workers)
        yield servers
    finally:
        for server in servers:
            stop(server.process)
