"""Score -> probability maps kept as plain numbers (Platt or piecewise-linear), numpy only."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

PLATT = "platt"
PIECEWISE = "piecewise_linear"
_EPS = 1e-7


class CalibrationError(ValueError):
    """Calibration parameters are malformed or cannot be fitted."""


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit_platt(scores: np.ndarray, labels: np.ndarray, *, max_iter: int = 50) -> dict[str, Any]:
    """Logistic fit of labels on logit(score) by Newton's method (strictly monotone if a > 0)."""
    x = _logit(scores).ravel()
    y = (np.asarray(labels).ravel() > 0).astype(np.float64)
    if len(x) == 0:
        raise CalibrationError("cannot fit Platt scaling on zero rows")
    # Platt's target smoothing keeps the fit finite when a class is rare or absent.
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 1.0, 0.0
    for _ in range(max_iter):
        p = _sigmoid(a * x + b)
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.sum((p - t) * x), np.sum(p - t)])
        h = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]])
        h += np.eye(2) * 1e-9
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.max(np.abs(step)) < 1e-9:
            break
    return {"method": PLATT, "a": float(a), "b": float(b)}


def fit_piecewise(
    scores: np.ndarray, labels: np.ndarray, *, max_points: int = 64
) -> dict[str, Any]:
    """Isotonic fit reduced to at most `max_points` (x, y) knots for linear interpolation."""
    from sklearn.isotonic import IsotonicRegression

    x = np.asarray(scores, dtype=np.float64).ravel()
    y = (np.asarray(labels).ravel() > 0).astype(np.float64)
    if len(x) == 0:
        raise CalibrationError("cannot fit isotonic calibration on zero rows")
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(x, y)
    xs, ys = iso.X_thresholds_, iso.y_thresholds_
    if len(xs) > max_points:
        keep = np.unique(np.linspace(0, len(xs) - 1, max_points).round().astype(int))
        xs, ys = xs[keep], ys[keep]
    return {"method": PIECEWISE, "x": [float(v) for v in xs], "y": [float(v) for v in ys]}


def fit_calibrator(scores: np.ndarray, labels: np.ndarray, *, method: str) -> dict[str, Any]:
    """Fit one product's calibrator by method name ('platt' or 'isotonic')."""
    if method == PLATT:
        return fit_platt(scores, labels)
    if method in ("isotonic", PIECEWISE):
        return fit_piecewise(scores, labels)
    raise CalibrationError(f"unknown calibration method {method!r} (use 'platt' or 'isotonic')")


def apply_calibrator(params: Mapping[str, Any], scores: np.ndarray) -> np.ndarray:
    """Map raw scores to probabilities with stored parameters."""
    method = params.get("method")
    if method == PLATT:
        z = float(params["a"]) * _logit(scores) + float(params["b"])
        return _sigmoid(z)
    if method == PIECEWISE:
        xs = np.asarray(params["x"], dtype=np.float64)
        ys = np.asarray(params["y"], dtype=np.float64)
        if len(xs) == 0 or len(xs) != len(ys):
            raise CalibrationError(f"piecewise calibration has {len(xs)} x and {len(ys)} y points")
        return np.interp(np.asarray(scores, dtype=np.float64), xs, ys)
    if method == "identity":
        return np.asarray(scores, dtype=np.float64)
    raise CalibrationError(f"unknown calibration method {method!r}")


def apply_all(calibrators: Sequence[Mapping[str, Any]], scores: np.ndarray) -> np.ndarray:
    """Calibrate an (n x P) score matrix column by column."""
    if scores.shape[1] != len(calibrators):
        raise CalibrationError(
            f"{len(calibrators)} calibrators for {scores.shape[1]} score columns"
        )
    out = np.empty(scores.shape, dtype=np.float64)
    for j, params in enumerate(calibrators):
        out[:, j] = apply_calibrator(params, scores[:, j])
    return out


class RowCalibrator:
    """All products' calibrators for one row of scores, in plain floats: a serving request
    calibrates 1 x P scores, where P numpy calls cost more than the arithmetic.

    Gives exactly what `apply_all` gives (same formulas, same float64 operations, in the order
    numpy's interp and the Platt map use them).
    """

    def __init__(self, calibrators: Sequence[Mapping[str, Any]]) -> None:
        self.calibrators = calibrators
        self._maps = [_row_map(params) for params in calibrators]

    def __call__(self, scores: Sequence[float]) -> list[float]:
        if len(scores) != len(self._maps):
            raise CalibrationError(f"{len(self._maps)} calibrators for {len(scores)} scores")
        return [m(float(s)) for m, s in zip(self._maps, scores, strict=True)]


def _row_map(params: Mapping[str, Any]) -> Any:
    method = params.get("method")
    if method == PIECEWISE:
        xs = [float(v) for v in params["x"]]
        ys = [float(v) for v in params["y"]]
        if not xs or len(xs) != len(ys):
            raise CalibrationError(f"piecewise calibration has {len(xs)} x and {len(ys)} y points")
        return lambda s: _interp(s, xs, ys)
    if method == PLATT:
        a, b = float(params["a"]), float(params["b"])
        return lambda s: _platt(s, a, b)
    if method == "identity":
        return float
    raise CalibrationError(f"unknown calibration method {method!r}")


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    """numpy.interp for one point (its C code's branches, including the NaN guard)."""
    if math.isnan(x):
        return x
    if x >= xs[-1]:
        return ys[-1]
    if x < xs[0]:
        return ys[0]
    j = bisect.bisect_right(xs, x) - 1
    if xs[j] == x:
        return ys[j]
    slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
    out = slope * (x - xs[j]) + ys[j]
    if math.isnan(out):
        out = slope * (x - xs[j + 1]) + ys[j + 1]
        if math.isnan(out) and ys[j] == ys[j + 1]:
            out = ys[j]
    return out


def _platt(s: float, a: float, b: float) -> float:
    z = a * _logit(np.asarray([s], dtype=np.float64)) + b
    return float(_sigmoid(z)[0])
