"""Engines for SQLite (default) and PostgreSQL, and schema upgrades via Alembic."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from recsvc.store.errors import drop_postgres_detail, invalidate_unusable

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


def normalise_url(database_url: str) -> str:
    """Accept postgresql:// and postgres:// and pin them to the psycopg 3 driver."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def make_engine(database_url: str, *, echo: bool = False) -> Engine:
    """An engine configured for how recsvc uses the database (one place for pragmas).

    Bound parameters are hidden from logs and error messages: they carry personal data.
    """
    url = make_url(normalise_url(database_url))
    json_io = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if url.get_backend_name() == "sqlite":
        synchronous = sqlite_synchronous(database_url)
        url = url.difference_update_query(["synchronous"])
        return _sqlite_engine(
            url.render_as_string(hide_password=False), url.database, echo, json_io, synchronous
        )
    if url.get_backend_name() == "postgresql":
        engine = create_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True, **json_io)
        event.listen(engine, "handle_error", drop_postgres_detail)
        event.listen(engine, "handle_error", invalidate_unusable)
        return engine
    raise ValueError(f"database_url: unsupported backend {url.get_backend_name()!r}")


def sqlite_synchronous(database_url: str) -> str:
    """SQLite's `synchronous` from the URL (`sqlite:///recsvc.db?synchronous=full`), NORMAL if
    absent. In WAL mode NORMAL keeps every commit through a killed process, not through a power
    cut (the last commits, audit rows included, can be lost); FULL fsyncs the WAL at every
    commit and keeps them through a power cut too. bench/bench_durability.py measures both."""
    value = str(make_url(database_url).query.get("synchronous", "normal")).upper()
    if value not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"database_url: synchronous must be one of {SQLITE_SYNCHRONOUS}")
    return value


def _json_text(value: Any) -> str:
    """JSON columns (audit payloads, plans) written by orjson: the same documents, faster."""
    return orjson.dumps(value).decode()


def _sqlite_engine(
    url: str, database: str | None, echo: bool, json_io: dict[str, Any], synchronous: str
) -> Engine:
    in_memory = database in (None, "", ":memory:") or (database or "").startswith("file::memory:")
    if not in_memory:
        Path(str(database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, hide_parameters=True, **json_io)
    event.listen(engine, "handle_error", invalidate_unusable)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (real SAVEPOINTs,
        # transactional DDL, one transaction per load).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
        # WAL + NORMAL (default): a commit survives a killed process (what "acknowledged" must
        # mean here); only a power cut can lose the last commits; ?synchronous=full keeps them
        # through that too. The durable production store is PostgreSQL (README, Production).
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # straight to the DBAPI connection (cheaper than exec_driver_sql: see bench/README.md);
        # an error still comes out as SQLAlchemy's, as the request path expects
        try:
            conn.connection.dbapi_connection.execute("BEGIN")
        except sqlite3.Error as exc:
            raise DBAPIError.instance("BEGIN", None, exc, sqlite3.Error) from exc

    return engine


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


# Any fixed 64-bit key: the transaction-level advisory lock every upgrade takes on PostgreSQL.
MIGRATION_LOCK_KEY = 0x72656373766331  # "recsvc1"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the given revision (head by default) in one transaction.

    On PostgreSQL the transaction first takes an advisory lock: hosts started together (each
    gunicorn master, score-book, migrates at start) run their upgrades one after another, and
    the later ones find the schema at head. Without it they raced on the tables the first was
    creating and failed to start."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK_KEY})  # fmt: skip
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
