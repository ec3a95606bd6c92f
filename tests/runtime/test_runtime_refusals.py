"""A new version that will not verify, load or check is refused; the old model keeps serving."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_support import Polled

from recsvc.features.tabular import schema_fingerprint
from recsvc.models.registry import Registry
from recsvc.models.runtime import ModelRuntime
from recsvc.models.runtime_check import ModelCheckFailed, check_ranker, sample_features


def _tamper(registry: Registry, version: str, name: str = "calibration.json") -> None:
    path = registry.versions_dir / version / name
    path.parent.chmod(0o755)
    path.chmod(0o644)
    path.write_text(path.read_text() + " ")


def _edit_json(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def test_tampered_new_version_is_refused_and_the_old_one_serves(
    polled: Polled, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = polled.versions
    runtime = polled.serving()
    polled.registry.promote(second)
    _tamper(polled.registry, second)

    polled.clock.advance(1.0)
    with caplog.at_level(logging.WARNING, logger="recsvc.models.runtime"):
        loaded = runtime.current()

    assert loaded is not None and loaded.version == first
    error = runtime.status()["last_error"]
    assert error["type"] == "TamperedArtifact" and error["version"] == second
    assert "calibration.json" in error["message"]
    assert runtime.status()["alias_target"] == second
    assert any(getattr(r, "fields", {}).get("type") == "TamperedArtifact" for r in caplog.records)


Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def promote_edited(
    polled: Polled,
    model_dirs: tuple[Path, Path],
    copy_model: Callable[[Path, str], Path],
) -> Callable[[int, str, str, Edit], str]:
    """Promote a copy of model dir 0 or 1 with one JSON file edited, poll once, check that the
    runtime still serves the champion, and name the error that refused the copy."""

    def promote(which: int, name: str, file: str, edit: Edit) -> str:
        runtime = polled.make()
        runtime.current()
        edited = copy_model(model_dirs[which], name)
        _edit_json(edited / file, edit)
        polled.registry.promote(polled.registry.publish(edited))
        polled.clock.advance(1.0)
        assert runtime.current().version == polled.versions[0]  # type: ignore[union-attr]
        return str(runtime.status()["last_error"]["type"])

    return promote


def test_schema_mismatch_is_refused(promote_edited: Callable[[int, str, str, Edit], str]) -> None:
    def rename_first_feature(descriptor: dict[str, Any]) -> None:
        names = ["renamed", *descriptor["feature_schema"]["names"][1:]]
        fingerprint = schema_fingerprint(names=names, categorical={})
        schema = {"names": names, "categorical": {}, "fingerprint": fingerprint}
        descriptor["feature_schema"] = schema

    refused = promote_edited(1, "other_schema", "model.json", rename_first_feature)
    assert refused == "SchemaMismatch"


def test_model_failing_the_sample_check_is_refused(
    promote_edited: Callable[[int, str, str, Edit], str],
) -> None:
    def beyond_one(calibration: dict[str, Any]) -> None:
        for product in calibration["products"]:
            calibration["products"][product] = {
                "method": "piecewise_linear",
                "x": [0.0, 1.0],
                "y": [1.5, 2.0],
            }

    refused = promote_edited(0, "out_of_range", "calibration.json", beyond_one)
    assert refused == "ModelCheckFailed"


def test_failed_version_is_retried_only_after_backoff_or_alias_change(
    polled: Polled, model_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    second = polled.versions[1]
    runtime = polled.make(poll_seconds=1.0, retry_seconds=30.0)
    runtime.current()
    polled.registry.promote(second)
    _tamper(polled.registry, second)
    attempts: list[str] = []
    original = Registry.load_verified

    def counting(self: Registry, version: str, **kw: Any) -> Any:
        attempts.append(version)
        return original(self, version, **kw)

    monkeypatch.setattr(Registry, "load_verified", counting)

    for _ in range(10):
        polled.clock.advance(1.0)
        runtime.current()
    assert attempts == [second]

    polled.clock.advance(30.0)
    runtime.current()
    assert attempts == [second, second]

    third = polled.registry.publish(model_dirs[1])
    polled.registry.promote(third)
    polled.clock.advance(1.0)
    loaded = runtime.current()
    assert attempts == [second, second, third]
    assert loaded is not None and loaded.version == third
    assert runtime.status()["last_error"] is None


def test_fresh_worker_falls_back_to_the_previous_champion(
    make_runtime: Callable[..., ModelRuntime], registry: Registry, published: tuple[str, str]
) -> None:
    first, second = published
    registry.promote(second)
    _tamper(registry, second)

    runtime = make_runtime()
    loaded = runtime.current()

    assert loaded is not None and loaded.version == first
    assert runtime.status()["last_error"]["version"] == second


def test_nothing_verifies_means_no_model(
    make_runtime: Callable[..., ModelRuntime], registry: Registry, published: tuple[str, str]
) -> None:
    registry.promote(published[1])
    for version in published:
        _tamper(registry, version)
    runtime = make_runtime()

    assert runtime.current() is None
    assert runtime.status()["degraded"] is True
    name, ok, detail = runtime.readiness(require_model=True)
    assert (name, ok) == ("model", False) and "TamperedArtifact" in detail


def test_unset_alias_name_is_recorded_not_raised(
    make_runtime: Callable[..., ModelRuntime], published: tuple[str, str]
) -> None:
    runtime = make_runtime(alias="not-an-alias")

    assert runtime.current() is None
    assert runtime.status()["last_error"]["type"] == "UnknownVersion"


class _Stub:
    """Just enough of a ProductRanker (and of its one-row scorer) to feed check_ranker chosen
    outputs."""

    def __init__(self, scores: np.ndarray, *, n_features: int = 4) -> None:
        self.products_ = ["a", "b"]
        self.feature_names_ = [f"f{i}" for i in range(n_features)]
        self._scores = scores

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self._scores if len(X) == len(self._scores) else self._scores[: len(X)]

    def contributions(self, X: np.ndarray, product_index: int) -> np.ndarray:
        return np.zeros((len(X), len(self.feature_names_) + 1))


@pytest.mark.parametrize(
    ("scores", "match"),
    [
        (np.full((6, 2), np.nan), "not finite"),
        (np.full((6, 2), -0.1), "not finite"),
        (np.full((6, 3), 0.5), "shape"),
    ],
)
def test_check_ranker_refuses_bad_scores(scores: np.ndarray, match: str) -> None:
    with pytest.raises(ModelCheckFailed, match=match):
        stub = _Stub(scores)
        check_ranker(stub, stub, n_features=4)  # type: ignore[arg-type]


def test_check_ranker_accepts_probabilities_and_refuses_another_width() -> None:
    stub = _Stub(np.full((6, 2), 0.5))
    check_ranker(stub, stub, n_features=4)  # type: ignore[arg-type]
    wide = _Stub(np.full((6, 2), 0.5), n_features=5)
    with pytest.raises(ModelCheckFailed, match="expects 5 features"):
        check_ranker(wide, wide, n_features=4)  # type: ignore[arg-type]


def test_sample_is_fixed() -> None:
    one, two = sample_features(n_features=7), sample_features(n_features=7)

    np.testing.assert_array_equal(one, two)
    assert one.shape == (6, 7) and one.dtype == np.float32
    assert np.isnan(one[1]).all() and (one[0] == 0).all()


@pytest.mark.usefixtures("published")
def test_a_new_product_names_the_cause_in_readyz_and_the_log(
    make_runtime: Callable[..., ModelRuntime], featurizer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A product added to the catalogue adds its `held_` feature: the champion no longer fits,
    and the degraded worker says so instead of a bare "SchemaMismatch"."""
    from recsvc.features.customer import CustomerFeaturizer

    grown = CustomerFeaturizer(
        product_ids=[*featurizer.product_ids, "NEW_FUND"], bank=featurizer.bank
    )
    with caplog.at_level(logging.WARNING, logger="recsvc.models.runtime"):
        runtime = make_runtime(featurizer=grown)
        assert runtime.current() is None

    name, ok, detail = runtime.readiness()
    assert (name, ok) == ("model", True)
    assert detail.startswith("degraded, rules only: SchemaMismatch on ")
    assert "new features held_NEW_FUND" in detail and "retrain" in detail
    logged = [getattr(r, "fields", {}).get("message", "") for r in caplog.records]
    assert any("new features held_NEW_FUND" in m for m in logged)
