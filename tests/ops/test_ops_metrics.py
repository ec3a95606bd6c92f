"""/metrics under gunicorn: the v1 request counters, summed over workers, equal what was sent."""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from ops_support import Recorder, call, customer_ids, join_all, run_clients
from servertesting import get, metric_values, server_environ, serving

CLIENTS = 4
ROUNDS = 10  # per client: one pitch, one recommendations, feedback when something was pitched
V1 = ("/v1/pitch", "/v1/recommendations", "/v1/feedback")


def test_v1_request_counters_add_up_across_workers(env: Any, tmp_path: Path) -> None:
    teller = env.headers("teller", staff_id="T001")
    customers = customer_ids(env.settings)
    rec = Recorder()
    stop = threading.Event()

    with serving(server_environ(env.settings), tmp_path, workers=2) as server:
        rounds = iter(range(CLIENTS * ROUNDS))
        lock = threading.Lock()

        def step(rng: random.Random) -> None:
            with lock:
                if next(rounds, None) is None:
                    stop.set()
                    return
            customer = rng.choice(customers)
            body = {"customer_id": customer, "channel": "teller"}
            call(server.base, "/v1/recommendations", body, teller, rec)
            pitched = call(server.base, "/v1/pitch", {"customer_id": customer}, teller, rec)
            if pitched.ok and pitched.body and pitched.body.get("pitch"):
                feedback = {
                    "request_id": pitched.body["request_id"],
                    "product_id": pitched.body["pitch"]["product_id"],
                    "outcome": "accepted",
                    "staff_id": "T001",
                }
                call(server.base, "/v1/feedback", feedback, teller, rec)

        join_all(run_clients(CLIENTS, step, stop))
        metrics = get(server.base, "/metrics")[1]

    sent = Counter((r.path, str(r.status)) for r in rec.snapshot())
    assert all(r.status is not None for r in rec.snapshot()), "a request got no answer"
    counted = {
        (dict(labels)["endpoint"], dict(labels)["status"]): value
        for labels, value in metric_values(metrics, "recsvc_http_requests_total").items()
        if dict(labels)["endpoint"] in V1
    }
    assert counted == {key: float(n) for key, n in sent.items()}
    assert sent[("/v1/pitch", "200")] == sent[("/v1/recommendations", "200")] == CLIENTS * ROUNDS
    assert sent[("/v1/feedback", "201")] > 0
