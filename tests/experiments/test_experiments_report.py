"""The experiment report as a pure function over decisions and adoptions; the CLI's errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.cli import main
from training.experiment_report import experiment_report, render_html
from training.experiment_stats import METHOD, difference


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    decisions = pd.DataFrame(
        [("c1", "champion", "2026-11-01", "wealth_r2", True),
         ("c1", "champion", "2026-11-05", "", False),
         ("c2", "holdout", "2026-11-02", "", False),
         ("c3", "champion", "2026-11-03", "time_deposit", False),
         ("c4", "rules", "2026-11-01", "sms_alert", False)],
        columns=["customer_id", "arm", "day", "product_id", "accepted"],
    )  # fmt: skip
    adoptions = pd.DataFrame(
        [("c1", "wealth_r2", "2026-11-01", 300.0),  # the day of the pitch
         ("c2", "gov_bond", "2026-12-03", 200.0),  # 31 days after: outside the window
         ("c3", "large_cd", "2026-10-30", 500.0),  # before the first decision
         ("c3", "time_deposit", "2026-12-03", 100.0),  # exactly 30 days after: inside
         ("c4", "sms_alert", "2026-11-01", 5.0)],
        columns=["customer_id", "product_id", "day", "value"],
    )  # fmt: skip
    return decisions, adoptions


def test_counts_rates_and_the_attribution_window() -> None:
    report = experiment_report(*_tables(), window_days=30)
    assert report["method"] == METHOD
    assert (report["decisions_from"], report["decisions_to"]) == ("2026-11-01", "2026-11-05")
    champion = report["arms"]["champion"]
    assert {k: champion[k] for k in ("customers", "decisions", "pitches", "accepted",
                                     "acceptance_rate", "adopted", "adoption_rate",
                                     "adopted_pitched", "value_per_customer")} == {
        "customers": 2, "decisions": 3, "pitches": 2, "accepted": 1, "acceptance_rate": 0.5,
        "adopted": 2, "adoption_rate": 1.0, "adopted_pitched": 2, "value_per_customer": 200.0,
    }  # fmt: skip
    holdout = report["arms"]["holdout"]
    assert (holdout["customers"], holdout["adopted"], holdout["pitches"]) == (1, 0, 0)
    assert holdout["acceptance_rate"] is None and holdout["vs_holdout"] is None
    # too few customers for a bounded interval, but the estimate is there
    assert champion["vs_holdout"] == {"estimate": 1.0, "low": None, "high": None, "n": 2,
                                      "n_baseline": 1}  # fmt: skip
    assert champion["vs_rules"]["estimate"] == 0.0
    assert champion["value_vs_holdout"]["estimate"] == 200.0
    assert report["arms"]["rules"]["vs_rules"] is None
    narrower = experiment_report(*_tables(), window_days=29)["arms"]["champion"]
    assert (narrower["adopted"], narrower["value_per_customer"]) == (1, 150.0)


def test_the_arm_is_the_first_decisions_and_experiments_are_kept_apart() -> None:
    decisions, adoptions = _tables()
    decisions["experiment"] = ["e1", "e2", "e1", "e1", "e1"]
    report = experiment_report(decisions, adoptions, experiment="e2")
    assert report["experiment"] == "e2"
    assert list(report["arms"]) == ["champion"]
    assert report["arms"]["champion"]["decisions"] == 1
    assert experiment_report(decisions.iloc[:0], adoptions)["arms"] == {}


def test_the_intervals_are_the_sequential_ones_in_order_of_arrival() -> None:
    rng = np.random.default_rng(4)
    n = 600
    arm = np.where(rng.random(n) < 0.5, "champion", "holdout")
    adopted = rng.random(n) < np.where(arm == "champion", 0.3, 0.1)
    days = pd.Timestamp("2026-11-01") + pd.to_timedelta(np.sort(rng.integers(0, 20, n)), "D")
    ids = [f"c{i}" for i in range(n)]
    decisions = pd.DataFrame({"customer_id": ids, "arm": arm, "day": days, "product_id": "",
                              "accepted": False})  # fmt: skip
    adoptions = pd.DataFrame({"customer_id": np.array(ids)[adopted], "product_id": "x",
                              "day": days[adopted], "value": 10.0})  # fmt: skip
    report = experiment_report(decisions, adoptions)
    band = report["arms"]["champion"]["vs_holdout"]
    direct = difference(adopted[arm == "champion"].astype(float),
                        adopted[arm == "holdout"].astype(float)).as_json()  # fmt: skip
    assert band == direct and band["low"] > 0
    daily = [r for r in report["daily"] if r["arm"] == "champion"]
    assert daily[-1]["vs_holdout"] == band
    assert [r["customers"] for r in daily] == sorted(r["customers"] for r in daily)
    assert "<table" in render_html(report) and "Waudby-Smith" in render_html(report)


def test_cli_report_from_a_simulation_directory_and_errors(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:  # fmt: skip
    decisions, adoptions = _tables()
    pd.DataFrame({"request_id": "r", "customer_id": decisions["customer_id"], "day": 0,
                  "date": decisions["day"], "arm": decisions["arm"], "model_version": "",
                  "product_id": decisions["product_id"],
                  "outcome": np.where(decisions["accepted"], "accepted", "declined")}).to_csv(
        tmp_path / "decisions.csv", index=False)  # fmt: skip
    adoptions.rename(columns={"day": "date"}).to_csv(tmp_path / "adoptions.csv", index=False)
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    assert main(["experiment-report", "--simulation", str(tmp_path), "--out", str(out),
                 "--html", str(page)]) == 0  # fmt: skip
    assert json.loads(out.read_text())["arms"]["champion"]["accepted"] == 1
    assert page.read_text().startswith("<!doctype html>")
    assert main(["simulate", "--bank", str(tmp_path / "missing"), "--days", "1", "--seed", "1",
                 "--out", str(tmp_path / "o")]) == 2  # fmt: skip
    assert "manifest.json" in capsys.readouterr().err
    assert main(["simulate", "--bank", str(tmp_path), "--days", "1", "--seed", "1", "--out",
                 str(tmp_path / "o"), "--url", "http://127.0.0.1:9"]) == 2  # fmt: skip
    assert "--key" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--bank", str(tmp_path), "--days", "0", "--seed", "1", "--out", "o"])


@pytest.mark.parametrize(
    ("payload", "columns", "expected"),
    [
        ({"answer": {}}, {}, ("champion", None)),
        ({"experiment": {"id": "e7", "arm": "holdout"}, "answer": {}}, {}, ("holdout", "e7")),
        ({"answer": {"arm": "rules", "experiment_id": "e8"}}, {}, ("rules", "e8")),
        ({"answer": {"experiment": {"id": "e9", "arm": "challenger"}}}, {},
         ("challenger", "e9")),
        ({"answer": {"arm": "rules"}}, {"arm": "holdout", "experiment_id": "e1"},
         ("holdout", "e1")),
    ],
)  # fmt: skip
def test_the_store_adapter_finds_the_arm_wherever_the_service_records_it(
    payload: dict[str, object], columns: dict[str, object], expected: tuple[str, str | None]
) -> None:
    from training.experiment_report import _arm_and_experiment

    assert _arm_and_experiment(payload, columns) == expected
