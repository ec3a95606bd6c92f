"""The data scientist's page shows the experiment in force, the report per arm and a plot per
arm over time (issue 12)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from console_support import sign_in

from recsvc import create_app
from recsvc.api.extensions import extensions
from training.experiment_report import experiment_report

ARMS = ("champion", "challenger", "rules", "holdout")


def _report(path: Path) -> dict[str, Any]:
    rng = np.random.default_rng(4)
    start = dt.date(2026, 11, 1)
    rows, adopted = [], []
    for i in range(800):
        arm = ARMS[i % 4]
        day = start + dt.timedelta(days=int(rng.integers(10)))
        rows.append((f"C{i:05d}", arm, day.isoformat(), "" if arm == "holdout" else "p1", False))
        if rng.random() < (0.05 if arm == "holdout" else 0.12):
            adopted.append((f"C{i:05d}", "p1", (day + dt.timedelta(days=3)).isoformat(), 10.0))
    decisions = pd.DataFrame(rows, columns=["customer_id", "arm", "day", "product_id",
                                            "accepted"])  # fmt: skip
    adoptions = pd.DataFrame(adopted, columns=["customer_id", "product_id", "day", "value"])
    report = experiment_report(decisions, adoptions)
    path.write_text(json.dumps(report), encoding="utf-8")
    return report


def test_the_models_page_shows_the_design_the_report_per_arm_and_a_plot_per_arm(
    env: Any, tmp_path: Path
) -> None:
    report = _report(tmp_path / "report.json")
    settings = dataclasses.replace(env.settings, experiment_report_path=tmp_path / "report.json")
    app = create_app({"SETTINGS": settings, "TESTING": True})
    client = app.test_client()
    split = {"champion": 80, "challenger": 10, "rules": 5, "holdout": 5}
    put = client.put("/v1/experiment", json={"split": split, "note": "winter"},
                     headers=env.headers("data_scientist"))  # fmt: skip
    experiment_id = put.get_json()["experiment_id"]
    sign_in(client, env.key("data_scientist"))
    page = client.get("/console/models?lang=en").get_data(as_text=True)
    assert f'<code id="experiment-id">{experiment_id}</code>' in page
    assert "champion 80%" in page and "holdout 5%" in page
    for arm in ARMS:
        row = page.split(f'<tr data-arm="{arm}">')[1].split("</tr>")[0]
        entry = report["arms"][arm]
        assert f">{entry['customers']}<" in row
        assert f"{entry['adoption_rate']:.4f}" in row
        if arm != "holdout":
            assert f"{entry['vs_holdout']['estimate']:+.4f}" in row
            assert f'<svg class="arm-chart" data-arm="{arm}"' in page
    assert 'data-arm="holdout" role="img"' not in page  # no plot of holdout against itself
    assert report["method"].split(" (")[0] in page
    extensions(app).services.engine.dispose()


def test_without_a_report_the_page_says_so(env: Any, service_client: Any) -> None:
    sign_in(service_client, env.key("data_scientist"))
    page = service_client.get("/console/models?lang=en").get_data(as_text=True)
    assert "No experiment set" in page and "No experiment report yet" in page
