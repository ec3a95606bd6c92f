"""A model with the decision-history features (issue 13): trained on a simulator's export,
served by the simulator's service, with the same numbers from the store as from the export."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from recsvc.catalog import load_catalogue
from recsvc.config import Settings
from recsvc.features.history import HistoryFeaturizer, history_names_in
from recsvc.models.registry import Registry
from recsvc.store import make_engine
from recsvc.store.history_read import pitch_records
from recsvc.store.tables import PitchLogRow
from training.cli import main
from training.datasets import load_spec
from training.pipeline import train
from training.report import _history_features
from training.synth.reader import read_bank
from training.synthetic import featurizer_for


@pytest.fixture(scope="module")
def history() -> HistoryFeaturizer:
    return HistoryFeaturizer.for_catalogue(load_catalogue(Settings().catalogue_path).products)


def _registry(model: Path, path: Path) -> Path:
    Registry(path).publish(model, note="test champion")
    return path


def _simulate(bank: Path, out: Path, registry: Path, *, days: int, seed: int) -> Path:
    code = main(["simulate", "--bank", str(bank), "--days", str(days), "--seed", str(seed),
                 "--out", str(out), "--registry", str(registry), "--quiet"])  # fmt: skip
    assert code == 0
    return out


@pytest.fixture(scope="module")
def first_run(synthetic_bank: Path, trained_model: Path, tmp_path_factory: Any) -> Path:
    """The plain model's run: an export whose pitches.csv holds the bank's and the run's."""
    registry = _registry(trained_model, tmp_path_factory.mktemp("registry"))
    return _simulate(synthetic_bank, tmp_path_factory.mktemp("sim1"), registry, days=3, seed=5)


@pytest.fixture(scope="module")
def history_model(first_run: Path, tmp_path_factory: Any) -> Path:
    spec = load_spec("synthetic_history")
    out = tmp_path_factory.mktemp("history-model")
    return train(spec, first_run / "bank", out, seed=0, progress=False, num_threads=1)


@pytest.fixture(scope="module")
def second_run(first_run: Path, history_model: Path, tmp_path_factory: Any) -> Path:
    """The with-history model served by the simulator's service on the first run's export."""
    base = tmp_path_factory.mktemp("run2")
    registry = _registry(history_model, base / "registry2")
    return _simulate(first_run / "bank", base / "sim2", registry, days=2, seed=6)


def _descriptor(model: Path) -> dict[str, Any]:
    found = json.loads((model / "model.json").read_text(encoding="utf-8"))
    assert isinstance(found, dict)
    return found


def test_history_is_appended_to_the_schema_and_listed_on_the_card(
    history_model: Path, trained_model: Path, history: HistoryFeaturizer
) -> None:
    base = featurizer_for().feature_schema()
    plain = _descriptor(trained_model)["feature_schema"]
    assert plain["names"] == base["names"] and plain["fingerprint"] == base["fingerprint"]
    schema = _descriptor(history_model)["feature_schema"]
    assert schema["names"] == [*base["names"], *history.names]
    assert schema["fingerprint"] == history.schema_after(base["names"])["fingerprint"]
    card = _history_features(_descriptor(history_model))
    assert card.startswith(f"{len(history.names)}: ") and "declined_90d_wealth" in card
    assert _history_features(_descriptor(trained_model)) == "none"
    assert history_names_in(base["names"]) == []


def test_the_simulators_service_serves_the_history_model(
    second_run: Path, history_model: Path
) -> None:
    decisions = pd.read_csv(second_run / "decisions.csv", dtype=str, keep_default_na=False)
    said = decisions[decisions["product_id"] != ""]
    assert len(said) > 50
    champion = Registry(second_run.parent / "registry2").alias_state().champion
    assert champion is not None
    assert set(said["model_version"]) == {champion}  # loaded, not refused for its schema
    assert (said["outcome"] == "accepted").any()


