"""`python -m training what-if`: the report as JSON and a readable, escaped page; a bad or
illegal overlay is one line on stderr and exit 2, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apptesting import ServiceEnv
from whatif_support import AS_OF, row_counts

from recsvc.service.wiring import Services
from training.cli import main

OVERLAY = """\
note: "<script>alert(1)</script> double the card"
service:
  arbitration:
    product_weights: {credit_card: 2.0}
"""


@pytest.fixture
def in_env(module_env: ServiceEnv, monkeypatch: pytest.MonkeyPatch) -> ServiceEnv:
    monkeypatch.setenv("DATABASE_URL", module_env.settings.database_url)
    monkeypatch.setenv("RECSVC_REGISTRY_DIR", str(module_env.settings.registry_dir))
    return module_env


def what_if(tmp_path: Path, overlay: str, *more: str) -> int:
    (tmp_path / "overlay.yaml").write_text(overlay, encoding="utf-8")
    return main(["what-if", "--sample", "300", "--seed", "2", "--as-of", AS_OF.isoformat(),
                 "--overlay", str(tmp_path / "overlay.yaml"),
                 "--out", str(tmp_path / "r.json"), *more])  # fmt: skip


def test_the_command_writes_the_report_and_an_escaped_page(
    in_env: ServiceEnv, services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = row_counts(services)
    assert what_if(tmp_path, OVERLAY, "--html", str(tmp_path / "r.html")) == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["sample"] == {"asked": 300, "seed": 2, "customers": 300}
    assert report["as_of"] == AS_OF.isoformat()
    assert report["overlay"]["service"]["arbitration"]["product_weights"] == {"credit_card": 2.0}
    assert report["changed"]["customers"] > 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="mix"' in page and 'id="examples"' in page
    assert report["changed"]["examples"][0]["customer_id"] in page
    assert "300 customers: pitch rate" in capsys.readouterr().out
    assert row_counts(services) == counts


@pytest.mark.parametrize(
    ("overlay", "named"),
    [("rules: {age: {minor_below: 16}}", "AGE_MINOR"),
     ("rules: {assessment: {unassessed_max_risk: R2}}", "ASSESSMENT_MISSING"),
     ("service: {arbitration: {product_weights: {credit_card: two}}}",
      "service.arbitration.product_weights.credit_card"),
     ("rulez: {}", "rulez")],
)  # fmt: skip
def test_a_bad_or_illegal_overlay_is_one_line_and_exit_2(
    in_env: ServiceEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str], overlay: str,
    named: str,
) -> None:  # fmt: skip
    assert what_if(tmp_path, overlay) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error") and named in err
    assert not (tmp_path / "r.json").exists()


def test_a_missing_overlay_file_is_one_line_and_exit_2(
    in_env: ServiceEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["what-if", "--sample", "5", "--overlay", str(tmp_path / "none.yaml"),
                 "--out", str(tmp_path / "r.json")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none.yaml" in err
