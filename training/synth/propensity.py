"""The generator's secret: who holds and who adds which product, and what a bank may sell them.

These hidden propensities are the "truth" a model has to learn from the data; they
encode docs/domain.md (young salaried -> credit card / salary wealth / fund / gold plans,
family age with stable income -> regular-premium insurance, money in motion -> deposits
and wealth within the risk level, elderly -> time deposits and bonds, counter-heavy ->
mobile banking, counter repayments -> auto-repay) with interactions and noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.synth.people import OCC, STABILITY, People
from training.synth.world import World

# intercept of the monthly addition logit, tuned so that ~10% of customers add something
ADD_INTERCEPT = 1.1
# per-product intercepts: (holding at the first snapshot, adding within the month)
BASE = {
    "credit_card": (-1.3, -6.0),
    "auto_repay": (0.2, -5.8),
    "sms_alert": (0.0, -6.0),
    "online_banking": (-0.8, -6.3),
    "mobile_banking": (0.3, -6.4),
    "salary_wealth": (-2.6, -6.6),
    "wealth_r2": (-3.0, -6.8),
    "wealth_r3": (-3.4, -7.2),
    "wealth_r4": (-2.5, -7.6),
    "wealth_r5": (-1.0, -4.5),
    "fund_plan": (-3.0, -6.9),
    "gold_plan": (-3.8, -7.0),
    "physical_gold": (-4.2, -7.4),
    "insurance_regular": (-4.6, -7.6),
    "insurance_protection": (-3.0, -6.9),
    "time_deposit": (-1.4, -6.0),
    "large_cd": (-1.6, -6.6),
    "gov_bond": (-3.8, -7.2),
    "securities_depository": (-3.4, -7.4),
}


@dataclass
class Events:
    """What happened in the 90 days before the snapshot (from transactions and holdings)."""

    small_cash_at_counter: np.ndarray  # bool
    repaid_at_counter: np.ndarray  # bool: credit-card repayment at the counter
    large_cash_deposit: np.ndarray  # bool
    maturing: np.ndarray  # bool: a deposit/wealth holding matures before the next snapshot + 30d
    maturing_deposit: np.ndarray  # bool: a time deposit or CD does
    declined: np.ndarray  # (n, P) bool: declined or not interested in the last 180 days


def _columns(world: World) -> dict[str, int]:
    return {p: i for i, p in enumerate(world.product_ids)}


def static_logits(people: People, world: World, stock: bool) -> np.ndarray:
    """Profile-only part of the logit (tastes), without the per-product intercept's event terms."""
    col = _columns(world)
    n = len(people)
    age, occ = people.age, people.occupation
    young = (age < 30) & (age >= 18)
    family = (age >= 30) & (age < 50)
    elderly = age >= 60
    stable = people.stability == STABILITY["stable"]
    sal = people.salaried
    inc_k = np.log1p(people.income / 1000)
    log_aum = np.log10(people.aum + 1)
    rich = people.aum >= 500_000
    ysal = young & sal & stable
    k = 0.3 if stock else 1.0  # the monthly signal is stronger than the stock's memory of it
    out = np.zeros((n, len(world.product_ids)))
    terms = {
        "credit_card": k * (1.6 * young + 1.0 * sal + 1.8 * ysal) + 0.7 * stable + 0.4 * inc_k
        - 1.2 * elderly,
        "sms_alert": 0.8 * elderly + 0.3 * (log_aum - 4),
        "online_banking": 0.9 * (age < 45) + 0.8 * np.isin(occ, [OCC["business_owner"],
                                                                 OCC["professional"]])
        - 1.0 * (age >= 70),
        "mobile_banking": 1.5 * (age < 40) - 0.04 * np.maximum(age - 50, 0) * 2.0,
        "salary_wealth": k * (1.4 * sal + 0.9 * young + 1.9 * ysal),
        "wealth_r2": 0.7 * (log_aum - 4.5) + 0.4 * elderly,
        "wealth_r3": 0.8 * (log_aum - 4.5) + 0.6 * family,
        "wealth_r4": 1.0 * (log_aum - 5) + 0.7 * (age < 50),
        "wealth_r5": 0.8 * (log_aum - 6.5),
        "fund_plan": k * (1.3 * young + 0.9 * sal + 1.2 * (young & sal) * (people.mobile > 10)),
        "gold_plan": k * (1.1 * young + 0.9 * sal + 1.2 * ysal),
        "physical_gold": 1.0 * ((age >= 40) & (age < 65)) + 0.9 * rich,
        "insurance_regular": 1.3 * family + 1.0 * stable + 0.9 * (people.income >= 8000)
        + 1.7 * k * (family & stable & (people.income >= 8000)) - 0.8 * ~stable,
        "insurance_protection": 0.7 * ((age >= 25) & (age < 55)) + 0.8 * np.isin(
            occ, [OCC["self_employed"], OCC["farmer"], OCC["business_owner"]]),
        "time_deposit": 1.6 * elderly + 0.5 * (people.counter >= 6),
        "large_cd": 0.8 * elderly + 0.5 * (log_aum - 5.5),
        "gov_bond": 2.0 * elderly,
        "securities_depository": 0.9 * ((age >= 25) & (age < 50)) + 0.9 * (people.risk >= 4),
    }  # fmt: skip
    for name, value in terms.items():
        out[:, col[name]] = value
    out += np.array([BASE[p][0 if stock else 1] for p in world.product_ids])
    return out


