"""One SQLite writer at a time, queued by the kernel instead of SQLite's busy handler.

SQLite lets one writer in; the others get SQLITE_BUSY and its busy handler sleeps 1, 2, 5, 10...
ms before trying again, although a request's write transaction (audit + pitch log + commit)
holds the lock for ~0.1 ms. Under load most of a colliding request's wait is that sleep. A
request path writer first takes an exclusive flock on `<database>.writers`: the next one is
woken the moment the lock is released. Correctness stays SQLite's (busy_timeout still applies to
writers that do not queue, such as the loader); PostgreSQL needs none of this.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from typing import IO

from sqlalchemy import Engine

_LOCKS: weakref.WeakKeyDictionary[Engine, _WriterLock | None] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


class _WriterLock:
    """A process's handle on the lock file, plus a thread lock (flock excludes processes only:
    threads of one process share the open file description)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._file: IO[bytes] | None = None
        self._pid = -1

    def _handle(self) -> IO[bytes]:
        if self._file is None or self._pid != os.getpid():  # a forked child opens its own
            if self._file is not None:
                self._file.close()  # the parent's description: its lock is the parent's
            self._file = open(self.path, "ab")  # noqa: SIM115 (closed with this object)
            self._pid = os.getpid()
            weakref.finalize(self, self._file.close)
        return self._file

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            handle = self._handle()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _lock_for(engine: Engine) -> _WriterLock | None:
    with _GUARD:
        if engine not in _LOCKS:
            url = engine.url
            file_db = url.get_backend_name() == "sqlite" and url.database not in (None, "")
            in_memory = not file_db or str(url.database).startswith((":memory:", "file::memory:"))
            _LOCKS[engine] = None if in_memory else _WriterLock(f"{url.database}.writers")
        return _LOCKS[engine]


@contextlib.contextmanager
def queued_writer(engine: Engine) -> Iterator[None]:
    """Hold this around a short write transaction, commit included (no-op but on SQLite files)."""
    lock = _lock_for(engine)
    if lock is None:
        yield
        return
    with lock.held():
        yield
