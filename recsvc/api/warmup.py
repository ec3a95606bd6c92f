"""A serving worker's warm-up: what a first request would otherwise build, built after fork
and before the worker takes traffic (gunicorn.conf.py's post_worker_init calls `warm_up`).

Without it, the first requests of every fresh worker (a start, a restart, a worker replaced
after a crash) paid for the model's one-row paths, the first store connection, SQL compiled
for the prepared statements and the API-key lookup, and the URL map.
"""

from __future__ import annotations

import logging
import os
import time

from flask import Flask

from recsvc.api.extensions import extensions

log = logging.getLogger("recsvc.api.warmup")
# Well-formed, never issued (key ids are random): one store lookup that finds nothing.
_UNKNOWN_KEY = "rk_0000000000000000_" + "0" * 32


def warm_up(app: Flask) -> dict[str, float]:
    """Build every first-use cache of the request path; milliseconds per part (also logged)."""
    timings: dict[str, float] = {}

    def timed(name: str, started: float) -> float:
        now = time.perf_counter()
        timings[name] = round((now - started) * 1000, 1)
        return now

    started = time.perf_counter()
    extensions(app).service.warm_up()  # model, connection, statements, one pitch rehearsed
    mark = timed("service_ms", started)
    extensions(app).authenticator(_UNKNOWN_KEY)
    mark = timed("api_keys_ms", mark)
    app.url_map.bind("localhost").match("/healthz")  # werkzeug compiles its matcher once
    timed("routing_ms", mark)
    timed("total_ms", started)
    log.info("worker warm", extra={"fields": {"pid": os.getpid(), **timings}})
    return timings
