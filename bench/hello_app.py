"""Flask hello-world: the floor bench_http.py compares recsvc against (same gunicorn config)."""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app
