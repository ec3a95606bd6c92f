"""recsvc.store.pgbulk, the one module that uses psycopg's COPY: values come back as SQLAlchemy's
own inserts store them, and the helpers find repeats and upsert on keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from pgtesting import postgres_database
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from recsvc.store import make_engine
from recsvc.store.pgbulk import copy_rows, copy_upsert, first_repeat, staging_table

pytestmark = pytest.mark.postgres

PAYLOAD = JSON().with_variant(JSONB(), "postgresql")
COLUMNS = ("k", "n", "x", "flag", "day", "at", "text", "doc")
VALUES: list[tuple[Any, ...]] = [
    ("a", 1, 0.1 + 0.2, True, dt.date(2026, 2, 28), dt.datetime(2026, 1, 1, 1, 2, 3, 4, dt.UTC),
     'tab\there "q" back\\slash\nnew 张伟', {"zh": "理财\t\n", "n": [1, None, 2.5]}),
    ("b", None, None, None, None, None, None, None),
    ("c", -2, 1e-300, False, dt.date(1, 1, 1), dt.datetime(1999, 12, 31, tzinfo=dt.UTC),
     "", []),
]  # fmt: skip


@pytest.fixture
def pg() -> Iterator[Engine]:
    with postgres_database("recsvc.store.pgbulk") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _table(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        Column("k", String(8), primary_key=True),
        Column("n", Integer),
        Column("x", Float),
        Column("flag", Boolean),
        Column("day", Date),
        Column("at", DateTime(timezone=True)),
        Column("text", String(64)),
        Column("doc", PAYLOAD),
    )


def test_copy_stores_what_an_insert_stores(pg: Engine) -> None:
    by_insert, by_copy = _table("by_insert"), _table("by_copy")
    with pg.begin() as conn:
        by_insert.create(conn)
        by_copy.create(conn)
        conn.execute(insert(by_insert), [dict(zip(COLUMNS, v, strict=True)) for v in VALUES])
        assert copy_rows(conn, by_copy, COLUMNS, VALUES) == 3
        inserted = conn.execute(select(by_insert).order_by(by_insert.c.k)).all()
        copied = conn.execute(select(by_copy).order_by(by_copy.c.k)).all()
    assert copied == inserted
    assert copied[0][2] == 0.1 + 0.2  # the exact double, not a rounded text form


def test_first_repeat_and_copy_upsert(pg: Engine) -> None:
    target = _table("target")
    with pg.begin() as conn:
        target.create(conn)
        staged = staging_table(conn, "staged", target, ["k", "n"], line=True)
        copy_rows(conn, staged, ["line", "k", "n"], [(2, "a", 1), (3, "b", 1), (4, "c", 1)])
        assert first_repeat(conn, staged, "k") is None
        copy_rows(conn, staged, ["line", "k", "n"], [(5, "b", 2), (6, "a", 3)])
        assert first_repeat(conn, staged, "k") == (5, 3)
        rows = [dict(zip(COLUMNS, v, strict=True)) for v in VALUES]
        assert copy_upsert(conn, target, ("k",), rows) == 3
        rows[0]["n"] = 99
        assert copy_upsert(conn, target, ("k",), rows[:1]) == 1
        stored = conn.execute(select(target.c.k, target.c.n).order_by(target.c.k)).all()
    assert [tuple(r) for r in stored] == [("a", 99), ("b", None), ("c", -2)]


def test_copy_needs_postgres(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    table = _table("t")
    with engine.begin() as conn:
        table.create(conn)
        with pytest.raises(ValueError, match="PostgreSQL"):
            copy_rows(conn, table, COLUMNS, VALUES)
        with pytest.raises(ValueError, match="PostgreSQL"):
            copy_upsert(conn, table, ("k",), [])
    engine.dispose()
