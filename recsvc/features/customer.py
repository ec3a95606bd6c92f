"""Customer profile -> feature vector: the one definition shared by training and serving.

Two paths produce identical numbers: `transform_one` (a Customer, numpy only, for a request)
and `transform_frames` (the bank's tables as DataFrames, vectorised, for training and batches).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recsvc.customers.bank import BankConfig
from recsvc.customers.profile import (
    INCOME_STABILITY,
    OCCUPATIONS,
    TRANSACTION_TYPES,
    Customer,
    age_on,
)
from recsvc.features.history import HistoryFeaturizer
from recsvc.features.tabular import schema_fingerprint

SMALL_CASH_LIMIT = 20_000.0  # domain.md: a cash withdrawal under 20,000 yuan suits mobile banking
MATURITY_WINDOW_DAYS = 30
HISTORY_DAYS = 90
DEPOSIT_PRODUCTS = ("time_deposit", "large_cd")
_NAN = float("nan")

PROFILE_FEATURES = (
    "age",
    "is_female",
    "occupation",
    "monthly_income",
    "income_stability",
    "salary_via_bank",
    "aum_log",
    "tier_index",
    "risk_level",
    "assessment_age_days",
    "assessment_valid",
    "tenure_years",
    "counter_visits_90d",
    "self_service_visits_90d",
    "mobile_logins_90d",
    "online_logins_90d",
    "digital_share",
    "consent_marketing",
    "open_complaint",
    "has_manager",
)
HOLDING_FEATURES = (
    "n_held",
    "deposit_amount_log",
    "other_amount_log",
    "days_to_next_maturity",
    "n_maturing_30d",
    "max_abs_value_change",
)
TRANSACTION_FEATURES = (
    *(f"n_{t}" for t in TRANSACTION_TYPES),
    "n_small_cash_withdrawal",
    "max_cash_deposit_log",
    "counter_txn_share",
)


class CustomerFeaturizer:
    """Turns profiles into float32 vectors; the column order is the feature schema."""

    def __init__(
        self,
        *,
        product_ids: Sequence[str],
        bank: BankConfig,
        history: HistoryFeaturizer | None = None,
    ) -> None:
        self.product_ids = tuple(product_ids)
        self.bank = bank
        # The decision-history features a model may have been trained with after these
        # (recsvc.features.history): not part of `names`, appended only for such a model.
        self.history = history

    @property
    def names(self) -> tuple[str, ...]:
        held = tuple(f"held_{p}" for p in self.product_ids)
        return (*PROFILE_FEATURES, *held, *HOLDING_FEATURES, *TRANSACTION_FEATURES)

    def feature_schema(self) -> dict[str, Any]:
        """Names and fingerprint, in the form the ranker and the registry check against the code."""
        names = list(self.names)
        return {
            "names": names,
            "categorical": {},
            "fingerprint": schema_fingerprint(names=names, categorical={}),
        }

    # ---- one customer (request path) -------------------------------------------------------

    def transform_one(self, customer: Customer, as_of: dt.date) -> np.ndarray:
        """A 1 x F float32 row for one customer; no pandas on this path."""
        values = [
            *self._profile_row(customer, as_of),
            *(float(p in customer.held_product_ids) for p in self.product_ids),
            *self._holdings_row(customer, as_of),
            *self._transactions_row(customer, as_of),
        ]
        return np.asarray(values, dtype=np.float32).reshape(1, -1)

    def _tier_index(self, aum: float) -> int:
        return sum(1 for tier in self.bank.tiers if aum >= tier.min_aum)

    def _profile_row(self, c: Customer, as_of: dt.date) -> list[float]:
        h = c.channel_habits
        touches = h.counter_visits_90d + h.self_service_visits_90d
        touches += h.mobile_logins_90d + h.online_logins_90d
        assessed = c.assessment_date is not None and c.risk_level is not None
        age_days = (as_of - c.assessment_date).days if assessed and c.assessment_date else None
        return [
            float(age_on(c.birth_date, as_of)),
            float(c.gender == "F"),
            _code(c.occupation, OCCUPATIONS),
            float(c.monthly_income),
            _code(c.income_stability, INCOME_STABILITY),
            float(c.salary_via_bank),
            float(np.log1p(c.aum)),
            float(self._tier_index(c.aum)),
            float(c.risk_level) if c.risk_level is not None else _NAN,
            float(age_days) if age_days is not None else _NAN,
            float(age_days is not None and 0 <= age_days <= 365),
            (as_of - c.customer_since).days / 365.25 if c.customer_since else _NAN,
            float(h.counter_visits_90d),
            float(h.self_service_visits_90d),
            float(h.mobile_logins_90d),
            float(h.online_logins_90d),
            (h.mobile_logins_90d + h.online_logins_90d) / (touches + 1.0),
            float(c.consent_marketing),
            float(c.open_complaint),
            float(c.manager_id is not None),
        ]

    @staticmethod
    def _holdings_row(c: Customer, as_of: dt.date) -> list[float]:
        deposits = sum(h.amount for h in c.holdings if h.product_id in DEPOSIT_PRODUCTS)
        others = sum(h.amount for h in c.holdings if h.product_id not in DEPOSIT_PRODUCTS)
        ahead = [(h.maturity_date - as_of).days for h in c.holdings if h.maturity_date]
        ahead = [d for d in ahead if d >= 0]
        changes = [abs(h.value_change_pct) for h in c.holdings if h.value_change_pct is not None]
        return [
            float(len(c.held_product_ids)),
            float(np.log1p(deposits)),
            float(np.log1p(others)),
            float(min(ahead)) if ahead else _NAN,
            float(sum(1 for d in ahead if d <= MATURITY_WINDOW_DAYS)),
            max(changes) if changes else _NAN,
        ]

    @staticmethod
    def _transactions_row(c: Customer, as_of: dt.date) -> list[float]:
        since = as_of - dt.timedelta(days=HISTORY_DAYS)
        recent = [t for t in c.recent_transactions if t.date is None or since < t.date <= as_of]
        counts = [float(sum(1 for t in recent if t.type == kind)) for kind in TRANSACTION_TYPES]
        small_cash = sum(
            1 for t in recent if t.type == "cash_withdrawal" and t.amount < SMALL_CASH_LIMIT
        )
        deposits = [t.amount for t in recent if t.type == "cash_deposit"]
        at_counter = sum(1 for t in recent if t.channel == "counter")
        return [
            *counts,
            float(small_cash),
            float(np.log1p(max(deposits))) if deposits else 0.0,
            at_counter / len(recent) if recent else _NAN,
        ]

    # ---- many customers (batch path) --------------------------------------------------------

    def transform_frames(
        self,
        customers: pd.DataFrame,
        holdings: pd.DataFrame,
        transactions: pd.DataFrame,
        as_of: dt.date,
    ) -> np.ndarray:
        """N x F float32 rows in `customers` order; holdings/transactions pre-filtered."""
        ids = customers["customer_id"].to_numpy()
        index = _objects(ids)
        blocks = (
            lambda: self._profile_frame(customers, as_of),
            lambda: self._held_frame(holdings, index),
            lambda: self._holdings_frame(holdings, index, as_of),
            lambda: self._transactions_frame(transactions, index, as_of),
        )
        # Each float64 block is cast into the float32 matrix as soon as it is built: the same
        # numbers as stacking them all in float64 first, without 8 bytes per cell held at once.
        out = np.empty((len(index), len(self.names)), dtype=np.float32)
        col = 0
        for block in blocks:
            values = block()
            out[:, col : col + values.shape[1]] = values
            col += values.shape[1]
        if col != out.shape[1]:
            raise ValueError(f"{col} feature columns built, expected {out.shape[1]}")
        return out

    def _profile_frame(self, df: pd.DataFrame, as_of: dt.date) -> np.ndarray:
        stamp = pd.Timestamp(as_of)
        born = pd.to_datetime(df["birth_date"])
        before = (born.dt.month > as_of.month) | (
            (born.dt.month == as_of.month) & (born.dt.day > as_of.day)
        )
        age = as_of.year - born.dt.year - before.astype(int)
        aum = df["aum"].astype(float).to_numpy()
        thresholds = np.array([t.min_aum for t in self.bank.tiers])
        tier = (aum[:, None] >= thresholds[None, :]).sum(axis=1)
        risk = pd.Series(_each(_risk_number, df["risk_level"]), index=df.index)
        assessed = pd.to_datetime(df["assessment_date"])
        assessment_days = (stamp - assessed).dt.days.astype(float)
        assessment_days[risk.isna()] = np.nan
        since = pd.to_datetime(df["customer_since"])
        tenure = (stamp - since).dt.days.astype(float) / 365.25
        counter, self_service = _num(df, "counter_visits_90d"), _num(df, "self_service_visits_90d")
        mobile, online = _num(df, "mobile_logins_90d"), _num(df, "online_logins_90d")
        touches = counter + self_service + mobile + online
        columns = [
            age.to_numpy(float),
            (df["gender"] == "F").to_numpy(float),
            _codes(df["occupation"], OCCUPATIONS),
            _num(df, "monthly_income"),
            _codes(df["income_stability"], INCOME_STABILITY),
            _flag(df["salary_via_bank"]),
            np.log1p(aum),
            tier.astype(float),
            risk.to_numpy(float),
            assessment_days.to_numpy(float),
            ((assessment_days >= 0) & (assessment_days <= 365)).to_numpy(float),
            tenure.to_numpy(float),
            counter,
            self_service,
            mobile,
            online,
            (mobile + online) / (touches + 1.0),
            _flag(df["consent_marketing"]),
            _flag(df["open_complaint"]),
            df["manager_id"].notna().to_numpy(float),
        ]
        return np.column_stack(columns)

    def _held_frame(self, holdings: pd.DataFrame, index: pd.Index) -> np.ndarray:
        held = np.zeros((len(index), len(self.product_ids)), dtype=float)
        if len(holdings):
            rows = index.get_indexer(_objects(holdings["customer_id"]))
            cols = _objects(self.product_ids).get_indexer(_objects(holdings["product_id"]))
            ok = (rows >= 0) & (cols >= 0)
            held[rows[ok], cols[ok]] = 1.0
        return held

    @staticmethod
    def _holdings_frame(holdings: pd.DataFrame, index: pd.Index, as_of: dt.date) -> np.ndarray:
        out = np.full((len(index), len(HOLDING_FEATURES)), np.nan)
        out[:, [0, 1, 2, 4]] = 0.0
        if not len(holdings):
            return out
        rows = index.get_indexer(_objects(holdings["customer_id"]))
        keep = rows >= 0
        h, rows = holdings[keep], rows[keep]
        n = len(index)
        # the same product held twice counts once, as on the request path
        products, _ = pd.factorize(h["product_id"].to_numpy(dtype=object), use_na_sentinel=False)
        pairs = np.unique(rows.astype(np.int64) * (int(products.max(initial=0)) + 1) + products)
        out[:, 0] = np.bincount(pairs // (int(products.max(initial=0)) + 1), minlength=n)
        amount = h["amount"].astype(float).fillna(0.0).to_numpy()
        is_deposit = h["product_id"].isin(DEPOSIT_PRODUCTS).to_numpy()
        out[:, 1] = np.log1p(np.bincount(rows, weights=amount * is_deposit, minlength=n))
        out[:, 2] = np.log1p(np.bincount(rows, weights=amount * ~is_deposit, minlength=n))
        ahead = (pd.to_datetime(h["maturity_date"]) - pd.Timestamp(as_of)).dt.days.to_numpy(float)
        future = ~np.isnan(ahead) & (ahead >= 0)
        out[:, 3] = _group_min(rows[future], ahead[future], n)
        soon = future & (ahead <= MATURITY_WINDOW_DAYS)
        out[:, 4] = np.bincount(rows[soon], minlength=n)
        change = np.abs(h["value_change_pct"].astype(float).to_numpy())
        known = ~np.isnan(change)
        out[:, 5] = _group_max(rows[known], change[known], n)
        return out

    @staticmethod
    def _transactions_frame(txns: pd.DataFrame, index: pd.Index, as_of: dt.date) -> np.ndarray:
        n = len(index)
        out = np.zeros((n, len(TRANSACTION_FEATURES)))
        out[:, -1] = np.nan
        if not len(txns):
            return out
        dates = pd.to_datetime(txns["date"])
        since = pd.Timestamp(as_of - dt.timedelta(days=HISTORY_DAYS))
        window = (dates.isna() | ((dates > since) & (dates <= pd.Timestamp(as_of)))).to_numpy()
        rows = index.get_indexer(_objects(txns["customer_id"]))
        keep = window & (rows >= 0)
        t, rows = txns[keep], rows[keep]
        kinds = t["type"].to_numpy()
        amount = t["amount"].astype(float).fillna(0.0).to_numpy()
        for i, kind in enumerate(TRANSACTION_TYPES):
            out[:, i] = np.bincount(rows[kinds == kind], minlength=n)
        k = len(TRANSACTION_TYPES)
        small = (kinds == "cash_withdrawal") & (amount < SMALL_CASH_LIMIT)
        out[:, k] = np.bincount(rows[small], minlength=n)
        dep = kinds == "cash_deposit"
        out[:, k + 1] = np.log1p(np.nan_to_num(_group_max(rows[dep], amount[dep], n), nan=0.0))
        total = np.bincount(rows, minlength=n).astype(float)
        counter = np.bincount(rows[t["channel"].to_numpy() == "counter"], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, k + 2] = np.where(total > 0, counter / np.maximum(total, 1.0), np.nan)
        return out


def _code(value: str, vocabulary: Sequence[str]) -> float:
    return float(vocabulary.index(value)) if value in vocabulary else _NAN


def _codes(series: pd.Series, vocabulary: Sequence[str]) -> np.ndarray:
    lookup = {v: float(i) for i, v in enumerate(vocabulary)}
    return np.array([lookup.get(v, _NAN) for v in series.to_numpy(dtype=object)], dtype=float)


def _objects(values: Any) -> pd.Index:
    """An Index of plain Python objects: ids matched by hash and ==, as before, without pandas
    inferring its Arrow-backed strings (dearer to build than the lookups they serve here)."""
    return pd.Index(np.asarray(values, dtype=object), dtype=object)


def _each(function: Callable[[Any], float], series: pd.Series) -> np.ndarray:
    """series.map(function) as floats, without pandas' per-call machinery."""
    return np.array([function(v) for v in series.to_numpy(dtype=object)], dtype=float)


def _risk_number(value: Any) -> float:
    if isinstance(value, str) and len(value) == 2 and value[1] in "0123456789":
        return float(value[1])
    if isinstance(value, (int, float)) and not pd.isna(value):
        return float(value)
    return _NAN


def _num(df: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(df[column]).fillna(0).to_numpy(float)


def _flag(series: pd.Series) -> np.ndarray:
    return _each(lambda v: float(v in (1, True, "1", "true", "True")), series)


def _group_min(rows: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.inf)
    np.minimum.at(out, rows, values)
    out[np.isinf(out)] = np.nan
    return out


def _group_max(rows: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, rows, values)
    out[np.isinf(out)] = np.nan
    return out
