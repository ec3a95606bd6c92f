"""The synthetic world's fixed facts (products, suitability, staffing), read from world.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from recsvc.config import Settings
from recsvc.customers import BankConfig, load_bank_config

WORLD_PATH = Path(__file__).resolve().parent / "world.yaml"


class WorldConfigError(ValueError):
    """world.yaml is malformed; the message names the entry."""


@dataclass(frozen=True)
class World:
    """Per-product facts as aligned arrays (index = position in product_ids), plus the rest."""

    product_ids: tuple[str, ...]
    category: tuple[str, ...]
    risk: np.ndarray  # int, 0 = none
    min_age: np.ndarray
    max_age: np.ndarray  # 0 = none
    min_aum: np.ndarray
    min_income: np.ndarray
    repeatable: np.ndarray  # bool
    term_months: np.ndarray  # 0 = none
    tiers: dict[str, tuple[str, ...]]
    requires: dict[str, tuple[str, ...]]
    suitability: dict[str, int]
    branches: dict[str, int]
    managers: dict[str, Any]
    population: dict[str, Any]
    bank: BankConfig

    def index(self, product_id: str) -> int:
        """Column of a product in the per-product matrices."""
        return self.product_ids.index(product_id)


def load_world(path: Path = WORLD_PATH, bank: BankConfig | None = None) -> World:
    """Read world.yaml and the bank's tiers; tiers come from bank.yaml, never from here."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        rows = raw["products"]
        ids = tuple(rows)
        cols = list(zip(*(rows[p] for p in ids), strict=True))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise WorldConfigError(f"{path}: cannot read products: {exc}") from exc
    if bank is None:
        bank = load_bank_config(Settings().bank_config_path)
    return World(
        product_ids=ids,
        category=tuple(str(c) for c in cols[1]),
        risk=np.array(cols[2], dtype=np.int64),
        min_age=np.array(cols[3], dtype=np.int64),
        max_age=np.array(cols[4], dtype=np.int64),
        min_aum=np.array(cols[5], dtype=np.float64),
        min_income=np.array(cols[6], dtype=np.float64),
        repeatable=np.array(cols[7], dtype=bool),
        term_months=np.array(cols[8], dtype=np.int64),
        tiers={k: tuple(v) for k, v in raw.get("product_tiers", {}).items()},
        requires={k: tuple(v) for k, v in raw.get("product_requires", {}).items()},
        suitability=dict(raw["suitability"]),
        branches=dict(raw["branches"]),
        managers=dict(raw["managers"]),
        population=dict(raw["population"]),
        bank=bank,
    )