def test_the_store_gives_the_exports_history(second_run: Path, history: HistoryFeaturizer) -> None:
    """Request path (pitch_history + pitch_log + feedback in the run's store) == frames path
    (the run's pitches.csv) for every customer, the day after the run."""
    frames = read_bank(second_run / "bank")
    as_of = frames.snapshot_dates[1] + dt.timedelta(days=1)
    ids = frames.customers["customer_id"].to_numpy(dtype=str)
    batch = history.transform_frames(ids, frames.pitches, as_of)
    engine = make_engine(f"sqlite:///{second_run / 'service.db'}")
    try:
        with engine.connect() as connection:
            served = connection.execute(select(func.count()).select_from(PitchLogRow)).scalar()
            one = np.vstack(
                [history.transform_one(pitch_records(connection, c, as_of), as_of) for c in ids]
            )
    finally:
        engine.dispose()
    assert served and served > 50  # the service's own pitches are part of it
    same = (batch == one) | (np.isnan(batch) & np.isnan(one))
    wrong = sorted({history.names[j] for j in np.argwhere(~same)[:, 1]})
    assert wrong == []
    recent = history.names.index("pitched_30d_wealth")
    assert batch[:, recent].sum() > 0


@pytest.fixture
def history_env(tmp_path: Path, loaded_store: Path, history_model: Path, synthetic_bank: Path
                ) -> Any:  # fmt: skip
    from apptesting import service_env

    (tmp_path / "history").mkdir()
    return service_env(
        tmp_path / "history", template_db=loaded_store, model_dir=history_model, bank=synthetic_bank
    )


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import recsvc.service.recommend as recommend

    calls: list[str] = []
    real = recommend.pitch_records

    def counted(connection: Any, customer_id: str, as_of: dt.date) -> Any:
        calls.append(customer_id)
        return real(connection, customer_id, as_of)

    monkeypatch.setattr(recommend, "pitch_records", counted)
    return calls


def _pitch(env: Any, customer_id: str) -> dict[str, Any]:
    from recsvc import create_app

    client = create_app({"SETTINGS": env.settings, "TESTING": True}).test_client()
    reply = client.post("/v1/pitch", json={"customer_id": customer_id},
                        headers=env.headers("teller"))  # fmt: skip
    assert reply.status_code == 200, reply.get_data(as_text=True)
    found: dict[str, Any] = reply.get_json()
    return found


def test_only_a_model_with_history_reads_it_from_the_store(
    env: Any, history_env: Any, synthetic_bank: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = str(read_bank(synthetic_bank).customers["customer_id"].iloc[0])
    calls = _count_reads(monkeypatch)
    plain = _pitch(env, customer_id)
    assert plain["model_version"] == env.registry.alias_state().champion and calls == []
    answer = _pitch(history_env, customer_id)
    assert answer["model_version"] == history_env.registry.alias_state().champion
    assert calls == [customer_id]


def test_the_nightly_plan_scores_as_the_request_path(history_env: Any, synthetic_bank: Path
                                                     ) -> None:  # fmt: skip
    from recsvc.service.contact_plan import build_planner
    from recsvc.service.recommend import CrossSellService
    from recsvc.store import get_customer

    planner = build_planner(history_env.settings)
    service = CrossSellService(planner.services)
    loaded = planner.runtime.current()
    assert loaded is not None and loaded.history
    as_of = dt.date(2026, 12, 1)
    from recsvc.service.contact_plan import _Features
    from recsvc.store.contact_plan import iter_contactable_chunks

    chunk = next(iter(iter_contactable_chunks(planner.engine, 40)))
    positions = list(range(len(chunk)))
    batch = planner._score(loaded, _Features(planner.featurizer, chunk, as_of), positions, as_of)
    with planner.engine.connect() as connection:
        from sqlalchemy.orm import Session

        with Session(bind=connection) as session:
            customers = [get_customer(session, chunk.ids[i]) for i in positions]
        one = [
            service._score(
                c, as_of, loaded, service.history_row(connection, c.customer_id, as_of, loaded)
            ).x
            for c in customers
            if c is not None
        ]
    assert len(one) == len(positions) > 0
    x = np.vstack(one)
    assert x.shape[1] == loaded.n_features
    expected = planner.runtime.score(loaded, x)
    assert np.array_equal(batch, expected)
    planner.engine.dispose()
