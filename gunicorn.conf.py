"""Gunicorn settings for recsvc; `python -m recsvc serve` runs gunicorn with this file."""

import os
import shutil
import tempfile

# Before anything imports prometheus_client: workers forked from this process must see the
# multiprocess directory, or each would count alone. A fresh directory per server start.
_METRICS_DIR = tempfile.mkdtemp(prefix="recsvc-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _METRICS_DIR

from recsvc.config import Settings  # noqa: E402

_settings = Settings.from_env()

wsgi_app = "recsvc:create_app()"
bind = "127.0.0.1:8000"
worker_class = "sync"  # CPU-bound requests; put a buffering proxy (nginx) in front
workers = _settings.web_workers
# Never preload: LightGBM starts OpenMP threads, and a process that has them must not fork.
preload_app = False
timeout = _settings.web_timeout_seconds
graceful_timeout = 10
keepalive = 2
max_requests = 0
accesslog = None  # recsvc writes its own JSON line per request
errorlog = "-"
loglevel = "info"
proc_name = "recsvc"
# One server per socket path would collide (tests run several); operate with signals instead.
control_socket_disable = True


def on_starting(server):  # type: ignore[no-untyped-def]
    """Migrate the store once in the master, so workers never race on it."""
    from recsvc.store.engine import make_engine, upgrade

    engine = make_engine(_settings.database_url)
    upgrade(engine)
    engine.dispose()


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Build every first-use cache in this worker (the champion and its one-row paths, a store
    connection, prepared SQL, ...) before it takes requests: no teller waits for them.

    The app is built in each worker (preload_app off): nothing of the model in the master; its
    ModelRuntime loads in the worker, with num_threads=1."""
    from recsvc.api.extensions import KEY, extensions

    if KEY in getattr(worker.wsgi, "extensions", {}):
        from recsvc.api.warmup import warm_up

        warm_up(worker.wsgi)
        # a promote or rollback is loaded beside the serving model, not inside a request
        extensions(worker.wsgi).service.reload_in_background()


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """Let the metrics of a dead worker be merged correctly (live gauges dropped)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _METRICS_DIR)


def on_exit(server):  # type: ignore[no-untyped-def]
    """The metrics files belong to this server run only."""
    shutil.rmtree(_METRICS_DIR, ignore_errors=True)
