"""Model-card charts as base64 PNG strings, so the HTML report needs no external asset."""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

PRIMARY = "primary"
CHAMPION = "champion"
BASELINE = "baseline"
MODEL_KEY = "model"
_STYLE = {
    PRIMARY: {"color": "#1f5fa8", "linewidth": 2.6, "linestyle": "-"},
    CHAMPION: {"color": "#d9822b", "linewidth": 2.2, "linestyle": "--"},
}
_BASELINE_COLORS = ("#7f7f7f", "#8c6bb1", "#2ca25f", "#b15928", "#e7298a", "#666666")


@dataclass(frozen=True)
class Series:
    """One model's values on a chart; role decides the drawing style (model, champion, baseline)."""

    label: str
    role: str
    values: Sequence[float | None]
    x: Sequence[float | None] = ()


def _text(value: str) -> str:
    """Keep labels literal: '$' would start mathtext and a leading '_' hides a legend entry."""
    text = value.replace("$", r"\$")
    return " " + text if text.startswith("_") else text


def _styles(series: Sequence[Series]) -> list[dict[str, Any]]:
    """Model and champion stand out; baselines get thin distinct greys and muted colours."""
    out: list[dict[str, Any]] = []
    n_base = 0
    for s in series:
        if s.role in _STYLE:
            out.append(dict(_STYLE[s.role]))
        else:
            colour = _BASELINE_COLORS[n_base % len(_BASELINE_COLORS)]
            out.append({"color": colour, "linewidth": 1.3, "linestyle": ":"})
            n_base += 1
    return out


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def to_png_base64(fig: Figure) -> str:
    """Encode without a timestamp or version stamp so the same card renders the same bytes."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # DejaVu Sans lacks CJK glyphs; a missing glyph must not abort an offline report.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        fig.savefig(buf, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _finish(ax: Axes, *, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)


def gain_chart(series: Sequence[Series]) -> str:
    """Cumulative gain: how many adding customers the top x% by score reaches, against chance."""
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#bbbbbb", linewidth=1, label="random")
    for s, style in zip(series, _styles(series), strict=True):
        ax.plot(_floats(s.x), _floats(s.values), label=_text(s.label), **style)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _finish(
        ax,
        title="Cumulative gain",
        xlabel="share of customers contacted (by top score)",
        ylabel="share of adding customers reached",
    )
    return to_png_base64(fig)


def _grouped_bars(
    ax: Axes, series: Sequence[Series], *, n: int, horizontal: bool = False
) -> np.ndarray:
    """Side-by-side bars per category; missing values (None) simply leave a gap."""
    pos = np.arange(n, dtype=np.float64)
    width = 0.8 / max(len(series), 1)
    for i, (s, style) in enumerate(zip(series, _styles(series), strict=True)):
        offset = pos - 0.4 + width * (i + 0.5)
        vals = _floats(s.values)
        draw = ax.barh if horizontal else ax.bar
        draw(offset, np.nan_to_num(vals), width, label=_text(s.label), color=style["color"])
    return pos


def lift_chart(series: Sequence[Series]) -> str:
    """Lift per score decile: the adding rate in each tenth over the overall rate."""
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    pos = _grouped_bars(ax, series, n=10)
    ax.axhline(1.0, color="#444444", linewidth=1)
    ax.set_xticks(pos, [str(d + 1) for d in range(10)])
    _finish(ax, title="Lift by decile", xlabel="score decile (1 = highest)", ylabel="lift")
    return to_png_base64(fig)


def calibration_chart(series: Sequence[Series], counts: Sequence[Series]) -> str:
    """Reliability diagram over quantile bins (equal cell counts): observed rate against mean
    predicted probability, axes fitted to the data; below, each bin's cell count."""
    fig = Figure(figsize=(6.0, 5.4))
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1])
    values = [v for s in series for v in (*_floats(s.x), *_floats(s.values)) if np.isfinite(v)]
    edge = min(1.0, 1.1 * max(values)) if values and max(values) > 0 else 1.0
    top.plot([0, edge], [0, edge], color="#bbbbbb", linewidth=1, label="perfect")
    for s, style in zip(series, _styles(series), strict=True):
        top.plot(_floats(s.x), _floats(s.values), marker="o", label=_text(s.label), **style)
    top.set_xlim(0, edge)
    top.set_ylim(0, edge)
    _finish(
        top,
        title="Calibration (pooled over products, 10 equal-count bins)",
        xlabel="mean predicted probability",
        ylabel="observed rate",
    )
    n_bins = max((len(_floats(s.values)) for s in counts), default=0)
    width = 0.8 / max(len(counts), 1)
    for i, (s, style) in enumerate(zip(counts, _styles(counts), strict=True)):
        bars = np.maximum(_floats(s.values), 0.0)
        pos = np.arange(len(bars)) + 1 - 0.4 + width * (i + 0.5)
        bottom.bar(pos, bars, width, color=style["color"])
    bottom.set_xticks(np.arange(1, n_bins + 1))
    bottom.set_xlabel("bin (1 = lowest predicted)")
    bottom.set_ylabel("cells")
    bottom.grid(alpha=0.3)
    return to_png_base64(fig)


