"""A model directory may hold its model card (`training report --out DIR/model_card.html`):
`training publish` accepts it, records its hash like an artifact, and the version carries it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsvc.models.registry import (
    MANIFEST_NAME,
    InvalidModelDir,
    PickleRefused,
    Registry,
    TamperedArtifact,
)
from training.cli import main

CARD = "<!doctype html><html><body><h1>Model card</h1></body></html>"


def test_training_publish_accepts_a_model_dir_holding_its_card(
    model_dir: Path,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (model_dir / "model_card.html").write_text(CARD, encoding="utf-8")
    monkeypatch.setenv("RECSVC_REGISTRY_DIR", str(registry.root))
    assert main(["publish", "--model", str(model_dir), "--note", "with its card"]) == 0
    version = capsys.readouterr().out.strip().splitlines()[-1]
    published = registry.versions_dir / version
    assert (published / "model_card.html").read_text(encoding="utf-8") == CARD
    manifest = json.loads((published / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert "model_card.html" in manifest["artifacts"]
    assert registry.load_verified(version, expected_feature_fingerprint=None).version == version


def test_a_changed_card_is_caught_like_any_artifact(model_dir: Path, registry: Registry) -> None:
    (model_dir / "model_card.html").write_text(CARD, encoding="utf-8")
    version = registry.publish(model_dir)
    card = registry.versions_dir / version / "model_card.html"
    card.chmod(0o644)
    card.write_text(CARD.replace("Model", "Muddle"), encoding="utf-8")
    with pytest.raises(TamperedArtifact, match=r"model_card\.html"):
        registry.load_verified(version, expected_feature_fingerprint=None)


def test_other_extra_files_and_pickles_named_html_are_still_refused(
    model_dir: Path, registry: Registry
) -> None:
    (model_dir / "notes.md").write_text("hello", encoding="utf-8")
    with pytest.raises(InvalidModelDir, match=r"notes\.md"):
        registry.publish(model_dir)
    (model_dir / "notes.md").unlink()
    (model_dir / "card.html").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(PickleRefused):
        registry.publish(model_dir)
