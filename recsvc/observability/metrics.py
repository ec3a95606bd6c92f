"""Request metrics; under gunicorn they live in files shared by workers (multiprocess mode)."""

from __future__ import annotations

import os
import threading
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

SERVING = "recsvc_model_serving"
NO_MODEL = "none"  # the version label of a worker serving the rules alone
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class RequestMetrics:
    """One app's request counter and latency histogram, in a registry of its own."""

    def __init__(self, *, multiproc_dir: str = "") -> None:
        self.multiproc_dir = multiproc_dir
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "recsvc_http_requests",
            "HTTP requests served, by endpoint (path template), method and status.",
            ("endpoint", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "recsvc_http_request_duration_seconds",
            "Time from request start to response, by endpoint (path template).",
            ("endpoint", "method"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # 1 for the version this process serves, 0 for those it served before; under gunicorn
        # one file per live worker (liveall), so every worker can see what each one serves.
        self.serving_gauge = Gauge(
            SERVING,
            "1 for the model version this worker serves ('none': rules only).",
            ("version",),
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self._served: str | None = None
        self._serving_lock = threading.Lock()

    def serving(self, version: str | None) -> None:
        """Record the version this worker now serves (the model runtime calls this)."""
        label = version or NO_MODEL
        with self._serving_lock:
            if self._served == label:
                return
            if self._served is not None:
                self.serving_gauge.labels(self._served).set(0)
            self.serving_gauge.labels(label).set(1)
            self._served = label

    def observe(self, *, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint, method).observe(seconds)


def render_metrics(metrics: RequestMetrics) -> bytes:
    """Prometheus text format; in multiprocess mode the sum over every worker's files."""
    if not metrics.multiproc_dir:
        return generate_latest(metrics.registry)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=metrics.multiproc_dir)
    return generate_latest(registry)


def worker_versions(metrics: RequestMetrics) -> list[dict[str, Any]]:
    """What each live worker serves: [{"pid": ..., "version": ...}], by pid; one entry (this
    process) outside gunicorn. Read from the shared metric files, never from a worker's memory."""
    if not metrics.multiproc_dir:
        registry: Any = metrics.registry
        pid = str(os.getpid())
    else:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=metrics.multiproc_dir)
        pid = ""
    out = []
    for family in registry.collect():
        if family.name != SERVING:
            continue
        for sample in family.samples:
            if sample.value == 1:
                version = sample.labels["version"]
                out.append(
                    {
                        "pid": sample.labels.get("pid", pid),
                        "version": None if version == NO_MODEL else version,
                    }
                )
    return sorted(out, key=lambda w: (len(w["pid"]), w["pid"]))
