"""A fresh gunicorn worker builds every first-use cache before its first request.

gunicorn.conf.py's post_worker_init runs in each worker after fork, before it accepts
connections. After it, a worker's first /v1/pitch must load no model, build no LightGBM
one-row path, open no store connection and compile no SQL: that work belongs to start-up,
not to the first teller after a start, a restart or a replaced worker.
"""

from __future__ import annotations

import os
import runpy
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.sql import compiler

from recsvc import create_app
from recsvc.api.extensions import extensions
from recsvc.config import PROJECT_ROOT
from recsvc.models import fastpath
from recsvc.models import ranker as ranker_module

GUNICORN_CONF = PROJECT_ROOT / "gunicorn.conf.py"
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"


def gunicorn_hooks() -> dict[str, Any]:
    """gunicorn.conf.py's namespace; it sets PROMETHEUS_MULTIPROC_DIR for its server run
    (made a temporary directory): put back at once, the directory removed by on_exit."""
    before = os.environ.get(MULTIPROC)
    hooks = runpy.run_path(str(GUNICORN_CONF))
    if before is None:
        os.environ.pop(MULTIPROC, None)
    else:
        os.environ[MULTIPROC] = before
    return hooks


def count_first_use_work(monkeypatch: pytest.MonkeyPatch, app: Any) -> Counter[str]:
    """From now on, count model loads, one-row paths made, connections opened, SQL compiled."""
    counts: Counter[str] = Counter()

    def counting(name: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return original(*args, **kwargs)

        return wrapper

    load = ranker_module.ProductRanker.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        ranker_module.ProductRanker, "load", classmethod(counting("model load", load))
    )
    monkeypatch.setattr(
        fastpath.SingleRowPredictor,
        "__init__",
        counting("one-row path", fastpath.SingleRowPredictor.__init__),
    )
    monkeypatch.setattr(
        compiler.SQLCompiler, "__init__", counting("SQL compiled", compiler.SQLCompiler.__init__)
    )
    event.listen(extensions(app).engine, "connect", lambda *_: counts.update(["connection"]))
    return counts


def test_a_fresh_worker_is_warm_before_its_first_request(
    env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = gunicorn_hooks()
    try:
        app = create_app({"SETTINGS": env.settings})  # what gunicorn builds in a worker
        hooks["post_worker_init"](SimpleNamespace(wsgi=app))
    finally:
        hooks["on_exit"](None)
    with extensions(app).engine.connect() as connection:
        # not the lowest id, which the warm-up rehearses
        customer = connection.execute(
            text("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1 OFFSET 1")
        ).scalar_one()
    headers = env.headers("teller", staff_id="T001")
    counts = count_first_use_work(monkeypatch, app)

    response = app.test_client().post(
        "/v1/pitch",
        json={"customer_id": customer, "transaction": {"type": "cash_withdrawal", "amount": 3000}},
        headers=headers,
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["model_version"] is not None
    assert counts == Counter(), f"first request did first-use work: {dict(counts)}"


def table_counts(app: Any) -> tuple[int, int]:
    with extensions(app).engine.connect() as connection:
        return (
            connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one(),
            connection.execute(text("SELECT count(*) FROM pitch_log")).scalar_one(),
        )


def test_warm_up_writes_nothing(env: Any) -> None:
    from recsvc.api.warmup import warm_up

    app = create_app({"SETTINGS": env.settings})
    before = table_counts(app)
    timings = warm_up(app)
    assert timings["total_ms"] >= timings["service_ms"] > 0
    assert table_counts(app) == before
    assert extensions(app).service.runtime.status()["version"] is not None


@pytest.mark.parametrize("challenger_share", [0, 100])
def test_a_fresh_worker_has_warmed_the_challenger_arm_too(
    env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, challenger_share: int
) -> None:
    """A published challenger is loaded, its one-row paths built, before the worker's first
    request, as the champion is: whether or not the warm-up's rehearsal falls in its arm (a
    new split can send customers to it at any time)."""
    env.registry.publish(env.model_dir, note="challenger")
    setup = create_app({"SETTINGS": env.settings}).test_client()
    split = {"champion": 100 - challenger_share, "challenger": challenger_share, "rules": 0,
             "holdout": 0}  # fmt: skip
    put = setup.put("/v1/experiment", json={"split": split}, headers=env.headers("admin"))
    assert put.status_code == 200, put.get_json()
    hooks = gunicorn_hooks()
    try:
        app = create_app({"SETTINGS": env.settings})
        hooks["post_worker_init"](SimpleNamespace(wsgi=app))
    finally:
        hooks["on_exit"](None)
    arms = extensions(app).service.arms.runtimes
    assert arms["challenger"].status()["version"] is not None
    headers = env.headers("teller", staff_id="T001")
    counts = count_first_use_work(monkeypatch, app)

    response = app.test_client().post(
        "/v1/pitch", json={"customer_id": "C00000002"}, headers=headers
    )

    assert response.status_code == 200, response.get_json()
    served = "challenger" if challenger_share else "champion"
    assert response.get_json()["experiment"]["served"] == served
    assert counts == Counter(), f"first request did first-use work: {dict(counts)}"
