"""Export fixtures: a small synthetic bank loaded into a fresh store (SQLite, and PostgreSQL when
configured), with the service's own decisions planted through the store's writers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgtesting import BACKENDS, empty_database
from sqlalchemy import Engine

from recsvc.store import make_engine, upgrade
from recsvc.store.loader import load_customers
from training.synth.generate import generate_bank

BANK_AS_OF = dt.date(2026, 9, 30)  # the bank's snapshots: 2026-09-30 and 2026-10-31 (loaded)


@pytest.fixture(scope="session")
def small_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("export-bank")
    generate_bank(directory, customers=400, seed=7, as_of=BANK_AS_OF)
    return directory


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(request.param, tmp_path, "the point-in-time export") as url:
        yield url


def _loaded(url: str, bank: Path) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    load_customers(engine, bank)
    return engine


@pytest.fixture
def store(database_url: str, small_bank: Path) -> Iterator[Engine]:
    """A migrated store with the small bank loaded (its last snapshot is what it holds)."""
    engine = _loaded(database_url, small_bank)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path, small_bank: Path) -> Iterator[Engine]:
    """The same on SQLite only, for tests whose subject does not depend on the database."""
    engine = _loaded(f"sqlite:///{tmp_path / 'db' / 'recsvc.db'}", small_bank)
    yield engine
    engine.dispose()
