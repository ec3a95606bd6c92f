"""Customer profiles for one chunk, drawn as aligned numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsvc.customers.profile import INCOME_STABILITY, OCCUPATIONS
from training.synth.world import World

NO_DATE = np.iinfo(np.int64).min  # "missing" in the int day-number arrays
OCC = {name: i for i, name in enumerate(OCCUPATIONS)}
STABILITY = {name: i for i, name in enumerate(INCOME_STABILITY)}
# occupation mix by age band: (min_age, {occupation: weight})
OCCUPATION_MIX = (
    (0, {"student": 1.0}),
    (18, {"student": 0.6, "employee": 0.25, "other": 0.05, "self_employed": 0.05,
          "unemployed": 0.05}),
    (23, {"employee": 0.46, "civil_servant": 0.08, "professional": 0.10, "business_owner": 0.06,
          "self_employed": 0.10, "farmer": 0.07, "unemployed": 0.04, "other": 0.09}),
    (60, {"retired": 0.80, "farmer": 0.08, "business_owner": 0.03, "self_employed": 0.04,
          "other": 0.05}),
)  # fmt: skip
STABLE_SHARE = {"employee": 0.9, "civil_servant": 0.98, "professional": 0.85, "retired": 0.95}
RISK_CUTS = np.array([-1.106, -0.134, 0.720, 1.500])  # C1 15%, C2 30%, C3 30%, C4 17%, C5 8%


@dataclass
class People:
    """One chunk of customers; dates are day numbers since 1970-01-01 (NO_DATE = missing)."""

    index: np.ndarray  # global 0-based customer number
    birth: np.ndarray
    age: np.ndarray
    gender: np.ndarray  # 0 = M, 1 = F
    occupation: np.ndarray  # index into OCCUPATIONS
    income: np.ndarray
    stability: np.ndarray  # index into INCOME_STABILITY
    salaried: np.ndarray  # bool: salary paid via the bank
    aum: np.ndarray
    risk: np.ndarray  # 0 = not assessed, else 1..5
    assessed: np.ndarray
    since: np.ndarray
    consent: np.ndarray
    complaint: np.ndarray
    branch: np.ndarray  # global branch number
    counter: np.ndarray
    self_service: np.ndarray
    mobile: np.ndarray
    online: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


def ages_on(birth: np.ndarray, as_of: int) -> np.ndarray:
    """Whole years between day numbers and a day number, like recsvc.customers.age_on."""
    b = birth.astype("datetime64[D]")
    a = np.array(as_of, dtype="datetime64[D]")
    by, ay = b.astype("datetime64[Y]"), a.astype("datetime64[Y]")
    b_month = b.astype("datetime64[M]").astype(np.int64) % 12
    a_month = int(a.astype("datetime64[M]").astype(np.int64) % 12)
    b_day = (b - b.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    a_day = int((a - a.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64))
    before = (a_month < b_month) | ((a_month == b_month) & (a_day < b_day))
    return (ay.astype(np.int64) - by.astype(np.int64) - before).astype(np.int64)


def _pick(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One category per row from a row-wise weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), weights.shape[1] - 1)


def _occupations(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    weights = np.zeros((len(age), len(OCCUPATIONS)))
    for min_age, mix in OCCUPATION_MIX:
        rows = age >= min_age
        weights[rows] = 0.0
        for name, w in mix.items():
            weights[rows, OCC[name]] = w
    return _pick(rng, weights)


def _income(rng: np.random.Generator, occ: np.ndarray, world: World) -> np.ndarray:
    table = world.population["income"]
    median = np.array([table[o][0] for o in OCCUPATIONS], dtype=float)[occ]
    sigma = np.array([table[o][1] for o in OCCUPATIONS], dtype=float)[occ]
    income = median * np.exp(sigma * rng.standard_normal(len(occ)))
    income[(occ == OCC["student"]) & (rng.random(len(occ)) < 0.7)] = 0.0
    return np.round(income, -1)


def _stability(rng: np.random.Generator, occ: np.ndarray, income: np.ndarray) -> np.ndarray:
    p_stable = np.full(len(occ), 0.2)
    for name, share in STABLE_SHARE.items():
        p_stable[occ == OCC[name]] = share
    out = np.where(rng.random(len(occ)) < p_stable, STABILITY["stable"], STABILITY["variable"])
    out[income <= 0] = STABILITY["none"]
    return out


def make_people(
    rng: np.random.Generator, world: World, first: int, n: int, as_of: int, branch_base: int
) -> People:
    """Draw n customer profiles (numbered from `first`) as of a day number."""
    pop = world.population
    minor = rng.random(n) < pop["minor_share"]
    adult_age = np.where(rng.random(n) < 0.7, rng.normal(38, 12, n), rng.normal(64, 10, n)).clip(
        18, 90
    )
    age0 = np.where(minor, rng.integers(12, 18, n), adult_age.astype(np.int64))
    birth = as_of - (age0 * 365.25 + rng.uniform(1, 364, n)).astype(np.int64)
    age = ages_on(birth, as_of)
    occ = _occupations(rng, age)
    income = np.where(minor, 0.0, _income(rng, occ, world))
    stability = _stability(rng, occ, income)
    salaried = np.zeros(n, dtype=bool)
    for name, share in pop["salary_via_bank"].items():
        rows = (occ == OCC[name]) & (income > 0)
        salaried[rows] = rng.random(int(rows.sum())) < share
    z_age = ((age - 45) / 16).clip(-2, 2)
    z_inc = (np.log(income + 1000) - 8.8) / 0.9
    latent = 0.45 * z_inc + 0.35 * z_age + 0.82 * rng.standard_normal(n)
    aum = np.exp(pop["aum_mu"] + pop["aum_sigma"] * latent)
    aum = np.round(np.where(minor, 3000 * np.exp(rng.standard_normal(n)), aum), 2)
    since = as_of - (rng.uniform(0.1, 1, n) * np.clip(age - 16, 0.5, 30) * 365.25).astype(np.int64)
    since = np.maximum(since, birth + 1)
    r_latent = 0.5 * latent - 0.5 * z_age + 0.8 * rng.standard_normal(n)
    risk = 1 + np.searchsorted(RISK_CUTS, r_latent)
    risk[minor | (rng.random(n) < pop["assessment_missing"])] = 0
    expired = rng.random(n) < pop["assessment_expired"]
    days_ago = np.where(expired, rng.integers(366, 1461, n), rng.integers(0, 366, n))
    assessed = np.maximum(as_of - days_ago, since)
    assessed[risk == 0] = NO_DATE
    counter = rng.poisson((1.0 + 0.07 * np.maximum(age - 30, 0)) * rng.lognormal(0, 0.5, n))
    self_service = rng.poisson(np.where(age < 70, 1.5, 0.4) * rng.lognormal(0, 0.5, n))
    n_branches = int(np.ceil(n / world.branches["customers_per_branch"]))
    return People(
        index=np.arange(first, first + n, dtype=np.int64),
        birth=birth,
        age=age,
        gender=(rng.random(n) < 0.5).astype(np.int64),
        occupation=occ,
        income=income,
        stability=stability,
        salaried=salaried,
        aum=aum,
        risk=risk,
        assessed=assessed,
        since=since,
        consent=rng.random(n) >= pop["marketing_opt_out"],
        complaint=rng.random(n) < pop["open_complaint"],
        branch=branch_base + rng.integers(0, n_branches, n),
        counter=counter,
        self_service=self_service,
        mobile=np.zeros(n, dtype=np.int64),
        online=np.zeros(n, dtype=np.int64),
    )
