"""Smoke: `python -m recsvc serve` under gunicorn, 2 workers, metrics summed across them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from recsvc.config import PROJECT_ROOT

REQUESTS = 12
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.poll() is None, "server exited during start-up"
        try:
            if get(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def test_gunicorn_serves_and_counts_across_workers(tmp_path: Path) -> None:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'smoke.db'}")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", "recsvc"]
    key = subprocess.run(
        [*cmd, "keys", "create", "--role", "teller", "--staff", "T1"],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*cmd, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_healthy(base, server)
        auth = {"Authorization": f"Bearer {key}"}
        statuses = [get(f"{base}/v1/products", auth)[0] for _ in range(REQUESTS)]
        assert statuses == [200] * REQUESTS
        metrics = get(f"{base}/metrics")[1]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
    line = re.search(
        r'^recsvc_http_requests_total\{endpoint="/v1/products",method="GET",status="200"\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    assert line is not None, metrics
    assert float(line.group(1)) == REQUESTS
    assert key not in stderr.decode(errors="replace")
