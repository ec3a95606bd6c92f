"""SQLite's durability is chosen in DATABASE_URL: `?synchronous=full` survives a power cut."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from recsvc.store import make_engine, upgrade


def synchronous_of(url: str) -> int:
    engine = make_engine(url)
    try:
        upgrade(engine)  # alembic's connections get the pragma as well
        with engine.connect() as connection:
            return int(connection.execute(text("PRAGMA synchronous")).scalar_one())
    finally:
        engine.dispose()


def test_normal_by_default_full_on_request(tmp_path: Path) -> None:
    # SQLite's codes: 1 NORMAL, 2 FULL, 3 EXTRA
    assert synchronous_of(f"sqlite:///{tmp_path / 'a.db'}") == 1
    assert synchronous_of(f"sqlite:///{tmp_path / 'b.db'}?synchronous=full") == 2
    assert synchronous_of(f"sqlite:///{tmp_path / 'c.db'}?synchronous=EXTRA") == 3


@pytest.mark.parametrize("value", ["off", "0", "fast"])
def test_an_unsafe_or_unknown_value_is_refused_at_start(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="synchronous must be one of"):
        make_engine(f"sqlite:///{tmp_path / 'a.db'}?synchronous={value}")
