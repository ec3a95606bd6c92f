"""The chunk read's date parsing (_days) against numpy's own: the same datetime64[D] values
(NaT for None) for ISO text of any day from year 1 to 9999 (leap days, month ends), for
datetime.date values (PostgreSQL), and the same refusal of what is no date."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsvc.store.contact_plan import _days

DAYS = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
EDGES = [
    dt.date(y, m, d)
    for y in (1900, 2000, 2024, 2026)
    for m, d in ((2, 28), (3, 1), (12, 31), (1, 1))
]
EDGES += [dt.date(2024, 2, 29), dt.date(2000, 2, 29), dt.date(1970, 1, 1), dt.date(1969, 12, 31)]


def _numpy(values: list[object]) -> np.ndarray:
    return np.array(values, dtype="datetime64[D]")


@settings(max_examples=300, deadline=None)
@given(days=st.lists(DAYS | st.sampled_from(EDGES) | st.none(), min_size=1, max_size=40))
def test_iso_text_reads_as_numpy_reads_it(days: list[dt.date | None]) -> None:
    text = [None if d is None else d.isoformat() for d in days]
    got = _days(text)
    assert got.dtype == np.dtype("datetime64[D]")
    assert got.tobytes() == _numpy(text).tobytes()
    assert _days(days).tobytes() == _numpy(days).tobytes()  # datetime.date (PostgreSQL)


def test_every_day_of_four_years_and_the_edges() -> None:
    start = dt.date(2023, 1, 1)
    days = [start + dt.timedelta(days=k) for k in range(4 * 366)] + EDGES
    text = [d.isoformat() for d in days]
    assert _days(text).tobytes() == _numpy(text).tobytes()
    assert _days([]).tobytes() == _numpy([]).tobytes()
    assert np.isnat(_days([None, None])).all()


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "2026-00-10", "2025-02-29", "26-1-1",
                                 "2026-01-01T10:00", "yesterday"])  # fmt: skip
def test_what_is_no_date_goes_to_numpy(bad: str) -> None:
    values = ["2026-01-01", bad, None]
    try:
        want = _numpy(values)
    except ValueError:
        with pytest.raises(ValueError):
            _days(values)
        return
    assert _days(values).tobytes() == want.tobytes()
