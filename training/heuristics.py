"""Rules-only baseline from domain.md: what a branch would pitch without a model.

Scores are hand-set points per rule of thumb, so a ranking falls out; they are not
probabilities. Columns follow `products`; features are CustomerFeaturizer's columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# (product, points) each rule of thumb awards; the column it reads decides who gets them
YOUNG_SALARIED = {"credit_card": 3.0, "salary_wealth": 2.5, "fund_plan": 2.0, "gold_plan": 1.5}
LONG_TERM_NEED = {"insurance_regular": 2.0}
LARGE_DEPOSIT = {"time_deposit": 2.0, "large_cd": 2.5, "wealth_r2": 2.0, "wealth_r3": 1.5}
ELDERLY = {"time_deposit": 2.5, "gov_bond": 2.0}
COUNTER_SMALL_CASH = {"mobile_banking": 3.0, "online_banking": 1.0}
CARD_HOLDER = {"auto_repay": 2.5, "sms_alert": 1.0}
LARGE_DEPOSIT_LOG = float(np.log1p(50_000))


def domain_rules_scores(features: pd.DataFrame, products: Sequence[str]) -> np.ndarray:
    """N x P scores from domain.md's cross-sell examples; already-held products score 0."""
    column = {p: i for i, p in enumerate(products)}
    scores = np.zeros((len(features), len(products)))
    age = features["age"].to_numpy()
    rules = [
        ((age < 30) & (features["salary_via_bank"].to_numpy() > 0), YOUNG_SALARIED),
        ((age >= 30) & (age < 50) & (features["income_stability"].to_numpy() == 0), LONG_TERM_NEED),
        (
            (features["max_cash_deposit_log"].to_numpy() >= LARGE_DEPOSIT_LOG)
            | (features["n_maturing_30d"].to_numpy() > 0),
            LARGE_DEPOSIT,
        ),
        (age >= 60, ELDERLY),
        (features["n_small_cash_withdrawal"].to_numpy() > 0, COUNTER_SMALL_CASH),
        (
            features.get("held_credit_card", pd.Series(0, index=features.index)).to_numpy() > 0,
            CARD_HOLDER,
        ),
    ]
    for who, awards in rules:
        for product, points in awards.items():
            if product in column:
                scores[who, column[product]] += points
    # a small popularity-free tie-break so every customer gets a full, stable ranking
    scores += np.linspace(0.0, 1e-3, len(products))[::-1]
    for product, i in column.items():
        held = features.get(f"held_{product}")
        if held is not None:
            scores[held.to_numpy() > 0, i] = 0.0
    return scores
