"""Checking a bank export's rows in worker processes: the same converters, the same errors, the
rows handed back in file order, a bounded number of chunks in flight.

The CSV is read in the loading process (csvrows.read_rows: header and field-count errors are
raised there); chunks of raw rows go to a process pool where RowConverters check and convert
them, exactly as csvrows.checked_rows does in one process. The first bad row in file order is
the one reported, whichever process found it.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

from recsvc.store.csvrows import LoadError, RowConverters, _RowError, read_rows
from recsvc.store.customer_repo import customer_to_row

# in a worker process: the converters of the load it serves
_converters: RowConverters | None = None

Converted = list[tuple[int, Any]]
Failed = tuple[int, str | None, str]  # line, field, problem


def _start(snapshot_dates: tuple[dt.date, ...]) -> None:
    global _converters
    _converters = RowConverters(snapshot_dates)


def _convert(kind: str, chunk: list[tuple[int, dict[str, str]]]) -> Converted | Failed:
    """A chunk's converted rows, or (line, field, problem) of its first bad row."""
    assert _converters is not None
    convert = _converters.customer if kind == "customer" else getattr(_converters, kind)
    out: Converted = []
    for line, raw in chunk:
        try:
            value = convert(raw)
        except _RowError as exc:
            return line, exc.field or None, exc.message
        out.append((line, customer_to_row(value) if kind == "customer" else value))
    return out


class RowPool:
    """A pool of `workers` processes checking rows for one load (spawned: nothing of the
    loading process, its database connection least of all, is inherited)."""

    def __init__(self, workers: int, snapshot_dates: Sequence[dt.date], chunk_size: int) -> None:
        if workers < 2:
            raise ValueError("a RowPool needs at least 2 workers")
        self.workers = workers
        self.chunk_size = chunk_size
        self.executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(tuple(snapshot_dates),),
        )

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def checked_rows(
        self, path: Path, columns: Sequence[str], kind: str
    ) -> Iterator[tuple[int, Any]]:
        """csvrows.checked_rows(path, columns, RowConverters.<kind>) (for "customer": the
        customers table values), the conversion done in the pool."""
        pending: deque[Future[Converted | Failed]] = deque()
        raws = read_rows(path, columns)
        try:
            while chunk := list(islice(raws, self.chunk_size)):
                pending.append(self.executor.submit(_convert, kind, chunk))
                if len(pending) > 2 * self.workers:
                    yield from self._result(path, pending.popleft())
        except LoadError:
            while pending:  # a bad row before the unreadable line is reported first
                for _ in self._result(path, pending.popleft()):
                    pass
            raise
        while pending:
            yield from self._result(path, pending.popleft())

    @staticmethod
    def _result(path: Path, future: Future[Converted | Failed]) -> Converted:
        result = future.result()
        if isinstance(result, tuple):
            line, field, problem = result
            raise LoadError(path.name, line, field, problem)
        return result
