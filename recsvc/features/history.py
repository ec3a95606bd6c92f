"""Decision history -> feature vector: what was pitched to a customer, and what they answered.

Per product family (the catalogue's `family`): pitched in the last 30 and 90 days, declined
(`declined` or `not_interested`) in the last 30 and 90 days, accepted before; and the days since
the last pitch of any product (NaN if never). A record counts only if it is strictly before the
as-of date: what happens on or after it never reaches the features (point in time).

Two paths produce identical numbers, as in recsvc.features.customer: `transform_one` (one
customer's records, numpy only, for a request) and `transform_frames` (a pitches table in the
data contract's shape, vectorised, for training and batches). A pitch whose outcome is not known
(None, empty, `no_answer`) counts as pitched, neither declined nor accepted; a product outside
the catalogue counts only in the days since the last pitch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from recsvc.features.tabular import schema_fingerprint

WINDOWS = (30, 90)
DECLINED = ("declined", "not_interested")
ACCEPTED = "accepted"
DAYS_SINCE_LAST_PITCH = "days_since_last_pitch"
_NAN = float("nan")
_ACCEPTED_AT = 2 * len(WINDOWS)  # block of the accepted-before columns


class PitchRecord(NamedTuple):
    """One pitch to one customer: the day, the product, the answer (None if not known)."""

    date: dt.date
    product_id: str
    outcome: str | None


class HistoryFeaturizer:
    """Pitch records -> float32 columns appended after CustomerFeaturizer's, in `names` order."""

    def __init__(self, product_families: Mapping[str, str]) -> None:
        self.product_families = dict(product_families)
        self.families = tuple(dict.fromkeys(self.product_families.values()))
        self._family_index = {f: i for i, f in enumerate(self.families)}
        self._product_family = {p: self._family_index[f] for p, f in self.product_families.items()}

    @classmethod
    def for_catalogue(cls, products: Iterable[Any]) -> HistoryFeaturizer:
        """From catalogue Products (anything with `product_id` and `family`), in their order."""
        return cls({p.product_id: p.family for p in products})

    @property
    def names(self) -> tuple[str, ...]:
        out: list[str] = []
        for days in WINDOWS:
            out.extend(f"pitched_{days}d_{f}" for f in self.families)
        for days in WINDOWS:
            out.extend(f"declined_{days}d_{f}" for f in self.families)
        out.extend(f"accepted_before_{f}" for f in self.families)
        out.append(DAYS_SINCE_LAST_PITCH)
        return tuple(out)

    def schema_after(self, base_names: Sequence[str]) -> dict[str, Any]:
        """The feature schema of a model trained on `base_names` followed by these features."""
        names = [*base_names, *self.names]
        return {
            "names": names,
            "categorical": {},
            "fingerprint": schema_fingerprint(names=names, categorical={}),
        }

    # ---- one customer (request path) -------------------------------------------------------

    def transform_one(
        self, records: Iterable[tuple[dt.date, str, str | None]], as_of: dt.date
    ) -> np.ndarray:
        """A 1 x H float32 row from one customer's records; no pandas on this path."""
        k = len(self.families)
        counts = np.zeros((_ACCEPTED_AT + 1) * k + 1, dtype=np.float64)
        last: dt.date | None = None
        for date, product_id, outcome in records:
            age = (as_of - date).days
            if age < 1:
                continue  # on or after the as-of date: not known yet
            if last is None or date > last:
                last = date
            family = self._product_family.get(product_id)
            if family is None:
                continue
            declined = outcome in DECLINED
            for w, days in enumerate(WINDOWS):
                if age <= days:
                    counts[w * k + family] += 1.0
                    if declined:
                        counts[(len(WINDOWS) + w) * k + family] += 1.0
            if outcome == ACCEPTED:
                counts[_ACCEPTED_AT * k + family] = 1.0
        counts[-1] = _NAN if last is None else float((as_of - last).days)
        return counts.astype(np.float32).reshape(1, -1)

    # ---- many customers (batch path) --------------------------------------------------------

    def transform_frames(
        self, customer_ids: Sequence[str] | pd.Index, pitches: pd.DataFrame, as_of: dt.date
    ) -> np.ndarray:
        """N x H float32 rows in `customer_ids` order from a pitches table with the contract's
        columns customer_id, product_id, date, outcome (other columns ignored)."""
        index = pd.Index(customer_ids)
        n, k = len(index), len(self.families)
        out = np.zeros((n, (_ACCEPTED_AT + 1) * k + 1), dtype=np.float64)
        out[:, -1] = np.nan
        if not len(pitches):
            return out.astype(np.float32)
        dates = pd.to_datetime(pitches["date"]).to_numpy(dtype="datetime64[D]")
        age = (np.datetime64(as_of, "D") - dates).astype(np.int64)
        rows = index.get_indexer(pd.Index(pitches["customer_id"]))
        known = (rows >= 0) & ~np.isnat(dates) & (age >= 1)
        rows, age = rows[known], age[known]
        products = pitches["product_id"].to_numpy(dtype=object)[known]
        outcome = pitches["outcome"].to_numpy(dtype=object)[known]
        nearest = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(nearest, rows, age)
        seen = nearest < np.iinfo(np.int64).max
        out[seen, -1] = nearest[seen]
        family = pd.Series(products).map(self._product_family).to_numpy(dtype=float)
        fam_ok = ~np.isnan(family)
        fam = np.where(fam_ok, family, 0).astype(np.int64)
        declined = np.isin(outcome, DECLINED)
        cell = rows * k + fam
        for w, days in enumerate(WINDOWS):
            inside = fam_ok & (age <= days)
            out[:, w * k : (w + 1) * k] = _count(cell[inside], n, k)
            d = len(WINDOWS) + w
            out[:, d * k : (d + 1) * k] = _count(cell[inside & declined], n, k)
        accepted = fam_ok & (outcome == ACCEPTED)
        out[:, _ACCEPTED_AT * k : (_ACCEPTED_AT + 1) * k] = _count(cell[accepted], n, k) > 0
        return out.astype(np.float32)


def history_names_in(names: Sequence[str]) -> list[str]:
    """The decision-history features among a model's feature names (for its card)."""
    prefixes = tuple(f"{kind}_{days}d_" for kind in ("pitched", "declined") for days in WINDOWS)
    return [
        n
        for n in names
        if n.startswith((*prefixes, "accepted_before_")) or n == DAYS_SINCE_LAST_PITCH
    ]


def _count(cells: np.ndarray, n: int, k: int) -> np.ndarray:
    return np.bincount(cells, minlength=n * k).reshape(n, k).astype(np.float64)
