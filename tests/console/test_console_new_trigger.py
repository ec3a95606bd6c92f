"""Issue 15: a new profile trigger of the weekly contact plan is one contact_plan.yaml entry and
one detector registered in contact_triggers.DETECTORS; nothing else is touched, and it reaches the
plan (priority, talking point) and the console (its label, the trigger filter)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from console_support import MANAGER, sign_in

from recsvc import create_app
from recsvc.customers import Customer
from recsvc.service.answers import Caller
from recsvc.service.contact_plan import DEFAULT_CONFIG, build_planner
from recsvc.service.contact_triggers import DETECTORS, Found, OnDay, TriggerSpec
from recsvc.service.weeks import week_of

CODE = "LARGE_BALANCE"
ENTRY = {  # the one YAML entry
    "weight": 30,
    "threshold": 100_000,
    "label": {"zh-CN": "大额资产客户", "en": "Large balance"},
    "text": {"zh-CN": "客户资产较多，可沟通资产配置", "en": "A large balance: discuss allocation"},
}


def large_balance(customer: Customer, on: OnDay, spec: TriggerSpec) -> Found | None:
    """The one detector: assets under management at least the threshold."""
    assert spec.threshold is not None
    return Found(spec.code) if customer.aum >= spec.threshold else None


@pytest.fixture
def with_new_trigger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(DETECTORS, CODE, (large_balance, ("threshold",)))  # the one registration
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text("utf-8"))
    raw["triggers"][CODE] = ENTRY
    path = tmp_path / "contact_plan.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def test_a_new_trigger_reaches_the_plan_and_the_console(env: Any, with_new_trigger: Path) -> None:
    settings = dataclasses.replace(env.settings, contact_plan_config_path=with_new_trigger)
    app = create_app({"SETTINGS": settings, "TESTING": True})
    service = app.extensions["recsvc"].service
    week = week_of(service.today())
    planner = build_planner(settings, config_path=with_new_trigger)
    planner.plan_week(week, chunk_size=1000)
    planner.engine.dispose()

    plan = service.contact_plan(Caller(role="admin"), MANAGER, week)
    hits = [e for e in plan if CODE in e["triggers"]]
    assert hits, "the new trigger fired for none of the manager's customers"
    assert all(e["triggers"][-1] == CODE for e in hits)  # last in the YAML: least urgent
    assert any({"code": CODE, **ENTRY["text"]} in e["talking_points"] for e in hits)

    client = app.test_client()
    sign_in(client, env.key("manager", staff_id="M310", manager_id=MANAGER))
    page = client.get("/console/plan").get_data(as_text=True)
    assert f'<option value="{CODE}"' in page and "大额资产客户" in page
    filtered = client.get(f"/console/plan?trigger={CODE}").get_data(as_text=True)
    shown = re.findall(r'<tr id="entry-\w+" data-triggers="([^"]*)"', filtered)
    assert shown and all(CODE in t.split() for t in shown)
    english = client.get(f"/console/plan?trigger={CODE}&lang=en").get_data(as_text=True)
    assert "Large balance" in english
