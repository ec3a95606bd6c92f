"""SIGKILL a gunicorn worker under load: every acknowledged pitch is audited, every acknowledged
feedback is stored, and gunicorn replaces the worker."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

from ops_support import Recorder, call, customer_ids, join_all, run_clients, stored_rows
from servertesting import server_environ, serving

from recsvc.store.constants import PITCH_OUTCOMES

CLIENTS = 4
WORKERS = 2
LOAD_BEFORE_KILL_S = 2.0
LOAD_AFTER_RESTART_S = 2.0
RESTART_DEADLINE_S = 30.0


def wait_for_replacement(server: Any, killed: int) -> set[int]:
    deadline = time.monotonic() + RESTART_DEADLINE_S
    while time.monotonic() < deadline:
        pids = server.worker_pids()
        if len(pids) == WORKERS and killed not in pids:
            return set(pids)
        time.sleep(0.1)
    raise AssertionError(f"worker {killed} was not replaced:\n{server.log()[-3000:]}")


def test_sigkilled_worker_loses_no_acknowledged_write(env: Any, tmp_path: Path) -> None:
    teller = env.headers("teller", staff_id="T001")
    customers = customer_ids(env.settings)
    rec = Recorder()
    stop = threading.Event()

    with serving(server_environ(env.settings), tmp_path, workers=WORKERS) as server:

        def step(rng: random.Random) -> None:
            pitched = call(server.base, "/v1/pitch", {"customer_id": rng.choice(customers)},
                           teller, rec)  # fmt: skip
            if pitched.status == 200 and pitched.body and pitched.body.get("pitch"):
                feedback = {
                    "request_id": pitched.body["request_id"],
                    "product_id": pitched.body["pitch"]["product_id"],
                    "outcome": rng.choice(PITCH_OUTCOMES),
                    "staff_id": "T001",
                }
                call(server.base, "/v1/feedback", feedback, teller, rec)

        before = server.worker_pids()
        threads = run_clients(CLIENTS, step, stop)
        try:
            time.sleep(LOAD_BEFORE_KILL_S)
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            after = wait_for_replacement(server, victim)
            restarted_at = time.monotonic()
            time.sleep(LOAD_AFTER_RESTART_S)
        finally:
            stop.set()
            join_all(threads)

    replies = rec.snapshot()
    answered = [r for r in replies if r.status is not None]
    assert all(r.ok for r in answered), [r for r in answered if not r.ok][:3]
    assert victim not in after and len(after & before) == WORKERS - 1  # one new worker
    assert any(r.ok and r.sent < killed_at for r in replies)
    assert any(r.ok and r.sent > restarted_at for r in replies), "no success after the restart"

    pitches = {r.body["request_id"] for r in replies if r.ok and r.path == "/v1/pitch" and r.body}
    feedback = {
        (r.body["request_id"], r.body["product_id"])
        for r in replies
        if r.ok and r.path == "/v1/feedback" and r.body
    }
    assert pitches and feedback
    audited = {row[0] for row in stored_rows(env.settings, "SELECT request_id FROM audit_log")}
    recorded = stored_rows(env.settings, "SELECT request_id, product_id FROM feedback")
    assert pitches - audited == set()
    assert feedback - recorded == set()
