"""render_report / write_report: a self-contained, escaped page; compare mode; clear errors."""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from training.report import MissingEvaluation, collect_evaluation, render_report, write_report

N_CHARTS = 5  # gain, lift, calibration, AUC per product, feature importance
VOID = {"meta", "img", "br", "hr", "link", "input"}
EVIL = '<script>alert("x")</script>$\\frac{1}{0}$&amp;'


class _TagChecker(HTMLParser):
    """Fails on a closing tag that does not match the open one, so the page nests properly."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def _parse(page: str) -> _TagChecker:
    checker = _TagChecker()
    checker.feed(page)
    checker.close()
    assert checker.stack == [], f"unclosed tags {checker.stack}"
    return checker


@pytest.fixture(scope="session")
def single_page(candidate_json: dict[str, Any]) -> str:
    return render_report(candidate_json, source="var/models/2025-06-30")


@pytest.fixture(scope="session")
def compare_page(candidate_json: dict[str, Any], champion_json: dict[str, Any]) -> str:
    return render_report(
        candidate_json, compare=champion_json, source="cand_dir", compare_source="champ_dir"
    )


def test_report_page_is_well_formed_and_self_contained(single_page: str) -> None:
    assert single_page.startswith("<!DOCTYPE html>")
    tags = _parse(single_page).tags
    assert tags.count("img") == N_CHARTS
    assert single_page.count("<img") == N_CHARTS
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/]+=*"', single_page)) == N_CHARTS
    assert "http://" not in single_page and "https://" not in single_page
    assert "<script" not in single_page and "<link" not in single_page


def test_report_page_shows_header_and_every_headline_value(
    single_page: str, candidate_json: dict[str, Any]
) -> None:
    for text in ("var/models/2025-06-30", "multiclass-ranker", "synth-small", "a" * 64, "2025-06"):
        assert text in single_page
    for name, metrics in candidate_json["evaluation"]["headline"].items():
        assert f"baseline: {name}" in single_page or name == "model"
        for value in metrics.values():
            assert value is None or f"{value:.4f}" in single_page
    assert "window.from" in single_page  # the data summary, flattened


def test_report_best_value_per_metric_is_bold(
    single_page: str, candidate_json: dict[str, Any]
) -> None:
    headline = candidate_json["evaluation"]["headline"]
    best_map = max(m["map@7"] for m in headline.values())
    assert f"<b>{best_map:.4f} [" in single_page
    worst_map = min(m["map@7"] for m in headline.values())
    assert f"<b>{worst_map:.4f} [" not in single_page


def test_report_headline_shows_intervals_margins_and_plain_words(
    single_page: str, candidate_json: dict[str, Any]
) -> None:
    ev = candidate_json["evaluation"]
    iv = ev["intervals"]["model"]["map@7"]
    assert f"{iv['mean']:.4f} [{iv['low']:.4f}, {iv['high']:.4f}]" in single_page
    margin = ev["model_minus_baseline"]["popularity"]["map@7"]
    assert f"{margin['mean']:+.4f} [{margin['low']:+.4f}, {margin['high']:+.4f}]" in single_page
    assert "In plain words" in single_page and ev["verdict"]
    for line in ev["verdict"]:
        assert html.escape(line) in single_page
    # additions sit right beside the AUC they carry
    row = ev["per_product"]["credit_card"]
    assert (
        f"<td>{row['positives']}</td><td>{row['auc']:.4f} [{row['auc_low']:.4f}, "
        f"{row['auc_high']:.4f}]" in single_page
    )


def test_report_compare_shows_both_models_and_coloured_deltas(
    compare_page: str, candidate_json: dict[str, Any], champion_json: dict[str, Any]
) -> None:
    assert compare_page.count("<img") == N_CHARTS  # both models drawn on the same charts
    _parse(compare_page)
    for text in ("cand_dir", "champ_dir", "candidate", "champion", "Δ candidate − champion"):
        assert text in compare_page
    new = candidate_json["evaluation"]["headline"]["model"]["map@7"]
    old = champion_json["evaluation"]["headline"]["model"]["map@7"]
    assert f"{old:.4f}" in compare_page
    cls = "better" if new > old else "worse"
    assert f'<span class="{cls}">{new - old:+.4f}</span>' in compare_page
    assert "different data" not in compare_page


def test_report_compare_warns_when_hold_outs_differ(candidate_json: dict[str, Any]) -> None:
    other = copy.deepcopy(candidate_json)
    other["dataset"]["data_sha256"] = "b" * 64
    page = render_report(candidate_json, compare=other)
    assert "evaluated on different data" in page
    assert page.count('class="same"') == 6  # identical evaluations: every delta is zero


def test_report_escapes_every_string(candidate_json: dict[str, Any]) -> None:
    rng = np.random.default_rng(5)
    scores = rng.uniform(size=(40, 2))
    evaluation = collect_evaluation(
        products=[EVIL, "fund_plan"],
        y_true=(rng.uniform(size=(40, 2)) < scores).astype(int),
        scores=scores,
        baseline_scores={EVIL: scores[:, ::-1].copy()},
        held=None,
        importance_gain={EVIL: 2.0, "age": 1.0},
        mean_abs_shap={EVIL: 0.2},
        data_summary={EVIL: EVIL},
    )
    descriptor = copy.deepcopy(candidate_json) | {"evaluation": evaluation, "kind": EVIL}
    page = render_report(descriptor, source=EVIL)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&amp;amp;" in page  # an entity in the input is shown, not interpreted
    assert page.count("<img") == N_CHARTS
    _parse(page)


def test_report_write_report_writes_the_page(
    write_model_dir: Callable[[str, dict[str, Any]], Path],
    candidate_json: dict[str, Any],
    champion_json: dict[str, Any],
    tmp_path: Path,
) -> None:
    cand = write_model_dir("cand", candidate_json)
    champ = write_model_dir("champ", champion_json)
    out = write_report(cand, tmp_path / "out" / "card.html", compare_dir=champ)
    assert out == tmp_path / "out" / "card.html"
    page = out.read_text("utf-8")
    assert str(cand) in page and str(champ) in page
    assert page.count("<img") == N_CHARTS


@pytest.mark.parametrize("which", ["model", "compare"])
def test_report_missing_evaluation_names_the_file(
    which: str,
    write_model_dir: Callable[[str, dict[str, Any]], Path],
    candidate_json: dict[str, Any],
    tmp_path: Path,
) -> None:
    bare = {k: v for k, v in candidate_json.items() if k != "evaluation"}
    good = write_model_dir("good", candidate_json)
    old = write_model_dir("old", bare)
    model_dir, compare_dir = (old, good) if which == "model" else (good, old)
    with pytest.raises(MissingEvaluation, match=re.escape(str(old / "model.json"))):
        write_report(model_dir, tmp_path / "card.html", compare_dir=compare_dir)
    assert not (tmp_path / "card.html").exists()


def test_report_render_refuses_a_descriptor_without_evaluation(
    candidate_json: dict[str, Any],
) -> None:
    bare = {k: v for k, v in candidate_json.items() if k != "evaluation"}
    with pytest.raises(MissingEvaluation, match="compare: no 'evaluation' section"):
        render_report(candidate_json, compare=bare)
