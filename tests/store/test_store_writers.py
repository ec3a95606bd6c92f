"""Request-path writers on one SQLite file queue on a lock file, across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from recsvc.store import make_engine, queued_writer

HOLD_S = 0.3


def _hold_in_child(url: str, started: object, seconds: float) -> None:
    engine = make_engine(url)
    with queued_writer(engine):
        started.set()  # type: ignore[attr-defined]
        time.sleep(seconds)
    engine.dispose()


def test_a_writer_waits_for_another_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'recsvc.db'}"
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    child = context.Process(target=_hold_in_child, args=(url, started, HOLD_S))
    child.start()
    try:
        assert started.wait(30)
        engine = make_engine(url)
        begun = time.monotonic()
        with queued_writer(engine):
            waited = time.monotonic() - begun
        engine.dispose()
    finally:
        child.join(30)
    assert waited > HOLD_S / 3, "the second writer did not queue behind the first"
    assert (tmp_path / "recsvc.db.writers").is_file()


def test_threads_of_one_process_queue_too(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'recsvc.db'}")
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with queued_writer(engine):
            inside.set()
            time.sleep(0.1)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(10)
    with queued_writer(engine):
        order.append("second in")
    thread.join()
    engine.dispose()
    assert order == ["first done", "second in"]


def test_no_lock_file_for_postgres_or_memory(engine: Engine, tmp_path: Path) -> None:
    with queued_writer(engine):  # the store fixture: SQLite file or PostgreSQL
        pass
    memory = make_engine("sqlite://")
    with queued_writer(memory):
        pass
    memory.dispose()
    is_sqlite = engine.url.get_backend_name() == "sqlite"
    assert Path(f"{engine.url.database}.writers").is_file() is is_sqlite
