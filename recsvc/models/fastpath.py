"""The one-row scorer a serving request takes: LightGBM's single-row fast path.

The only module that calls LightGBM's private C API (`lightgbm.basic._LIB`, `booster._handle`):
a FastConfig per booster, made once when the runtime loads a model, gives the same trees,
parameters and float32 input as `Booster.predict(x, num_threads=n)` without its per-call
Python set-up. `one_row_scorer(ranker)` is the public entry; its numbers equal the ranker's
batch numbers for the same row (tests/ranker/test_ranker_model_dir.py guards the parity)."""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import TYPE_CHECKING

import lightgbm as lgb
import numpy as np

from recsvc.models.calibration import RowCalibrator

if TYPE_CHECKING:
    from recsvc.models.ranker import ProductRanker

# LightGBM C API: C_API_PREDICT_NORMAL, C_API_PREDICT_CONTRIB, C_API_DTYPE_FLOAT32
_PREDICT_NORMAL, _PREDICT_CONTRIB, _DTYPE_FLOAT32 = 0, 3, 0
_LIB = lgb.basic._LIB


def _check(code: int) -> None:
    if code != 0:
        raise lgb.basic.LightGBMError(_LIB.LGBM_GetLastError().decode("utf-8"))


def _free_fast_config(handle: ctypes.c_void_p, _booster: lgb.Booster) -> None:
    """Free the FastConfig; holding the booster until then keeps its trees alive."""
    _LIB.LGBM_FastConfigFree(handle)


class SingleRowPredictor:
    """One booster through LightGBM's single-row fast path (a FastConfig made once): the same
    trees, parameters and float32 input as `Booster.predict(x, num_threads=n)`, without its
    per-call Python set-up. Calls are serialised (the FastConfig owns one output buffer).
    With `contributions`, the row's SHAP values as `predict(pred_contrib=True)` gives them."""

    def __init__(
        self,
        booster: lgb.Booster,
        n_features: int,
        num_threads: int,
        *,
        contributions: bool = False,
    ) -> None:
        self._handle = ctypes.c_void_p()
        _check(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_PREDICT_CONTRIB if contributions else _PREDICT_NORMAL),
                ctypes.c_int(0),
                ctypes.c_int(booster.best_iteration),  # what Booster.predict uses by default
                ctypes.c_int(_DTYPE_FLOAT32),
                ctypes.c_int32(n_features),
                lgb.basic._c_str(f"num_threads={num_threads}"),
                ctypes.byref(self._handle),
            )
        )
        weakref.finalize(self, _free_fast_config, self._handle, booster)
        self._out = np.zeros(n_features + 1 if contributions else 1, dtype=np.float64)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._out_len = ctypes.c_int64()
        self._lock = threading.Lock()

    def predict_at(self, row: ctypes.c_void_p) -> float:
        """The prediction for a row given by `row_pointer` (one pointer serves every product's
        booster); the caller keeps the row alive."""
        with self._lock:
            self._predict_into_buffer(row)
            return float(self._out_ptr[0])

    def contributions_at(self, row: ctypes.c_void_p) -> np.ndarray:
        """The row's contributions (1 x F+1, last the bias), a fresh array."""
        with self._lock:
            self._predict_into_buffer(row)
            return self._out.copy().reshape(1, -1)

    def _predict_into_buffer(self, row: ctypes.c_void_p) -> None:
        _check(
            _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                self._handle, row, ctypes.byref(self._out_len), self._out_ptr
            )
        )


def row_pointer(row: np.ndarray) -> ctypes.c_void_p:
    """The address of a C-contiguous float32 row, as the fast path takes it."""
    if row.dtype != np.float32 or not row.flags.c_contiguous:
        raise ValueError(f"a single-row predict needs C-contiguous float32, got {row.dtype}")
    return ctypes.c_void_p(row.ctypes.data)


class OneRowScorer:
    """A fitted ranker's scores and SHAP contributions for one row at a time, every path built
    in the constructor (the runtime builds one per loaded model, so no request pays for it).
    Multiclass models have no fast path: they are scored by the ranker's batch path."""

    def __init__(self, ranker: ProductRanker) -> None:
        self.ranker = ranker
        self.fast = ranker.kind != "multiclass"
        n = len(ranker.feature_names_)
        self.n_features = n
        self.predictors: list[SingleRowPredictor | float] = []
        self.contribution_predictors: dict[int, SingleRowPredictor] = {}
        self.calibrator = RowCalibrator(ranker.calibrators_)
        if not self.fast:
            return
        for index, booster in enumerate(ranker.boosters_):
            if isinstance(booster, float):
                self.predictors.append(booster)
                continue
            self.predictors.append(SingleRowPredictor(booster, n, ranker.num_threads))
            self.contribution_predictors[index] = SingleRowPredictor(
                booster, n, 1, contributions=True
            )

    def _row(self, X: np.ndarray) -> np.ndarray | None:
        X = np.asarray(X, dtype=np.float32)
        if not self.fast or X.shape != (1, self.n_features):
            return None
        return np.ascontiguousarray(X[0], dtype=np.float32)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (1 x P), the numbers `ranker.predict_proba(X)` gives."""
        row = self._row(X)
        if row is None:
            return np.asarray(self.ranker.predict_proba(X))
        at = row_pointer(row)
        raw = [p if isinstance(p, float) else p.predict_at(at) for p in self.predictors]
        return np.asarray([self.calibrator(raw)], dtype=np.float64)

    def contributions(self, X: np.ndarray, product_index: int) -> np.ndarray:
        """One product's contributions (1 x F+1), as `ranker.contributions(X, index)`."""
        row = self._row(X)
        if row is None or product_index not in self.contribution_predictors:
            return np.asarray(self.ranker.contributions(X, product_index))
        predictor = self.contribution_predictors[product_index]
        return predictor.contributions_at(row_pointer(row))


def one_row_scorer(ranker: ProductRanker) -> OneRowScorer:
    """The serving path of a fitted ranker for one row at a time."""
    return OneRowScorer(ranker)