def event_logits(people: People, world: World, ev: Events) -> np.ndarray:
    """Event-driven part of the monthly addition logit: money in motion and counter habits."""
    col = _columns(world)
    out = np.zeros((len(people), len(world.product_ids)))
    big, mat, mdep = ev.large_cash_deposit, ev.maturing, ev.maturing_deposit
    managed_age = people.age < 60
    terms = {
        "auto_repay": 3.2 * ev.repaid_at_counter,
        "mobile_banking": 2.8 * (ev.small_cash_at_counter & (people.age < 70))
        + 0.8 * (people.counter >= 6),
        "sms_alert": 0.6 * big,
        "wealth_r2": 1.8 * mat + 1.7 * big,
        "wealth_r3": 1.6 * mat + 1.4 * big + 0.9 * (big & managed_age),
        "wealth_r4": 1.3 * mat + 1.2 * big,
        "wealth_r5": 1.5 * mat,
        "time_deposit": 1.5 * big + 2.0 * mdep + 0.5 * (people.age >= 60) * big,
        "large_cd": 2.2 * mat + 1.4 * big,
        "gov_bond": 1.0 * mat + 0.8 * big,
    }
    for name, value in terms.items():
        out[:, col[name]] = value
    out -= 1.0 * ev.declined
    return out


def eligible(people: People, world: World, as_of: int, held: np.ndarray, stock: bool) -> np.ndarray:
    """What the bank would have sold: age, amounts, tiers, prerequisites and suitability."""
    suit = world.suitability
    age, aum = people.age[:, None], people.aum[:, None]
    ok = (age >= world.min_age) & ((world.max_age == 0) | (age <= world.max_age))
    ok &= (aum >= world.min_aum) & (people.income[:, None] >= world.min_income)
    valid = people.risk > 0
    if not stock:
        valid &= people.assessed >= as_of - suit["assessment_valid_days"]
    level = np.where(valid, people.risk, suit["unassessed_max_risk"])
    ok &= world.risk <= level[:, None]
    elderly = people.age >= suit["elderly_age"]
    ok &= ~elderly[:, None] | (world.risk <= suit["elderly_max_risk"])
    for product, tiers in world.tiers.items():
        floor = min(t.min_aum for t in world.bank.tiers if t.code in tiers)
        ok[:, world.index(product)] &= people.aum >= floor
    for product, needed in world.requires.items():
        for other in needed:
            ok[:, world.index(product)] &= held[:, world.index(other)]
    return ok


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logit to probability."""
    return 1.0 / (1.0 + np.exp(-x))


def addition_logits(people: People, world: World, ev: Events, mood: np.ndarray) -> np.ndarray:
    """The full monthly addition logit, including consent, complaints and a shopper's mood."""
    logit = static_logits(people, world, stock=False) + event_logits(people, world, ev)
    logit += ADD_INTERCEPT + mood[:, None]
    logit -= 1.6 * ~people.consent[:, None]  # opted out: only their own initiative
    logit -= 1.2 * people.complaint[:, None]
    return logit
