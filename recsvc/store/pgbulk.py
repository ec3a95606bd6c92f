"""PostgreSQL bulk writes: COPY into a temporary staging table, then one set-based statement.

The one place that reaches below SQLAlchemy to psycopg 3 (`Cursor.copy`, on the connection's
own DBAPI connection, so inside the caller's transaction). Everything here is PostgreSQL only;
SQLite keeps its row-by-row paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from psycopg import sql
from sqlalchemy import JSON, Column, Connection, MetaData, Table, and_, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def staging_table(
    conn: Connection, name: str, like: Table, columns: Sequence[str], *, line: bool = False
) -> Table:
    """Create a temporary table `name` with these columns of `like` (same types, no keys or
    constraints), dropped at the end of the transaction; with `line`, an integer column
    "line" first (the file's line number of each row)."""
    table = Table(name, MetaData(), prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    if line:
        table.append_column(Column("line", postgresql.INTEGER(), nullable=False))
    for column in columns:
        table.append_column(Column(column, like.c[column].type))
    table.create(conn)
    return table


def copy_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """COPY rows (tuples in `columns` order) into `table` on the connection's transaction;
    JSON columns take Python values, written as the engine writes them (orjson; None is JSON
    null, as SQLAlchemy's JSON type stores it). Returns the number of rows.

    The rows should be materialised and checked before the call: an exception raised while
    COPY runs fails the statement, and with it the caller's transaction."""
    if not is_postgres(conn):
        raise ValueError(f"COPY needs PostgreSQL, not {conn.dialect.name}")
    as_json = [isinstance(table.c[c].type, JSON) for c in columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    driver: Any = conn.connection.driver_connection
    count = 0
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            if any(as_json):
                row = [
                    orjson.dumps(v).decode() if j else v for v, j in zip(row, as_json, strict=True)
                ]
            copy.write_row(row)
            count += 1
    return count


def first_repeat(conn: Connection, staged: Table, key: str) -> tuple[int, int] | None:
    """The first staged row (by line) whose key an earlier line already has: (line, first
    line), or None when the keys are unique."""
    first = func.min(staged.c.line).over(partition_by=staged.c[key]).label("first")
    lines = select(staged.c.line, first).subquery()
    row = conn.execute(
        select(lines.c.line, lines.c.first)
        .where(lines.c.line > lines.c.first)
        .order_by(lines.c.line)
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def merge_changed(
    conn: Connection, staged: Table, table: Table, key: str, columns: Sequence[str]
) -> tuple[int, int]:
    """Upsert the staged rows (unique keys) into `table` on `key`, writing only the rows that
    are new or differ in one of `columns`; returns (inserted, updated)."""
    joined = staged.outerjoin(table, table.c[key] == staged.c[key])
    differs = tuple_(*(table.c[c] for c in columns)).is_distinct_from(
        tuple_(*(staged.c[c] for c in columns))
    )
    new = table.c[key].is_(None)
    inserted, updated = conn.execute(
        select(
            func.count().filter(new), func.count().filter(and_(table.c[key].is_not(None), differs))
        ).select_from(joined)
    ).one()
    if inserted or updated:
        rows = (
            select(*(staged.c[c] for c in columns))
            .select_from(joined)
            .where(or_(new, differs))
            .order_by(staged.c.line)
        )
        conn.execute(_upsert_from(table, (key,), columns, rows))
    return int(inserted), int(updated)


def upsert_staged(conn: Connection, staged: Table, table: Table, keys: Sequence[str]) -> None:
    """INSERT INTO table SELECT * FROM staged ON CONFLICT (keys) DO UPDATE: every staged row
    (keys unique among them; a repeated key fails the statement)."""
    columns = [c.name for c in staged.columns]
    rows = select(*(staged.c[c] for c in columns))
    conn.execute(_upsert_from(table, keys, columns, rows))


def _upsert_from(table: Table, keys: Sequence[str], columns: Sequence[str], rows: Any) -> Any:
    statement = postgresql.insert(table).from_select(list(columns), rows)
    updates = {c: statement.excluded[c] for c in columns if c not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=updates)


def copy_upsert(
    conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]]
) -> int:
    """Upsert these rows (dicts of every column of `table`; keys unique among them) on `keys`:
    COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO UPDATE, in the
    caller's transaction. Returns the number of rows written."""
    if not is_postgres(conn):
        raise ValueError(f"COPY needs PostgreSQL, not {conn.dialect.name}")
    if not rows:
        return 0
    columns = [c.name for c in table.columns]
    staged = staging_table(conn, f"bulk_{table.name}", table, columns)
    written = copy_rows(conn, staged, columns, ([row[c] for c in columns] for row in rows))
    upsert_staged(conn, staged, table, keys)
    staged.drop(conn)
    return written
