"""Smoke: `python -m recsvc serve` under gunicorn, 2 workers, metrics summed across them."""

from __future__ import annotations

from pathlib import Path

from servertesting import cli, get, metric_values, server_environ, serving

REQUESTS = 12
PRODUCTS = frozenset({("endpoint", "/v1/products"), ("method", "GET"), ("status", "200")})


def test_gunicorn_serves_and_counts_across_workers(tmp_path: Path) -> None:
    env = server_environ(DATABASE_URL=f"sqlite:///{tmp_path / 'smoke.db'}")
    key = cli(env, "keys", "create", "--role", "teller", "--staff", "T1")
    with serving(env, tmp_path, workers=2) as server:
        auth = {"Authorization": f"Bearer {key}"}
        statuses = [get(server.base, "/v1/products", auth)[0] for _ in range(REQUESTS)]
        assert statuses == [200] * REQUESTS
        metrics = get(server.base, "/metrics")[1]
    counts = metric_values(metrics, "recsvc_http_requests_total")
    assert counts.get(PRODUCTS) == REQUESTS, metrics
    assert key not in server.log()
