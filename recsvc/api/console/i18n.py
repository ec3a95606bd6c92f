"""Console labels in Chinese (default) and English: one table (recsvc/data/console.yaml) of
texts in every locale, looked up by key. A contact-plan trigger's label comes with the trigger
(contact_plan.yaml), through `trigger_label`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import yaml

from recsvc.config import PACKAGE_DATA
from recsvc.locales import LOCALES, Text

LANGS = LOCALES
DEFAULT_LANG = LOCALES[0]
LABELS_PATH = PACKAGE_DATA / "console.yaml"


def load_labels(path: Path = LABELS_PATH) -> Mapping[str, Text]:
    """key -> its text; a label without every locale refuses to load (ValueError naming it)."""
    out = {}
    for key, texts in yaml.safe_load(path.read_text("utf-8")).items():
        try:
            out[str(key)] = Text(texts)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path.name}: label {key!r}: {exc}") from exc
    return MappingProxyType(out)


LABELS = load_labels()


def label(key: str, lang: str) -> str:
    """The label in this language; the key itself if it has none (visible, never a crash); an
    unknown language is an error (the session only keeps one of LANGS)."""
    text = LABELS.get(key)
    return key if text is None else text.in_locale(lang)
