"""Temporary tables for one load: the file's rows land here, then only what changed is replaced."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    delete,
    except_,
    func,
    insert,
    select,
)

from recsvc.store.constants import CUSTOMERS_FILE
from recsvc.store.csvrows import LoadError
from recsvc.store.pgbulk import copy_rows

_SURROGATE = "id"


def content_columns(table: Table) -> list[str]:
    """The columns a file provides for a child table (everything but a surrogate id)."""
    return [c.name for c in table.columns if c.name != _SURROGATE]


class Staging:
    """The temporary tables of one load; they live and die inside the load's transaction."""

    def __init__(self, metadata: MetaData, keys: Table, changed: Table) -> None:
        self.metadata = metadata
        self.keys = keys
        self.changed = changed
        self.rows: dict[str, Table] = {}

    @classmethod
    def create(cls, conn: Connection) -> Staging:
        """Create the key tables now; row tables are created when first staged."""
        metadata = MetaData()
        temporary = ["TEMPORARY"]
        keys = Table(
            "load_keys",
            metadata,
            Column("file", String(32), primary_key=True),
            Column("key", String(64), primary_key=True),
            Column("line", Integer, nullable=False),
            prefixes=temporary,
        )
        changed = Table(
            "load_changed",
            metadata,
            Column("customer_id", String(64), primary_key=True),
            prefixes=temporary,
        )
        staging = cls(metadata, keys, changed)
        for target in ("holdings", "transactions", "pitch_history"):
            staging.rows[target] = Table(f"load_{target}", metadata, prefixes=temporary)
        metadata.create_all(conn, tables=[keys, changed])
        return staging

    def drop(self, conn: Connection) -> None:
        """Drop what was created, so a pooled connection does not keep them."""
        self.metadata.drop_all(conn)

    def loaded_customers(self) -> Select[Any]:
        """The ids of the customers in this load's customers.csv."""
        return select(self.keys.c.key).where(self.keys.c.file == CUSTOMERS_FILE)

    def add_keys(self, conn: Connection, file: str, key: str, chunk: list[tuple[int, Any]]) -> None:
        """Remember a chunk's keys; a key seen before in the same file is an error."""
        seen: dict[str, int] = {}
        for line, row in chunk:
            if row[key] in seen:
                raise LoadError(file, line, key, f"duplicate, first on line {seen[row[key]]}")
            seen[row[key]] = line
        query = select(self.keys.c.key, self.keys.c.line).where(
            self.keys.c.file == file, self.keys.c.key.in_(list(seen))
        )
        for value, first in conn.execute(query):
            raise LoadError(file, seen[value], key, f"duplicate, first on line {first}")
        rows = [{"file": file, "key": value, "line": line} for value, line in seen.items()]
        conn.execute(insert(self.keys), rows)

    def stage(
        self,
        conn: Connection,
        target: Table,
        rows: Iterable[tuple[int, Any]],
        chunk_size: int,
        *,
        copy: bool = False,
    ) -> int:
        """Copy a file's checked rows into the staging table for target; returns the count.
        With `copy` (PostgreSQL), each chunk goes in by one COPY instead of row inserts."""
        table = self._rows_table(conn, target)
        columns = [c.name for c in table.columns]
        count = 0

        def flush(batch: list[dict[str, Any]]) -> None:
            if copy:
                copy_rows(conn, table, columns, ([row[c] for c in columns] for row in batch))
            else:
                conn.execute(insert(table), batch)

        batch: list[dict[str, Any]] = []
        for line, values in rows:
            batch.append({"line": line, **values})
            if len(batch) >= chunk_size:
                flush(batch)
                count += len(batch)
                batch = []
        if batch:
            flush(batch)
            count += len(batch)
        return count

    def check(self, conn: Connection, target: Table, file: str) -> None:
        """Rows must belong to a customer in this load, and keyed rows must be unique."""
        staged = self.rows[target.name]
        stray = conn.execute(
            select(func.min(staged.c.line)).where(
                staged.c.customer_id.not_in(self.loaded_customers())
            )
        ).scalar()
        if stray is not None:
            raise LoadError(file, stray, "customer_id", f"not in {CUSTOMERS_FILE}")
        keys = [c.name for c in target.primary_key.columns]
        if _SURROGATE in keys:
            return
        groups = (
            select(func.max(staged.c.line).label("line"))
            .group_by(*(staged.c[k] for k in keys))
            .having(func.count() > 1)
            .subquery()
        )
        duplicate = conn.execute(select(func.min(groups.c.line))).scalar()
        if duplicate is not None:
            raise LoadError(file, duplicate, keys[-1], f"duplicate of ({', '.join(keys)})")

    def _rows_table(self, conn: Connection, target: Table) -> Table:
        table = self.rows[target.name]
        if not table.columns:
            table.append_column(Column("line", Integer, primary_key=True))
            for name in content_columns(target):
                table.append_column(Column(name, target.c[name].type))
        table.create(conn)
        return table


def replace_changed(conn: Connection, staging: Staging, target: Table) -> tuple[int, int]:
    """Replace the rows of customers whose rows differ from the file; (inserted, deleted)."""
    staged = staging.rows[target.name]
    columns = content_columns(target)
    old = _numbered(target, columns).where(target.c.customer_id.in_(staging.loaded_customers()))
    new = _numbered(staged, columns)
    gone = except_(old, new).subquery()
    came = except_(new, old).subquery()
    differing = select(gone.c.customer_id).union(select(came.c.customer_id))
    conn.execute(delete(staging.changed))
    conn.execute(insert(staging.changed).from_select(["customer_id"], differing))
    changed_ids = select(staging.changed.c.customer_id)
    deleted = conn.execute(delete(target).where(target.c.customer_id.in_(changed_ids))).rowcount
    fresh = select(*(staged.c[c] for c in columns)).where(staged.c.customer_id.in_(changed_ids))
    inserted = conn.execute(select(func.count()).select_from(fresh.subquery())).scalar_one()
    conn.execute(insert(target).from_select(columns, fresh.order_by(staged.c.line)))
    return inserted, deleted


def _numbered(table: Table, columns: list[str]) -> Select[Any]:
    """Rows with a number among identical rows, so that multisets compare as sets."""
    cells = [table.c[c] for c in columns]
    return select(*cells, func.row_number().over(partition_by=cells).label("copy"))
