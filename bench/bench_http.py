"""Benchmark: recsvc over HTTP under gunicorn, against a Flask hello-world on the same config.

(a) bench/hello_app.py under gunicorn.conf.py (same workers, sync); (b) recsvc on a synthetic bank
(--customers, default 20,000) loaded into a fresh SQLite store, with a champion trained by
`python -m training train --dataset synthetic`. POST /v1/pitch and /v1/recommendations with
customer ids sampled from the store, at each of --connections. Prints req/s, p50, p99, the
ratio to hello-world and the machine. Uses wrk (Debian package) with a Lua script rotating the
bodies, else a bounded Python load generator. Asserts nothing. Servers listen on 127.0.0.1.

Run: python bench/bench_http.py [--workdir /tmp/recsvc-bench] [--duration 10]
The bank and the trained model are kept in --workdir and reused (training takes minutes).
Load starts once the service answers (its workers warm before they accept); no warm-up run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from machine import machine

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
CONF = ROOT / "gunicorn.conf.py"
HOST = "127.0.0.1"
SAMPLE_IDS = 2000
START_TIMEOUT_S = 120
MAX_REQUESTS_PER_CONNECTION = 200_000  # python load generator: bounded in count and time
TARGET_RATIO, TARGET_P99_MS, TARGET_CONNECTIONS = 0.25, 15.0, 32


@dataclass(frozen=True)
class Result:
    name: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def run(cmd: list[str], env: dict[str, str], timeout: float = 1800) -> str:
    return subprocess.run(
        cmd, env=env, check=True, capture_output=True, text=True, timeout=timeout
    ).stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- data and model


def service_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments every benchmark of a running service takes: where it builds the bank and
    model (--workdir), and the bank's size and seed."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "recsvc-bench"
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    return parser


def prepare(
    workdir: Path, customers: int, seed: int, env: dict[str, str], dataset: str = "synthetic"
) -> tuple[Path, Path]:
    """The synthetic bank and its trained model (on the spec `dataset`), built once per workdir."""
    bank, model = workdir / f"bank-{customers}-{seed}", workdir / f"model-{customers}-{seed}"
    if dataset != "synthetic":
        model = workdir / f"model-{dataset}-{customers}-{seed}"
    training = [sys.executable, "-m", "training"]
    if not (bank / "manifest.json").is_file():
        print(f"generating {customers} customers ...", flush=True)
        run([*training, "synth", "--customers", str(customers), "--seed", str(seed),
             "--out", str(bank), "--quiet"], env)  # fmt: skip
    if not (model / "model.json").is_file():
        print("training the champion (minutes) ...", flush=True)
        run([*training, "train", "--dataset", dataset, "--data", str(bank),
             "--out", str(model), "--seed", "0", "--quiet"], env)  # fmt: skip
    return bank, model


def service_env(tmp: Path, bank: Path, model: Path, env: dict[str, str]) -> dict[str, str]:
    """A fresh store with the bank loaded and a fresh registry with the champion."""
    env = dict(env, DATABASE_URL=f"sqlite:///{tmp / 'recsvc.db'}",
               RECSVC_REGISTRY_DIR=str(tmp / "registry"))  # fmt: skip
    run([sys.executable, "-m", "recsvc", "load-customers", str(bank), "--quiet"], env)
    run([sys.executable, "-m", "training", "publish", "--model", str(model),
         "--note", "bench champion"], env)  # fmt: skip
    return env


def sample_ids(database_url: str, n: int, seed: int) -> list[str]:
    db = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    try:
        ids = [row[0] for row in db.execute("SELECT customer_id FROM customers")]
    finally:
        db.close()
    return random.Random(seed).sample(ids, min(n, len(ids)))


# --------------------------------------------------------------------------- servers


def _answers(port: int, path: str) -> bool:
    with contextlib.suppress(OSError, http.client.HTTPException):
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return True  # a worker answered (hello's GET is a 405: answered all the same)
        finally:
            conn.close()
    return False


def stop_process(
    proc: subprocess.Popen[bytes], terminate: Callable[[int, int], None], *, timeout: float
) -> None:
    """SIGTERM through `terminate` (os.kill: the process; os.killpg: its group), then, if it has
    not ended within `timeout` seconds, SIGKILL to its whole group."""
    with contextlib.suppress(ProcessLookupError):
        terminate(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@contextlib.contextmanager
def gunicorn(app: str, env: dict[str, str], workers: int, log: Path, ready: str) -> Iterator[str]:
    """gunicorn with the project's config on a free loopback port; the group killed after.

    Ready means a worker answering `ready`, not the port being open: gunicorn's master binds it
    long before a worker has imported the app and loaded the model, and load sent then waits
    in the listen queue (1.8 s here; the first requests of a run measured that wait, which a
    fixed warm-up of a few seconds hid or not depending on the machine). A worker answers only
    once warm (gunicorn.conf.py), so one that is still starting takes no requests."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--config", str(CONF),
           "--bind", f"{HOST}:{port}", "--workers", str(workers), app]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start; see {log}")
            if _answers(port, ready):
                break
            time.sleep(0.2)
        yield f"http://{HOST}:{port}"
    finally:
        stop_process(proc, os.killpg, timeout=30)


# --------------------------------------------------------------------------- load


