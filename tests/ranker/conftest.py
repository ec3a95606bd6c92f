"""Small synthetic training data for ranker tests (seeded, no shared data)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest


@dataclass(frozen=True)
class Toy:
    features: pd.DataFrame
    held: np.ndarray
    labels: np.ndarray
    products: list[str]


@pytest.fixture(scope="session")
def toy() -> Toy:
    rng = np.random.default_rng(0)
    n = 3000
    age = rng.integers(18, 80, n).astype(np.float32)
    income = rng.lognormal(10, 1, n).astype(np.float32)
    income[rng.random(n) < 0.1] = np.nan
    segment = rng.choice(["mass", "affluent", "private"], n).astype(object)
    segment[rng.random(n) < 0.05] = None
    held = (rng.random((n, 3)) < [0.5, 0.2, 0.1]).astype(np.uint8)
    logits = np.stack(
        [
            -3 + 0.03 * (age - 40),
            -3 + (segment == "affluent") * 1.5,
            -3 + 0.5 * np.nan_to_num(np.log(income) - 10),
        ],
        axis=1,
    )
    labels = ((rng.random((n, 3)) < 1 / (1 + np.exp(-logits))) & (held == 0)).astype(np.uint8)
    features = pd.DataFrame(
        {
            "age": age,
            "income": income,
            "segment": pd.Series(segment, dtype="str").where(pd.notna(segment)).astype("category"),
            "held_card": held[:, 0].astype(np.float32),
            "held_fund": held[:, 1].astype(np.float32),
            "held_gold": held[:, 2].astype(np.float32),
        }
    )
    return Toy(features=features, held=held, labels=labels, products=["card", "fund", "gold"])
