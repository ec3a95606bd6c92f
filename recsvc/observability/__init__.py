"""JSON logs with personal data masked, and Prometheus metrics that add up across workers."""

from recsvc.observability.logging import (
    JsonFormatter,
    PiiMaskingFilter,
    configure_logging,
    mask_pii,
)
from recsvc.observability.metrics import RequestMetrics, render_metrics, worker_versions

__all__ = [
    "JsonFormatter",
    "PiiMaskingFilter",
    "RequestMetrics",
    "configure_logging",
    "mask_pii",
    "render_metrics",
    "worker_versions",
]
