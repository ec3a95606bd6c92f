"""transform_frames' column helpers against the pandas formulations they replaced (Series.map
with a dict or a function, drop_duplicates for the products held): the same floats, NaN where
NaN, on awkward values (None, NaN, bools, ints, strings, unknown codes), as object columns and as
pandas' string columns; and the products-held count with repeated and missing products."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from recsvc.customers.profile import OCCUPATIONS
from recsvc.features.customer import CustomerFeaturizer, _codes, _each, _flag, _risk_number

AWKWARD = st.sampled_from(
    [None, np.nan, True, False, 0, 1, 2, 1.0, 0.0, "1", "0", "true", "True", "false", "",
     "R1", "R5", "R9", "RX", "R10", "3", *OCCUPATIONS, "unknown"]
)  # fmt: skip


def _old_codes(series: pd.Series, vocabulary: list[str]) -> np.ndarray:
    lookup = {v: float(i) for i, v in enumerate(vocabulary)}
    return series.map(lookup).astype(float).to_numpy()


def _old_flag(series: pd.Series) -> np.ndarray:
    return series.map(lambda v: float(v in (1, True, "1", "true", "True"))).to_numpy(float)


def _bits(a: np.ndarray) -> bytes:
    return np.asarray(a, dtype=np.float64).tobytes()


@settings(max_examples=300, deadline=None)
@given(values=st.lists(AWKWARD, max_size=30))
def test_helpers_give_the_floats_series_map_gave(values: list[object]) -> None:
    series = pd.Series(values, dtype=object)
    assert _bits(_flag(series)) == _bits(_old_flag(series))
    assert _bits(_codes(series, list(OCCUPATIONS))) == _bits(_old_codes(series, list(OCCUPATIONS)))
    old_risk = series.map(_risk_number).astype(float).to_numpy()
    assert _bits(_each(_risk_number, series)) == _bits(old_risk)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.sampled_from([None, "R1", "R3", *OCCUPATIONS, "x", "1"]), max_size=30))
def test_helpers_read_string_columns_as_series_map_did(values: list[str | None]) -> None:
    series = pd.Series(values, dtype="str")
    assert _bits(_flag(series)) == _bits(_old_flag(series))
    assert _bits(_codes(series, list(OCCUPATIONS))) == _bits(_old_codes(series, list(OCCUPATIONS)))
    old_risk = series.map(_risk_number).astype(float).to_numpy()
    assert _bits(_each(_risk_number, series)) == _bits(old_risk)


@settings(max_examples=100, deadline=None)
@given(
    held=st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(["p1", "p2", "p3", "zz", "p1"])),
        max_size=40,
    )
)
def test_products_held_count_each_product_once(held: list[tuple[int, str]]) -> None:
    ids = [f"C{i}" for i in range(5)]  # C5 is no customer of the frame: not counted
    holdings = pd.DataFrame(
        {
            "customer_id": pd.Series([f"C{c}" for c, _ in held], dtype=object),
            "product_id": pd.Series([p for _, p in held], dtype=object),
            "amount": np.ones(len(held)),
            "maturity_date": pd.Series([None] * len(held), dtype="datetime64[s]"),
            "value_change_pct": np.full(len(held), np.nan),
        }
    )
    out = CustomerFeaturizer._holdings_frame(holdings, pd.Index(ids), dt.date(2026, 9, 30))
    want = [len({p for c, p in held if c == i}) for i in range(5)]
    assert out[:, 0].tolist() == want
