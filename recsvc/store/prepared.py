"""Core statements compiled once per dialect and run on the connection's DBAPI cursor.

The request path runs the same handful of statements thousands of times a second; SQLAlchemy's
per-execution work (cache key, execution context, result objects) costs more than SQLite running
them. A Prepared statement keeps what SQLAlchemy would send — its SQL for this dialect, its bind
and result type processors — and runs it inside the SQLAlchemy Connection's own transaction,
so begin/commit, pooling and the SQLite pragmas stay SQLAlchemy's. DBAPI errors come out as
SQLAlchemy's exceptions (IntegrityError, OperationalError...), parameters hidden, through the
Connection's own error handling (events, invalidation of a disconnected or read-only connection).
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Insert, Integer, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement for one dialect: `rows(connection, params)` or `run(connection, params)`."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled: Any = statement.compile(dialect=dialect)  # an SQLCompiler (binds, positiontup)
        self.sql = str(compiled)
        self._positional = bool(compiled.positional)
        self._names: Sequence[str] = (
            list(compiled.positiontup or ()) if self._positional else list(compiled.binds)
        )
        self._defaults = {k: v for k, v in compiled.params.items() if v is not None}
        self._binds: dict[str, Processor] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        columns = list(getattr(statement, "selected_columns", ()))
        self._types = [c.type.dialect_impl(dialect) for c in columns]
        self._dialect = dialect
        self._results: list[Processor] | None = None  # from the first result's type codes
        self._row: Any = namedtuple("Row", [c.key for c in columns]) if columns else None
        self._dbapi_error = dialect.loaded_dbapi.Error

    def _parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = {**self._defaults, **params} if self._defaults else params
        out: dict[str, Any] = {}
        for name in self._names:
            value = values[name]
            process = self._binds[name]
            out[name] = value if process is None or value is None else process(value)
        return [out[name] for name in self._names] if self._positional else out

    def _execute(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        if not connection.in_transaction():
            connection.begin()  # SQLAlchemy's begin: the SQLite engine's BEGIN, PG implicit
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql, self._parameters(params))
        except self._dbapi_error as exc:
            # SQLAlchemy's own path for a failed statement: the engine's handle_error hooks
            # (PostgreSQL detail dropped, read-only/disconnect invalidates the connection and
            # the pool), the cursor closed, the error wrapped with parameters hidden
            connection._handle_dbapi_exception(exc, self.sql, None, cursor, None)
        return cursor

    def _result_processors(self, description: Sequence[Sequence[Any]]) -> list[Processor]:
        """From the first result's column type codes (PG numerics need them); then cached."""
        assert self._row is not None, "rows() of a statement that selects nothing"
        codes = [column[1] for column in description]
        self._results = [
            t.result_processor(self._dialect, code)
            for t, code in zip(self._types, codes, strict=True)
        ]
        return self._results

    def run(self, connection: Connection, params: Mapping[str, Any]) -> None:
        """Execute a write in the connection's transaction (begun here if none is open)."""
        self._execute(connection, params).close()

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        """All result rows as named tuples, values converted as SQLAlchemy would."""
        cursor = self._execute(connection, params)
        try:
            raw = cursor.fetchall()
            procs = self._results or self._result_processors(cursor.description)
        finally:
            cursor.close()
        make = self._row._make
        if not any(procs):
            return [make(r) for r in raw]
        return [
            make([v if p is None or v is None else p(v) for p, v in zip(procs, r, strict=True)])
            for r in raw
        ]


def insert_into(table: Table) -> Insert:
    """An INSERT of every column but an integer primary key (the database numbers the rows)."""
    columns = [c for c in table.columns if not (c.primary_key and isinstance(c.type, Integer))]
    return insert(table).values({c.key: bindparam(c.key, type_=c.type) for c in columns})


class PreparedSet:
    """Named statements, prepared lazily per dialect (one engine, one dialect; tests use
    several), run on a Connection or in a Session's transaction. A set written in one
    dialect's own SQL (`dialect="postgresql"`: its INSERT ... ON CONFLICT) is prepared and run
    on that dialect only."""

    def __init__(
        self, statements: Mapping[str, ClauseElement], *, dialect: str | None = None
    ) -> None:
        self._statements = dict(statements)
        self.dialect = dialect
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, dict[str, Prepared]] = (
            weakref.WeakKeyDictionary()
        )
        _ALL_SETS.add(self)

    def prepare(self, connection: Connection) -> None:
        """Compile every statement for this connection's dialect now, not on first use (none
        if the set is another dialect's)."""
        if self.dialect is not None and connection.dialect.name != self.dialect:
            return
        for name in self._statements:
            self._prepared(connection, name)

    def rows(self, on: Connection | Session, name: str, params: Mapping[str, Any]) -> list[Any]:
        """The named select's rows (see Prepared.rows)."""
        connection = _connection(on)
        return self._prepared(connection, name).rows(connection, params)

    def run(self, on: Connection | Session, name: str, params: Mapping[str, Any]) -> None:
        """Execute the named write (see Prepared.run)."""
        connection = _connection(on)
        self._prepared(connection, name).run(connection, params)

    def _prepared(self, connection: Connection, name: str) -> Prepared:
        prepared = self._by_dialect.get(connection.dialect)
        if prepared is None:
            dialect = connection.dialect
            if self.dialect is not None and dialect.name != self.dialect:
                raise ValueError(f"statements for {self.dialect}, not {dialect.name}")
            prepared = {k: Prepared(s, dialect) for k, s in self._statements.items()}
            self._by_dialect[dialect] = prepared
        return prepared[name]


_ALL_SETS: weakref.WeakSet[PreparedSet] = weakref.WeakSet()


def prepare_all(connection: Connection) -> int:
    """Compile every PreparedSet's statements for this connection's dialect (a serving worker
    does it before its first request); how many sets were for it."""
    name = connection.dialect.name
    sets = [s for s in _ALL_SETS if s.dialect in (None, name)]
    for prepared_set in sets:
        prepared_set.prepare(connection)
    return len(sets)


def _connection(on: Connection | Session) -> Connection:
    return on.connection() if isinstance(on, Session) else on
