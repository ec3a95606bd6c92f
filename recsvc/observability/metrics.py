"""Request metrics; under gunicorn they live in files shared by workers (multiprocess mode)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

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
