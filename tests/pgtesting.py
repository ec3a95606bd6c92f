"""A private PostgreSQL database for one test, on the server RECSVC_TEST_POSTGRES_URL names.

Import as `from pgtesting import ...`. Without that variable the test is skipped, except on CI,
where it fails: CI must test on PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from recsvc.store.engine import normalise_url

POSTGRES_ENV = "RECSVC_TEST_POSTGRES_URL"
# a fixture's params: each test once on SQLite and once on PostgreSQL
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def postgres_database(what: str, prefix: str = "recsvc_test") -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards; `what` is what CI must test there."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set: CI must test {what} on PostgreSQL")
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(normalise_url(base)).set(database=name).render_as_string(False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def empty_database(backend: str, tmp_path: Path, what: str) -> Iterator[str]:
    """The URL of an empty database that no other test sees: a SQLite file under tmp_path, or
    (backend "postgresql") a private PostgreSQL database where CI must test `what`."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'recsvc.db'}"
        return
    with postgres_database(what) as url:
        yield url


@contextmanager
def two_migrated_postgres(what: str) -> Iterator[tuple[Engine, Engine]]:
    """Engines on two new PostgreSQL databases at the current schema, for comparing two
    write paths on the same input; both dropped afterwards."""
    from recsvc.store import make_engine, upgrade

    with postgres_database(what) as one, postgres_database(what) as two:
        engines = make_engine(one), make_engine(two)
        try:
            for engine in engines:
                upgrade(engine)
            yield engines
        finally:
            for engine in engines:
                engine.dispose()
