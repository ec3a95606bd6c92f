"""Building a running service for tests: a synthetic bank in a store, a published model, keys.

Import as `from apptesting import ...`; the session fixtures in tests/conftest.py build the
expensive parts once per test process.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from recsvc.config import Settings
from recsvc.models.registry import Registry
from recsvc.security import create_key
from recsvc.store import load_customers, make_engine, upgrade
from training.datasets import load_spec
from training.pipeline import train
from training.synth.generate import generate_bank

BANK_CUSTOMERS = 2000
BANK_SEED = 11


def build_bank(directory: Path) -> Path:
    generate_bank(directory, customers=BANK_CUSTOMERS, seed=BANK_SEED)
    return directory


def build_model(bank: Path, directory: Path) -> Path:
    return train(load_spec("synthetic"), bank, directory, seed=0, progress=False, num_threads=1)


def build_store(bank: Path, db_file: Path) -> Path:
    engine = make_engine(f"sqlite:///{db_file}")
    upgrade(engine)
    load_customers(engine, bank)
    engine.dispose()
    return db_file


@dataclass
class ServiceEnv:
    """A private store and registry for one test, and keys to call the service with."""

    settings: Settings
    registry: Registry
    model_dir: Path
    bank: Path

    def key(self, role: str, *, staff_id: str = "S001", **scope: Any) -> str:
        engine = make_engine(self.settings.database_url)
        with Session(engine) as session:
            key = create_key(session, role=role, staff_id=staff_id, **scope)
            session.commit()
        engine.dispose()
        return key

    def headers(self, role: str, **scope: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(role, **scope)}"}


def service_env(
    tmp: Path, *, template_db: Path, model_dir: Path, bank: Path, publish: bool = True
) -> ServiceEnv:
    """Copy the loaded store, publish the model into a fresh registry (champion)."""
    db = tmp / "recsvc.db"
    shutil.copyfile(template_db, db)
    registry = Registry(tmp / "registry")
    if publish:
        registry.publish(model_dir, note="test champion")
    else:
        registry.root.mkdir(parents=True)  # an empty registry (a missing one is an error)
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{db}",
        registry_dir=tmp / "registry",
        rate_limit="100000 per minute",
    )
    return ServiceEnv(settings=settings, registry=registry, model_dir=model_dir, bank=bank)
