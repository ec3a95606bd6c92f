"""The ranking model inside a serving worker: loaded lazily after fork, swapped when an alias moves.

Readers never lock: the current LoadedModel sits behind one attribute and is replaced by a
single assignment. A lock serialises only the poll-and-reload step. Nothing is loaded at import
or in the constructor: LightGBM's OpenMP threads must not exist in a process that later forks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from recsvc.models.registry import ALIASES, AliasState, Registry
from recsvc.models.runtime_check import check_ranker

if TYPE_CHECKING:
    from recsvc.features.customer import CustomerFeaturizer
    from recsvc.models.fastpath import OneRowScorer
    from recsvc.models.ranker import ProductRanker

logger = logging.getLogger(__name__)

FALLBACK_DEPTH = 3  # previous champions a fresh worker tries when the champion will not load
_MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class LoadedModel:
    """One verified, checked model; never mutated, so a request can hold it across calls."""

    version: str
    model_hash: str
    ranker: ProductRanker
    products: tuple[str, ...]
    product_index: Mapping[str, int]
    loaded_at: str
    alias_revision: int
    one_row: OneRowScorer  # the ranker's single-row path, built at load (recsvc.models.fastpath)
    # trained with the decision-history features after the customer's (featurizer.history):
    # only such a model makes the caller read the customer's pitches from the store
    history: bool = False

    @property
    def n_features(self) -> int:
        return len(self.ranker.feature_names_)


def model_hash(manifest: Mapping[str, Any]) -> str:
    """sha256 over the recorded artifact hashes: the same files give the same hash, any version."""
    artifacts = manifest.get("artifacts", {})
    canonical = {name: artifacts[name].get("sha256") for name in sorted(artifacts)}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def score(loaded: LoadedModel, X: np.ndarray) -> np.ndarray:
    """Calibrated probabilities (n x P) from one model snapshot, one thread."""
    X = _check_rows(loaded, X)
    return np.asarray((loaded.one_row if len(X) == 1 else loaded.ranker).predict_proba(X))


def contributions(loaded: LoadedModel, X: np.ndarray, product_id: str) -> np.ndarray:
    """Per-feature contributions (n x F+1, last column the bias) to one product's score."""
    if product_id not in loaded.product_index:
        raise ValueError(f"product {product_id!r} is not scored by model {loaded.version}")
    index = loaded.product_index[product_id]
    X = _check_rows(loaded, X)
    return np.asarray((loaded.one_row if len(X) == 1 else loaded.ranker).contributions(X, index))


