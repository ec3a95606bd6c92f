"""ProductRanker: LightGBM over any float32 feature matrix, calibrated, saved as text + JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from tqdm import tqdm

from recsvc.features.tabular import schema_fingerprint
from recsvc.models.calibration import apply_all, fit_calibrator

FORMAT = "recsvc-model"
FORMAT_VERSION = 1
MULTICLASS = "multiclass"
MULTICLASS_FILES = ["model.txt", "model_any.txt"]
BINARY = "binary_per_product"
DESCRIPTOR = "model.json"
CALIBRATION = "calibration.json"
_BASE_PARAMS = {"verbose": -1, "num_leaves": 15, "min_data_in_leaf": 50, "learning_rate": 0.05}


class ModelFormatError(ValueError):
    """A model directory is missing a file or has an unexpected descriptor."""


class ProductRanker:
    """Scores P products per customer: one multiclass booster or one binary booster per product.

    A plain batch estimator (scikit-learn's contract: `__init__` stores parameters, `fit` and
    `load` set the fitted attributes, which end in `_`). A serving request's one-row path is
    `recsvc.models.fastpath.one_row_scorer(ranker)`, built when the runtime loads a model."""

    def __init__(
        self,
        *,
        kind: str = BINARY,
        params: Mapping[str, Any] | None = None,
        num_boost_round: int = 200,
        calibration: str | None = "platt",
        calibration_fraction: float = 0.2,
        refit_full: bool = True,
        min_positives: int = 5,
        categorical_features: Sequence[str] = (),
        gate: bool = True,
        negatives_per_positive: float | None = None,
        seed: int = 0,
        deterministic: bool = True,
        num_threads: int = 2,
    ) -> None:
        self.kind = kind
        self.params = dict(params or {})
        self.num_boost_round = num_boost_round
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.refit_full = refit_full
        self.min_positives = min_positives
        self.categorical_features = list(categorical_features)
        self.gate = gate
        self.negatives_per_positive = negatives_per_positive
        self.seed = seed
        self.deterministic = deterministic
        self.num_threads = num_threads

    def _lgb_params(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **_BASE_PARAMS,
            **self.params,
            **extra,
            "seed": self.seed,
            "deterministic": self.deterministic,
            "num_threads": self.num_threads,
        }

    def _dataset(self, X: np.ndarray, y: np.ndarray) -> lgb.Dataset:
        cats = [c for c in self.categorical_features if c in self.feature_names_]
        return lgb.Dataset(
            X,
            y,
            feature_name=self.feature_names_,
            categorical_feature=cats or "auto",
            free_raw_data=True,
        )

    def _train_boosters(
        self, X: np.ndarray, held: np.ndarray, labels: np.ndarray, *, progress: bool = False
    ) -> list[lgb.Booster | float]:
        if self.kind == MULTICLASS:
            rows, cls = np.nonzero(labels)
            if len(rows) == 0:
                raise ValueError("labels has no positive cell: nothing to learn for multiclass")
            params = self._lgb_params({"objective": "multiclass", "num_class": labels.shape[1]})
            data = self._dataset(X[rows], cls)
            main: list[lgb.Booster | float] = [
                lgb.train(params, data, num_boost_round=self.num_boost_round)
            ]
            if self.gate:
                # P(adds anything | x): the multiclass part only orders products within a
                # customer; the gate makes scores comparable across customers (who to call).
                gate_params = self._lgb_params({"objective": "binary"})
                any_added = (labels.sum(axis=1) > 0).astype(np.uint8)
                data = self._dataset(X, any_added)
                main.append(lgb.train(gate_params, data, num_boost_round=self.num_boost_round))
            return main
        if self.kind != BINARY:
            raise ValueError(f"kind must be {MULTICLASS!r} or {BINARY!r}, got {self.kind!r}")
        boosters: list[lgb.Booster | float] = []
        rng = np.random.default_rng(self.seed)
        products = tqdm(
            range(labels.shape[1]), desc="boosters", unit="product", leave=False,
            disable=not (progress and sys.stderr.isatty()),
        )  # fmt: skip
        for j in products:
            mask = held[:, j] == 0
            y = labels[mask, j]
            if y.sum() < self.min_positives or y.sum() == len(y):
                boosters.append(float(y.mean()) if len(y) else 0.0)
                continue
            rows = self._training_rows(np.flatnonzero(mask), labels[:, j], rng)
            data = self._dataset(X[rows], labels[rows, j])
            params = self._lgb_params({"objective": "binary"})
            boosters.append(lgb.train(params, data, num_boost_round=self.num_boost_round))
        return boosters

    def _training_rows(
        self, candidates: np.ndarray, y: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """All positives, and at most `negatives_per_positive` negatives each (seeded sample):
        rare products train on a fraction of the rows; calibration on the untouched fold
        restores the true rate."""
        if self.negatives_per_positive is None:
            return candidates
        positives = candidates[y[candidates] == 1]
        negatives = candidates[y[candidates] == 0]
        keep = int(np.ceil(self.negatives_per_positive * len(positives)))
        if keep >= len(negatives):
            return candidates
        sample = rng.choice(negatives, size=keep, replace=False)
        return np.sort(np.concatenate([positives, sample]))

    def fit(
        self,
        X: np.ndarray,
        held: np.ndarray,
        labels: np.ndarray,
        *,
        feature_names: Sequence[str],
        products: Sequence[str] | None = None,
        feature_schema: Mapping[str, Any] | None = None,
        progress: bool = False,
    ) -> ProductRanker:
        """Train on (n x F) features; calibrate on a seeded held-out fold of customers."""
        X = np.asarray(X, dtype=np.float32)
        if X.shape[1] != len(feature_names):
            raise ValueError(f"X has {X.shape[1]} columns but {len(feature_names)} feature_names")
        if held.shape != labels.shape or len(labels) != len(X):
            raise ValueError(f"held {held.shape} and labels {labels.shape} must match X {X.shape}")
        self.feature_names_ = list(feature_names)
        self.products_ = list(products or [f"p{j}" for j in range(labels.shape[1])])
        self.feature_schema_ = dict(feature_schema or _plain_schema(self.feature_names_))
        if self.calibration is None:
            self.boosters_ = self._train_boosters(X, held, labels)
            self.calibrators_ = [{"method": "identity"} for _ in self.products_]
            return self
        rng = np.random.default_rng(self.seed)
        cal = rng.random(len(X)) < self.calibration_fraction
        self.boosters_ = self._train_boosters(X[~cal], held[~cal], labels[~cal], progress=progress)
        raw = self.predict_raw(X[cal])
        self.calibrators_ = self._fit_calibrators(raw, held[cal], labels[cal])
        if self.refit_full:
            self.boosters_ = self._train_boosters(X, held, labels, progress=progress)
        return self

    def _fit_calibrators(
        self, raw: np.ndarray, held: np.ndarray, labels: np.ndarray
    ) -> list[dict[str, Any]]:
        method = str(self.calibration)
        if self.kind == MULTICLASS:
            # One shared monotone map keeps the within-customer product order intact.
            mask = held == 0
            shared = fit_calibrator(raw[mask], labels[mask], method=method)
            return [dict(shared) for _ in self.products_]
        out = []
        for j in range(raw.shape[1]):
            mask = held[:, j] == 0
            out.append(fit_calibrator(raw[mask, j], labels[mask, j], method=method))
        return out

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        """Uncalibrated booster outputs (probability scale), (n x P)."""
        X = np.asarray(X, dtype=np.float32)
        if self.kind == MULTICLASS:
            main = self._booster(0).predict(X, num_threads=self.num_threads)
            if len(self.boosters_) == 1:
                return np.asarray(main)
            gate = self._booster(1).predict(X, num_threads=self.num_threads)
            return np.asarray(main) * np.asarray(gate)[:, None]
        out = np.empty((len(X), len(self.boosters_)), dtype=np.float64)
        for j, b in enumerate(self.boosters_):
            out[:, j] = b if isinstance(b, float) else b.predict(X, num_threads=self.num_threads)
        return out

    def _booster(self, index: int) -> lgb.Booster:
        booster = self.boosters_[index]
        assert isinstance(booster, lgb.Booster)
        return booster

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability that each product is taken up, (n x P)."""
        return apply_all(self.calibrators_, self.predict_raw(X))

    def contributions(self, X: np.ndarray, product_index: int) -> np.ndarray:
        """LightGBM SHAP contributions for one product, (n x F+1), last column the bias.

        Multiclass with a gate: class-margin plus gate-margin contributions (log-odds units).
        """
        X = np.asarray(X, dtype=np.float32)
        F = X.shape[1]
        if self.kind == MULTICLASS:
            contrib = np.asarray(self._booster(0).predict(X, pred_contrib=True, num_threads=1))
            out = contrib[:, product_index * (F + 1) : (product_index + 1) * (F + 1)]
            if len(self.boosters_) > 1:
                out = out + np.asarray(
                    self._booster(1).predict(X, pred_contrib=True, num_threads=1)
                )
            return out
        b = self.boosters_[product_index]
        if isinstance(b, float):
            out = np.zeros((len(X), F + 1))
            out[:, -1] = np.log(max(b, 1e-12) / max(1 - b, 1e-12))
            return out
        return np.asarray(b.predict(X, pred_contrib=True, num_threads=1))

    def _artifact_names(self) -> list[str]:
        if self.kind == MULTICLASS:
            return MULTICLASS_FILES[: len(self.boosters_)]
        return [
            f"model_{j:02d}.txt" for j, b in enumerate(self.boosters_) if not isinstance(b, float)
        ]

    def save(self, directory: str | Path, *, extra: Mapping[str, Any] | None = None) -> Path:
        """Write LightGBM text, calibration.json and model.json (extra: dataset, metrics...)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        constants: dict[str, float] = {}
        for j, b in enumerate(self.boosters_):
            if isinstance(b, float):
                constants[self.products_[j]] = b
            else:
                name = MULTICLASS_FILES[j] if self.kind == MULTICLASS else f"model_{j:02d}.txt"
                b.save_model(str(out / name))
        cal = {"products": dict(zip(self.products_, self.calibrators_, strict=True))}
        (out / CALIBRATION).write_text(json.dumps(cal, indent=1), encoding="utf-8")
        descriptor = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "products": self.products_,
            "feature_schema": self.feature_schema_,
            "params": self.get_params(),
            "constant_products": constants,
            "calibration": CALIBRATION,
            "artifacts": [*self._artifact_names(), CALIBRATION],
            "dataset": {},
            "metrics": {},
            **{k: v for k, v in (extra or {}).items() if k not in _RESERVED},
        }
        (out / DESCRIPTOR).write_text(json.dumps(descriptor, indent=1), encoding="utf-8")
        return out

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters, JSON-able."""
        return {
            "kind": self.kind,
            "params": dict(self.params),
            "num_boost_round": self.num_boost_round,
            "calibration": self.calibration,
            "calibration_fraction": self.calibration_fraction,
            "refit_full": self.refit_full,
            "min_positives": self.min_positives,
            "categorical_features": list(self.categorical_features),
            "gate": self.gate,
            "negatives_per_positive": self.negatives_per_positive,
            "seed": self.seed,
            "deterministic": self.deterministic,
            "num_threads": self.num_threads,
        }

    @classmethod
    def load(cls, directory: str | Path, *, num_threads: int | None = None) -> ProductRanker:
        """Rebuild a ranker from a model directory (no pickle; boosters from text)."""
        d = Path(directory)
        desc = read_descriptor(d)
        params = dict(desc["params"])
        if num_threads is not None:
            params["num_threads"] = num_threads
        ranker = cls(**params)
        ranker.products_ = list(desc["products"])
        ranker.feature_schema_ = dict(desc["feature_schema"])
        ranker.feature_names_ = list(ranker.feature_schema_["names"])
        constants = desc.get("constant_products", {})
        boosters: list[lgb.Booster | float] = []
        if ranker.kind == MULTICLASS:
            for name in MULTICLASS_FILES[: 2 if ranker.gate else 1]:
                boosters.append(lgb.Booster(model_file=str(_need(d / name))))
        else:
            for j, pid in enumerate(ranker.products_):
                if pid in constants:
                    boosters.append(float(constants[pid]))
                else:
                    path = _need(d / f"model_{j:02d}.txt")
                    boosters.append(lgb.Booster(model_file=str(path)))
        ranker.boosters_ = boosters
        cal = json.loads(_need(d / CALIBRATION).read_text(encoding="utf-8"))
        ranker.calibrators_ = [cal["products"][p] for p in ranker.products_]
        return ranker


_RESERVED = {"format", "format_version", "kind", "products", "feature_schema", "artifacts"}


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ModelFormatError(f"model directory {path.parent} has no file {path.name!r}")
    return path


def _plain_schema(names: list[str]) -> dict[str, Any]:
    fingerprint = schema_fingerprint(names=names, categorical={})
    return {"names": names, "categorical": {}, "fingerprint": fingerprint}


def read_descriptor(directory: str | Path) -> dict[str, Any]:
    """Read and check model.json of a model directory."""
    path = _need(Path(directory) / DESCRIPTOR)
    desc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if desc.get("format") != FORMAT or desc.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: format {desc.get('format')!r} v{desc.get('format_version')!r} is not "
            f"{FORMAT!r} v{FORMAT_VERSION}"
        )
    return desc
