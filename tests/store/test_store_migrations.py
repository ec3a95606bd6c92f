"""Migrations build exactly the ORM's tables; engines carry the settings recsvc relies on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pgtesting import postgres_database
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from recsvc.config import PROJECT_ROOT
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


# A host's start-up, in a process of its own (alembic keeps its context in module globals, so
# threads of one process cannot stand in for hosts): import, say ready, wait for "go", upgrade.
HOST = """
import sys, time
from pathlib import Path
from recsvc.store import make_engine, upgrade
engine = make_engine(sys.argv[1])
Path(sys.argv[2]).touch()
while not Path(sys.argv[3]).exists():
    time.sleep(0.005)
upgrade(engine)
"""


@pytest.mark.postgres
def test_hosts_starting_at_once_migrate_a_new_postgres_store_once(tmp_path: Path) -> None:
    """Every service instance (each gunicorn master, score-book) runs upgrade() at start; hosts
    started together on a new store must not race: one migrates, the others wait and find the
    schema at head (without a lock, the others fail on tables the first is creating)."""
    hosts = 3
    go = tmp_path / "go"
    with postgres_database("concurrent migrations") as url:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), *sys.path])}
        command = [sys.executable, "-c", HOST, url]
        processes = [
            subprocess.Popen(
                [*command, str(tmp_path / f"ready-{i}"), str(go)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for i in range(hosts)
        ]
        try:
            deadline = time.monotonic() + 60
            while not all((tmp_path / f"ready-{i}").exists() for i in range(hosts)):
                assert time.monotonic() < deadline, "a host did not start"
                assert all(p.poll() is None for p in processes), [
                    p.communicate() for p in processes
                ]
                time.sleep(0.01)
            go.touch()
            outputs = [p.communicate(timeout=60)[0] for p in processes]
        finally:
            for process in processes:
                process.kill()
                process.wait()
        failed = [out for p, out in zip(processes, outputs, strict=True) if p.returncode != 0]
        assert not failed, failed[0][-2000:]
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(context, Base.metadata) == []
        finally:
            engine.dispose()
