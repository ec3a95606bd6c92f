"""python -m recsvc score-book: plans the week, prints a summary; a bad week is exit 2."""

from __future__ import annotations

import json

import pytest
from contact_plan_support import WEEK, book_customer, days, store_book

from recsvc.cli import main
from recsvc.config import Settings
from recsvc.store import make_engine


@pytest.fixture
def cli_env(store_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", store_settings.database_url)
    monkeypatch.setenv("RECSVC_REGISTRY_DIR", str(store_settings.registry_dir))
    return store_settings


def test_score_book_writes_the_week_and_prints_a_summary(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(cli_env.database_url)
    maturing = [{"product_id": "time_deposit", "maturity_date": days(10)}]
    store_book(engine, [book_customer("CA", "M2", holdings=maturing), book_customer("CB", "M2")],
               {"M2": (1, 10)})  # fmt: skip
    engine.dispose()
    assert main(["score-book", "--week", WEEK]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["week"] == WEEK and summary["customers"] == 2
    assert summary["entries"] == 1 and summary["managers"] == 1


def test_a_malformed_week_is_an_operator_error(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score-book", "--week", "2026-48"]) == 2
    assert "ISO week" in capsys.readouterr().err


def test_score_book_on_a_local_cluster_writes_the_same_plan(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dask local:1 on SQLite (one host: the file's lock takes the writes in turn)."""
    engine = make_engine(cli_env.database_url)
    maturing = [{"product_id": "time_deposit", "maturity_date": days(10)}]
    book = [book_customer(f"C{i}", f"M{i % 3}", holdings=maturing) for i in range(9)]
    store_book(engine, [*book, book_customer("CN", "M0")], {"M0": (1, 2), "M1": (1, 10)})
    engine.dispose()
    assert main(["score-book", "--week", WEEK]) == 0
    single = json.loads(capsys.readouterr().out)
    assert main(["score-book", "--week", WEEK, "--dask", "local:1", "--partitions", "2"]) == 0
    dask = json.loads(capsys.readouterr().out)
    assert (dask["dask"], dask["partitions"]) == ("local:1", 2)
    keys = ("customers", "candidates", "entries", "managers")
    assert {k: dask[k] for k in keys} == {k: single[k] for k in keys} == {
        "customers": 10, "candidates": 10, "entries": 8, "managers": 3,
    }  # fmt: skip


def test_a_bad_dask_address_is_an_operator_error(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score-book", "--week", WEEK, "--dask", "localhost:8786"]) == 2
    assert "--dask" in capsys.readouterr().err
