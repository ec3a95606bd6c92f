"""Migrations build exactly the ORM's tables; engines carry the settings recsvc relies on."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from recsvc.store import Base, make_engine, upgrade
from recsvc.store.engine import alembic_config, normalise_url
from recsvc.store.tables import CustomerRow


def test_migrations_produce_exactly_the_orm_metadata(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() is not None


def test_all_tables_exist_and_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    names = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= names
    assert {
        "customers",
        "holdings",
        "transactions",
        "client_managers",
        "pitch_history",
        "feedback",
        "audit_log",
        "api_keys",
    } <= names


def test_indexes_exist_where_queries_need_them(engine: Engine) -> None:
    inspector = inspect(engine)
    indexed = {
        table: [tuple(i["column_names"]) for i in inspector.get_indexes(table)]
        for table in ("customers", "feedback", "pitch_history")
    }
    assert ("manager_id",) in indexed["customers"]
    assert ("customer_id", "recorded_at") in indexed["feedback"]
    assert ("customer_id", "date") in indexed["pitch_history"]


def test_sqlite_engine_uses_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "recsvc.db"
    engine = make_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() > 0
        assert target.parent.is_dir()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///var/x.db", "sqlite:///var/x.db"),
    ],
)
def test_normalise_url_pins_postgres_to_psycopg(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_make_engine_rejects_other_backends() -> None:
    with pytest.raises(ValueError, match="database_url"):
        make_engine("mysql://u@h/db")


def test_database_errors_do_not_echo_personal_data(engine: Engine) -> None:
    statement = CustomerRow.__table__.insert().values(customer_id="C1", name="张伟")
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(statement)  # birth_date etc. missing: NOT NULL fails
    assert "张伟" not in str(caught.value)
    assert "张伟" not in str(caught.value.orig)  # what a logged traceback would show too


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