def _check_rows(loaded: LoadedModel, X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != loaded.n_features:
        raise ValueError(
            f"X has shape {X.shape}, model {loaded.version} expects (n, {loaded.n_features})"
        )
    return X


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _error_record(exc: BaseException, version: str | None) -> dict[str, Any]:
    message = str(exc).splitlines()[0] if str(exc) else ""
    return {
        "type": type(exc).__name__,
        "message": message[:_MESSAGE_LIMIT],
        "version": version,
        "at": _utc_now(),
    }


class ModelRuntime:
    """Serves the model an alias points at; follows promote/rollback within `poll_seconds`."""

    def __init__(
        self,
        registry_root: Path,
        *,
        featurizer: CustomerFeaturizer,
        alias: str = "champion",
        poll_seconds: float = 1.0,
        retry_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_serving: Callable[[str | None], None] | None = None,
    ) -> None:
        self.registry_root = Path(registry_root)
        self.featurizer = featurizer
        self.alias = alias
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.on_serving = on_serving  # told the version served (None: rules only) on a change
        self._model: LoadedModel | None = None
        self._reload_lock = threading.Lock()
        self._next_poll = float("-inf")
        self._seen: AliasState | None = None
        self._target: str | None = None
        self._failed: tuple[str, int, float] | None = None  # version, revision, retry at
        self._last_error: dict[str, Any] | None = None
        self._registry_error: dict[str, Any] | None = None  # the registry could not be read
        self._background = False

    # ---------------------------------------------------------------- request path

    def current(self) -> LoadedModel | None:
        """The model to score with, or None (serve rules only, degraded); polls when due."""
        if self.clock() >= self._next_poll:
            self._poll()
        return self._model

    def score(self, loaded: LoadedModel, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (n x P); pass the LoadedModel got from `current()` once."""
        return score(loaded, X)

    def contributions(self, loaded: LoadedModel, X: np.ndarray, product_id: str) -> np.ndarray:
        """Per-feature contributions (n x F+1) to one product's score, same snapshot as scores."""
        return contributions(loaded, X, product_id)

    # ---------------------------------------------------------------- probes

    def status(self) -> dict[str, Any]:
        """What this worker serves and why, for /readyz and /v1/models; never loads anything."""
        model, seen = self._model, self._seen
        return {
            "alias": self.alias,
            "version": model.version if model else None,
            "model_hash": model.model_hash if model else None,
            "loaded_at": model.loaded_at if model else None,
            "products": len(model.products) if model else 0,
            "alias_target": self._target,
            "alias_revision_seen": seen.revision if seen else None,
            "degraded": model is None,
            "last_error": dict(self._last_error) if self._last_error else None,
            "registry_error": dict(self._registry_error) if self._registry_error else None,
        }

    def readiness(self, *, require_model: bool = False) -> tuple[str, bool, str]:
        """A readiness check: rules-only is a working (degraded) mode unless a model is required;
        an unreadable registry is reported, and not ready only while no model is loaded."""
        model = self.current()
        registry = self._registry_error
        unreadable = f"registry unavailable: {registry['message']}" if registry else ""
        if model is not None:
            serving = f"{model.version} ({model.model_hash[:12]})"
            return "model", True, f"{serving}; {unreadable}, serving it" if registry else serving
        if registry:
            return "model", False, f"no model loaded, {unreadable}"
        error = self._last_error
        reason = f"{error['type']} on {error['version']}" if error else "no published model"
        if error and error["type"] == "SchemaMismatch":  # name the cause (a catalogue change?)
            reason = f"{reason}: {error['message']}"
        return "model", not require_model, f"degraded, rules only: {reason}"

    # ---------------------------------------------------------------- reload path (locked)

    def reload_in_background(self) -> None:
        """From now on, once a model is loaded, a poll that finds a new one loads it on a
        thread of its own while requests keep the current one (a serving worker, after fork:
        a load takes ~0.5 s, and a request that did it itself stalled every request queued
        behind it). Without this, the poll runs in the caller, as tests and batch jobs want."""
        self._background = True

    def _poll(self) -> None:
        # Block only while nothing is loaded yet; otherwise serve the old model meanwhile.
        if not self._reload_lock.acquire(blocking=self._model is None):
            return
        handed_over = False
        try:
            now = self.clock()
            if now >= self._next_poll:
                self._next_poll = now + self.poll_seconds
                if self._background and self._model is not None:
                    thread = threading.Thread(
                        target=self._refresh_and_release, args=(now,), name="model-reload",
                        daemon=True,
                    )  # fmt: skip
                    thread.start()
                    handed_over = True  # the thread releases the lock
                else:
                    self._refresh(now)
        finally:
            if not handed_over:
                self._reload_lock.release()

    def _refresh_and_release(self, now: float) -> None:
        try:
            self._refresh(now)
        except Exception:  # a reload must never take the worker down; keep the current model
            logger.exception("model reload failed; serving the previous model")
        finally:
            self._reload_lock.release()

    def _refresh(self, now: float) -> None:
        registry = Registry(self.registry_root)
        try:
            state = registry.alias_state()
        except Exception as exc:  # a missing/unreadable registry: keep the model, say so
            self._registry_unavailable(exc)
            return
        if self._registry_error is not None:
            logger.info("model registry readable again", extra={"fields": {"alias": self.alias}})
            self._registry_error = None
        self._seen = state
        target = getattr(state, self.alias) if self.alias in ALIASES else self.alias
        self._target = target
        loaded = self._model
        if target is None:
            if loaded is not None:
                logger.info("model alias unset", extra={"fields": {"alias": self.alias}})
            self._serve(None)
            return
        if loaded is not None and loaded.version == target:
            self._failed, self._last_error = None, None
            return
        if self._failed is not None:
            version, revision, retry_at = self._failed
            if version == target and revision == state.revision and now < retry_at:
                return
        self._load_first_good(registry, state, target, now)

    def _candidates(self, state: AliasState, target: str) -> list[str]:
        """The target, then (for a worker with nothing loaded) the champions before it."""
        if self._model is not None or self.alias != "champion":
            return [target]
        history = [v for v in reversed(state.champion_history) if v != target]
        return [target, *history[:FALLBACK_DEPTH]]

    def _load_first_good(
        self, registry: Registry, state: AliasState, target: str, now: float
    ) -> None:
        for version in self._candidates(state, target):
            try:
                model = self._load(registry, version, revision=state.revision)
            except Exception as exc:  # any failure: keep serving what we have
                if version == target:
                    self._record_failure(exc, version=version, revision=state.revision, now=now)
                else:
                    logger.warning(
                        "fallback model refused",
                        extra={"fields": _error_record(exc, version)},
                    )
                continue
            self._serve(model)
            if version == target:
                self._failed, self._last_error = None, None
            logger.info(
                "model loaded",
                extra={
                    "fields": {
                        "version": model.version,
                        "model_hash": model.model_hash,
                        "alias": self.alias,
                        "alias_revision": state.revision,
                        "fallback": version != target,
                    }
                },
            )
            return
        if self._model is None:
            self._serve(None)  # nothing loadable: this worker serves the rules alone

    def _serve(self, model: LoadedModel | None) -> None:
        self._model = model
        if self.on_serving is not None:
            self.on_serving(model.version if model else None)

    def _load(self, registry: Registry, version: str, *, revision: int) -> LoadedModel:
        from recsvc.models.fastpath import one_row_scorer  # LightGBM only after fork
        from recsvc.models.ranker import ProductRanker

        schema = self.featurizer.feature_schema()
        history = self.featurizer.history
        trained = registry.manifest(version).get("feature_schema", {}).get("names")
        uses_history = history is not None and trained == [*schema["names"], *history.names]
        if uses_history:
            assert history is not None
            schema = history.schema_after(schema["names"])
        verified = registry.load_verified(
            version,
            expected_feature_fingerprint=schema["fingerprint"],
            expected_feature_names=schema["names"],
        )
        ranker = ProductRanker.load(verified.path, num_threads=1)
        one_row = one_row_scorer(ranker)  # every request's one-row path, built once, here
        check_ranker(ranker, one_row, n_features=len(schema["names"]))
        products = tuple(ranker.products_)
        return LoadedModel(
            version=verified.version,
            model_hash=model_hash(verified.manifest),
            ranker=ranker,
            products=products,
            product_index=MappingProxyType({p: j for j, p in enumerate(products)}),
            loaded_at=_utc_now(),
            alias_revision=revision,
            one_row=one_row,
            history=uses_history,
        )

    def _registry_unavailable(self, exc: BaseException) -> None:
        """Not "no champion": the loaded model stays; logged when the error first appears."""
        record = _error_record(exc, None)
        previous = self._registry_error
        self._registry_error = record
        if previous is None or previous["message"] != record["message"]:
            logger.error(
                "model registry unavailable; keeping the loaded model",
                extra={
                    "fields": {
                        **record,
                        "alias": self.alias,
                        "serving": self._model.version if self._model else None,
                    }
                },
            )

    def _record_failure(
        self, exc: BaseException, *, version: str | None, revision: int, now: float
    ) -> None:
        record = _error_record(exc, version)
        self._last_error = record
        if version is not None:
            self._failed = (version, revision, now + self.retry_seconds)
        logger.warning(
            "model load refused; serving the previous model",
            extra={"fields": {**record, "alias": self.alias, "alias_revision": revision}},
        )