def auc_chart(products: Sequence[str], series: Sequence[Series]) -> str:
    """Per-product ROC AUC; products without positives on hold-out show no bar."""
    fig = Figure(figsize=(6.0, 1.2 + 0.32 * len(products) * max(len(series), 1)))
    ax = fig.add_subplot()
    pos = _grouped_bars(ax, series, n=len(products), horizontal=True)
    ax.axvline(0.5, color="#444444", linewidth=1)
    ax.set_yticks(pos, [_text(p) for p in products])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    _finish(ax, title="AUC per product", xlabel="ROC AUC (0.5 = chance)", ylabel="")
    return to_png_base64(fig)


def importance_chart(
    panels: Sequence[tuple[str, str, Sequence[str], Sequence[Series]]],
) -> str:
    """Top features per panel (title, x label, features, series), e.g. gain share and |SHAP|."""
    rows = max((len(p[2]) * max(len(p[3]), 1) for p in panels), default=1)
    fig = Figure(figsize=(11.0, 1.4 + 0.24 * rows))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, xlabel, features, series) in zip(axes, panels, strict=True):
        pos = _grouped_bars(ax, series, n=len(features), horizontal=True)
        ax.set_yticks(pos, [_text(f) for f in features])
        ax.invert_yaxis()
        _finish(ax, title=title, xlabel=xlabel, ylabel="")
    fig.subplots_adjust(wspace=0.6)
    return to_png_base64(fig)


def _lines(
    sections: Sequence[tuple[str, str, dict[str, Any]]], key: str, *, baselines: bool
) -> list[Series]:
    """One Series per model for a gain/lift-like section; baselines from the first model only."""
    out: list[Series] = []
    for i, (label, role, ev) in enumerate(sections):
        for name, data in ev.get(key, {}).items():
            if name == MODEL_KEY:
                out.append(_series(label, role, data))
            elif baselines and i == 0:
                out.append(_series(f"baseline: {name}", BASELINE, data))
    return out


def _series(label: str, role: str, data: Any) -> Series:
    if isinstance(data, dict):
        return Series(label, role, data["share_adders"], x=data["share_customers"])
    return Series(label, role, data)


def _importance_panel(
    sections: Sequence[tuple[str, str, dict[str, Any]]], key: str, *, share: bool
) -> tuple[list[str], list[Series]]:
    """Features from the first model's top list; other models' values looked up by name."""
    first = sections[0][2]["importance"][key]
    features = [row["feature"] for row in first["top"]]
    series = []
    for label, role, ev in sections:
        block = ev["importance"][key]
        total = block.get("total") or 0.0
        found = {row["feature"]: row["value"] for row in block["top"]}
        values = [found.get(f) for f in features]
        if share:
            values = [None if v is None or total <= 0 else v / total for v in values]
        series.append(Series(label, role, values))
    return features, series


def model_card_charts(
    sections: Sequence[tuple[str, str, dict[str, Any]]],
) -> list[tuple[str, str]]:
    """(caption, base64 PNG) per chart, in page order, for (label, role, evaluation) models."""
    charts = [
        ("Cumulative gain", gain_chart(_lines(sections, "gain", baselines=True))),
        ("Lift by score decile", lift_chart(_lines(sections, "lift", baselines=True))),
    ]
    pooled = [(label, role, ev["calibration"]["pooled"]) for label, role, ev in sections]
    reliability = [
        Series(label, role, c["observed_rate"], x=c["mean_predicted"]) for label, role, c in pooled
    ]
    counts = [Series(label, role, c["count"]) for label, role, c in pooled]
    charts.append(("Calibration", calibration_chart(reliability, counts)))
    products = list(dict.fromkeys(p for _, _, ev in sections for p in ev["products"]))
    aucs = [
        Series(label, role, [ev["per_product"].get(p, {}).get("auc") for p in products])
        for label, role, ev in sections
    ]
    charts.append(("AUC per product", auc_chart(products, aucs)))
    gain_features, gain_series = _importance_panel(sections, "gain", share=True)
    shap_features, shap_series = _importance_panel(sections, "mean_abs_shap", share=False)
    panels = (
        ("Split gain (top 20)", "share of total gain", gain_features, gain_series),
        ("Mean |SHAP| (top 20)", "mean |SHAP|", shap_features, shap_series),
    )
    charts.append(("Feature importance", importance_chart(panels)))
    return charts
