"""Building a running service for tests: a synthetic bank in a store, a published model, keys.

Import as `from apptesting import ...`; the session fixtures in tests/conftest.py build the
expensive parts once per test process.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from recsvc.config import Settings
from recsvc.customers import Customer, CustomerSchema
from recsvc.models.registry import Registry
from recsvc.security import create_key
from recsvc.store import load_customers, make_engine, upgrade
from recsvc.store.customer_repo import customer_to_row
from recsvc.store.tables import CustomerRow, HoldingRow, TransactionRow
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

    def store_customer(self, payload: dict[str, Any]) -> Customer:
        """Put a wire-form profile into the store as the bank's record of that customer
        (replacing any record of the same id, with its holdings and transactions)."""
        customer: Customer = CustomerSchema().load(payload)
        engine = make_engine(self.settings.database_url)
        try:
            with engine.begin() as connection:
                key = customer.customer_id
                for table in (HoldingRow, TransactionRow, CustomerRow):
                    connection.execute(delete(table).where(table.customer_id == key))
                connection.execute(insert(CustomerRow), [customer_to_row(customer)])
                if customer.holdings:
                    rows = [{"customer_id": key, **vars(h)} for h in customer.holdings]
                    connection.execute(insert(HoldingRow), rows)
                if customer.recent_transactions:
                    rows = [{"customer_id": key, **vars(t)} for t in customer.recent_transactions]
                    connection.execute(insert(TransactionRow), rows)
        finally:
            engine.dispose()
        return customer


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