LUA = """
local bodies = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "%s", {["Content-Type"]="application/json",
    ["Authorization"]="%s"}, bodies[(i %% #bodies) + 1])
end
"""


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load_wrk(base: str, path: str, bodies: list[str], auth: str, conns: int, seconds: int,
             tmp: Path) -> tuple[float, float, float, int]:  # fmt: skip
    script = tmp / "bodies.lua"
    quoted = ",".join("[==[" + b + "]==]" for b in bodies)
    script.write_text(LUA % (quoted, path, auth))
    out = run(["wrk", "-t", "2", "-c", str(conns), "-d", f"{seconds}s", "--latency",
               "--timeout", "10s", "-s", str(script), base], dict(os.environ),
              timeout=seconds + 60)  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return rps, p50, p99, errors


def load_python(base: str, path: str, bodies: list[str], auth: str, conns: int, seconds: int,
                tmp: Path) -> tuple[float, float, float, int]:  # fmt: skip
    """Fallback: one thread per connection, bounded in count and time."""
    port = int(base.rsplit(":", 1)[1])
    headers = {"Content-Type": "application/json", "Authorization": auth}
    latencies: list[list[float]] = [[] for _ in range(conns)]
    errors = [0] * conns
    end = time.monotonic() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        for i in range(MAX_REQUESTS_PER_CONNECTION):
            if time.monotonic() > end:
                break
            start = time.perf_counter()
            try:
                conn.request("POST", path, body=bodies[(i * conns + k) % len(bodies)],
                             headers=headers)  # fmt: skip
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                ok = False
            latencies[k].append(time.perf_counter() - start)
            errors[k] += not ok
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(conns)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    every = sorted(x for per in latencies for x in per)
    pct = lambda q: every[min(len(every) - 1, int(q * len(every)))] * 1000  # noqa: E731
    return len(every) / elapsed, pct(0.5), pct(0.99), sum(errors)


def measure(name: str, base: str, path: str, bodies: list[str], auth: str, conns: int,
            seconds: int, tmp: Path) -> Result:  # fmt: skip
    loader = load_wrk if shutil.which("wrk") else load_python
    # No warm-up run: the workers are warm before they take traffic (gunicorn.conf.py), and
    # the first requests after a start are part of what tellers get.
    rps, p50, p99, errors = loader(base, path, bodies, auth, conns, seconds, tmp)
    result = Result(name, conns, rps, p50, p99, errors)
    print(f"  {name:<22} c={conns:<3} {rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
          f"  errors {errors}", flush=True)  # fmt: skip
    return result


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = service_parser(__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32])
    args = parser.parse_args()

    print(f"machine: {machine()}")
    print(f"load generator: {'wrk' if shutil.which('wrk') else 'python threads'}, "
          f"gunicorn {args.workers} sync workers, {CONF.name}")  # fmt: skip
    env = dict(os.environ, RECSVC_RATE_LIMIT="1000000 per minute", RECSVC_LOG_LEVEL="WARNING")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(BENCH), env.get("PYTHONPATH")])
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    args.workdir.mkdir(parents=True, exist_ok=True)
    bank, model = prepare(args.workdir, args.customers, args.seed, env)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-http-") as name:
        tmp = Path(name)
        senv = service_env(tmp, bank, model, env)
        key = run([sys.executable, "-m", "recsvc", "keys", "create", "--role", "teller",
                   "--staff", "T001"], senv)  # fmt: skip
        auth = f"Bearer {key}"
        ids = sample_ids(senv["DATABASE_URL"], SAMPLE_IDS, args.seed)
        log = tmp / "server.log"
        with gunicorn("hello_app:create_app()", senv, args.workers, log, "/hello") as base:
            for c in args.connections:
                results.append(measure("hello-world", base, "/hello", ["{}"], auth, c,
                                       args.duration, tmp))  # fmt: skip
        pitch = [json.dumps({"customer_id": i}) for i in ids]
        reco = [json.dumps({"customer_id": i, "channel": "teller", "limit": 5}) for i in ids]
        with gunicorn("recsvc:create_app()", senv, args.workers, log, "/healthz") as base:
            for path, bodies in (("/v1/pitch", pitch), ("/v1/recommendations", reco)):
                for c in args.connections:
                    results.append(measure(f"POST {path}", base, path, bodies, auth, c,
                                           args.duration, tmp))  # fmt: skip
    report(results)
    return 0


def report(results: list[Result]) -> None:
    hello = {r.connections: r.rps for r in results if r.name == "hello-world"}
    print("\n| endpoint | conns | req/s | p50 ms | p99 ms | x hello | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ratio = r.rps / hello[r.connections] if hello.get(r.connections) else float("nan")
        print(f"| {r.name} | {r.connections} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
              f"| {ratio:.2f} | {r.errors} |")  # fmt: skip
    for r in results:
        if r.name == "POST /v1/pitch" and r.connections == TARGET_CONNECTIONS:
            ratio = r.rps / hello[r.connections]
            print(f"\ntarget /v1/pitch at {TARGET_CONNECTIONS} conns: >= {TARGET_RATIO}x hello "
                  f"({ratio:.2f}x: {'met' if ratio >= TARGET_RATIO else 'MISSED'}), p99 <= "
                  f"{TARGET_P99_MS} ms ({r.p99_ms:.1f} ms: "
                  f"{'met' if r.p99_ms <= TARGET_P99_MS else 'MISSED'})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
