"""A write refused because the connection is read-only, or a connection the server closed,
invalidates it, on SQLAlchemy's path and on the request path's prepared statements alike, and
the cause is logged without data; the next connection is fresh. /readyz's store check takes a
write (rolled back), so a read-only store is reported not ready."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from recsvc.api.health import WRITE_PROBE, store_check
from recsvc.store.engine import normalise_url
from recsvc.store.prepared import PreparedSet

WRITES = PreparedSet({"probe": WRITE_PROBE})
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def make_read_only(connection: Connection) -> None:
    """This connection refuses writes from now on, as one opened during a read-only episode."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = 1")  # SQLITE_READONLY on a write
    else:
        connection.exec_driver_sql("SET SESSION default_transaction_read_only = on")
    connection.commit()


def invalidations(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        dict(r.fields)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "recsvc.store" and r.getMessage() == "store connection invalidated"
    ]


@pytest.mark.parametrize("path", ["prepared", "sqlalchemy"])
def test_a_write_refused_as_read_only_invalidates_the_connection(
    engine: Engine, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with engine.connect() as connection:
        make_read_only(connection)
        with (
            caplog.at_level(logging.WARNING, logger="recsvc.store"),
            pytest.raises(DBAPIError) as caught,
        ):
            if path == "prepared":
                WRITES.run(connection, "probe", {})
            else:
                connection.execute(WRITE_PROBE)
        assert caught.value.connection_invalidated
        assert connection.invalidated
    logged = invalidations(caplog)
    assert len(logged) == 1 and logged[0]["reason"] == "read-only"
    assert logged[0]["error_type"] in ("OperationalError", "ReadOnlySqlTransaction")
    with engine.connect() as connection:  # a fresh connection: writable again
        WRITES.run(connection, "probe", {})
        connection.rollback()


def test_a_constraint_error_keeps_the_connection(engine: Engine) -> None:
    """Only unusable connections are dropped: a bad statement is the caller's error."""
    bad = PreparedSet({"bad": text("INSERT INTO alembic_version (version_num) VALUES (NULL)")})
    with engine.connect() as connection:
        with pytest.raises(DBAPIError) as caught:
            bad.run(connection, "bad", {})
        assert not caught.value.connection_invalidated
        assert not connection.invalidated


@POSTGRES_ONLY
def test_a_postgres_disconnect_on_the_prepared_path_invalidates_the_connection(
    engine: Engine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        connection.commit()
        with admin(database_url) as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with (
            caplog.at_level(logging.WARNING, logger="recsvc.store"),
            pytest.raises(DBAPIError) as caught,
        ):
            WRITES.run(connection, "probe", {})
        assert caught.value.connection_invalidated
        assert connection.invalidated
    reasons = [e["reason"] for e in invalidations(caplog)]
    assert reasons in (["shut down"], ["disconnect"])  # 57P01 if it arrived, else a lost socket
    with engine.connect() as connection:
        WRITES.run(connection, "probe", {})
        connection.rollback()


@POSTGRES_ONLY
def test_readiness_reports_a_read_only_store_and_its_recovery(
    engine: Engine, database_url: str
) -> None:
    check = store_check(engine)
    assert check() == ("store", True, "writable")
    name = make_url(database_url).database
    with admin(database_url) as other:
        other.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        terminate_sessions(other, str(name))
    try:
        assert check()[:2] == ("store", False)  # a SELECT 1 would have said ready
        assert "read-only" in check()[2]
    finally:
        with admin(database_url) as other:
            other.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
    # The refused write dropped the read-only connections: ready again, no restart.
    assert check() == ("store", True, "writable")


class admin:
    """An autocommit connection to the server's maintenance database."""

    def __init__(self, database_url: str) -> None:
        url = make_url(normalise_url(database_url)).set(database="postgres")
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")

    def __enter__(self) -> Connection:
        self.connection = self.engine.connect()
        return self.connection

    def __exit__(self, *_: object) -> None:
        self.connection.close()
        self.engine.dispose()


def terminate_sessions(connection: Connection, database: str) -> None:
    connection.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"
        ),
        {"name": database},
    )
