"""The serving path's one-row calibration gives exactly what the batch path gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsvc.models.calibration import (
    CalibrationError,
    RowCalibrator,
    apply_all,
    fit_piecewise,
    fit_platt,
)

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _fitted(seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(4):
        scores = rng.random(400)
        labels = (rng.random(400) < scores * 0.3).astype(float)
        out.append(fit_piecewise(scores, labels))
        out.append(fit_platt(scores, labels))
    out.append({"method": "identity"})
    return out


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 50), data=st.data())
def test_row_calibrator_equals_apply_all(seed: int, data: st.DataObject) -> None:
    calibrators = _fitted(seed)
    knots = [x for c in calibrators if "x" in c for x in c["x"]]
    # raw scores anywhere in [0, 1], on the knots themselves, and just outside the fitted range
    point = st.one_of(unit, st.sampled_from(knots), st.sampled_from([0.0, 1.0, 1e-9]))
    row = data.draw(st.lists(point, min_size=len(calibrators), max_size=len(calibrators)))
    batch = apply_all(calibrators, np.asarray([row], dtype=np.float64))[0]
    assert RowCalibrator(calibrators)(row) == batch.tolist()


def test_row_calibrator_refuses_a_short_row_and_bad_parameters() -> None:
    calibrators = _fitted(1)
    with pytest.raises(CalibrationError, match="calibrators for 2 scores"):
        RowCalibrator(calibrators)([0.1, 0.2])
    with pytest.raises(CalibrationError, match="unknown calibration method"):
        RowCalibrator([{"method": "magic"}])
    with pytest.raises(CalibrationError, match="2 x and 1 y"):
        RowCalibrator([{"method": "piecewise_linear", "x": [0.1, 0.2], "y": [0.5]}])
