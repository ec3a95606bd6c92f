"""Fixtures shared by every test package: settings, business config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from recsvc.config import Settings
from recsvc.customers import BankConfig, load_bank_config


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def bank(settings: Settings) -> BankConfig:
    return load_bank_config(settings.bank_config_path)


@pytest.fixture(scope="session")
def synthetic_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic bank (CSV export), built once per test process."""
    from apptesting import build_bank

    return build_bank(tmp_path_factory.mktemp("bank"))


@pytest.fixture(scope="session")
def trained_model(synthetic_bank: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory trained on the synthetic bank, built once per test process."""
    from apptesting import build_model

    return build_model(synthetic_bank, tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def loaded_store(synthetic_bank: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the synthetic bank loaded; tests copy it."""
    from apptesting import build_store

    return build_store(synthetic_bank, tmp_path_factory.mktemp("store") / "template.db")


@pytest.fixture
def env(tmp_path: Path, loaded_store: Path, trained_model: Path, synthetic_bank: Path) -> Any:
    """A private store + registry (with a champion) for one test."""
    from apptesting import service_env

    return service_env(
        tmp_path, template_db=loaded_store, model_dir=trained_model, bank=synthetic_bank
    )


@pytest.fixture(scope="module")
def module_env(
    tmp_path_factory: pytest.TempPathFactory,
    loaded_store: Path,
    trained_model: Path,
    synthetic_bank: Path,
) -> Any:
    """A private store + registry (with a champion) shared by a module's tests."""
    from apptesting import service_env

    return service_env(
        tmp_path_factory.mktemp("module"),
        template_db=loaded_store,
        model_dir=trained_model,
        bank=synthetic_bank,
    )


@pytest.fixture
def service_app(env: Any) -> Any:
    from recsvc import create_app

    return create_app({"SETTINGS": env.settings, "TESTING": True})


@pytest.fixture
def service_client(service_app: Any) -> Any:
    return service_app.test_client()


@pytest.fixture
def two_postgres(request: pytest.FixtureRequest) -> Any:
    """Engines on two new migrated PostgreSQL databases, for comparing two write paths on the
    same input (pgtesting.two_migrated_postgres); CI must run the requesting test there."""
    from pgtesting import two_migrated_postgres

    with two_migrated_postgres(f"{request.node.name}: two write paths compared") as engines:
        yield engines
