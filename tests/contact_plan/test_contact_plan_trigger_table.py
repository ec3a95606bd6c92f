"""Issue 15: contact_plan.yaml's triggers and the detector table agree, or loading refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from recsvc.service.contact_plan import DEFAULT_CONFIG
from recsvc.service.contact_triggers import (
    DETECTORS,
    KEY_DATE,
    TRIGGER_CODES,
    ContactPlanConfigError,
    load_contact_plan_config,
)


def written(tmp_path: Path, change: Any) -> Path:
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text("utf-8"))
    change(raw)
    path = tmp_path / "contact_plan.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def test_the_shipped_config_orders_the_triggers_as_before() -> None:
    config = load_contact_plan_config(DEFAULT_CONFIG)
    assert config.codes == TRIGGER_CODES
    assert all(code in config.codes for code in DETECTORS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["triggers"].pop(KEY_DATE), "triggers lacks \\['KEY_DATE'\\]"),
        (
            lambda raw: raw["triggers"].__setitem__("NOPE", raw["triggers"][KEY_DATE]),
            "triggers.NOPE: no detector is registered",
        ),
        (lambda raw: raw["triggers"][KEY_DATE].pop("window_days"), "KEY_DATE needs window_days"),
        (
            lambda raw: raw["triggers"]["HIGH_PROPENSITY"].pop("threshold"),
            "HIGH_PROPENSITY needs threshold",
        ),
        (lambda raw: raw["triggers"][KEY_DATE]["label"].pop("en"), "label"),
        (lambda raw: raw["texts"].pop("REASSIGN"), "texts needs SUGGESTION and REASSIGN"),
    ],
)
def test_loading_refuses_a_trigger_table_out_of_step(
    tmp_path: Path, change: Any, message: str
) -> None:
    with pytest.raises(ContactPlanConfigError, match=message):
        load_contact_plan_config(written(tmp_path, change))
