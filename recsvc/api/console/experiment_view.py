"""The experiment on the data scientist's page: the design in force, the report per arm (the
JSON `python -m training experiment-report --out` writes, at RECSVC_EXPERIMENT_REPORT) and a
plot per arm over time, drawn on the server as inline SVG (no script, nothing from outside).

recsvc never imports training: the report is read as the file the training side wrote.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

logger = logging.getLogger(__name__)

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 420, 170, 52, 12, 14, 26


def read_report(path: Path | None) -> dict[str, Any] | None:
    """The report, or None when there is none (or it cannot be read: logged, not a 500)."""
    if path is None or not path.is_file():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning(
            "experiment report unreadable", extra={"fields": {"type": type(exc).__name__}}
        )
        return None
    return report if isinstance(report, dict) and isinstance(report.get("arms"), dict) else None


def band_text(entry: Any) -> str:
    """`+0.0123 [-0.0040, +0.0286]`, `+0.0123 (unbounded)` or `–`."""
    if not isinstance(entry, dict) or entry.get("estimate") is None:
        return "–"
    low, high = entry.get("low"), entry.get("high")
    if low is None or high is None:
        return f"{entry['estimate']:+.4f} (unbounded)"
    return f"{entry['estimate']:+.4f} [{low:+.4f}, {high:+.4f}]"


def arm_charts(report: dict[str, Any]) -> dict[str, Markup]:
    """Per arm (not holdout): its difference from holdout day by day, with the band."""
    daily = [r for r in report.get("daily") or [] if isinstance(r, dict)]
    out: dict[str, Markup] = {}
    for arm in sorted({str(r.get("arm")) for r in daily}):
        points = [
            (str(r["day"]), r["vs_holdout"]) for r in daily
            if r.get("arm") == arm and isinstance(r.get("vs_holdout"), dict)
            and r["vs_holdout"].get("estimate") is not None
        ]  # fmt: skip
        if points:
            out[arm] = _chart(arm, points)
    return out


def _chart(arm: str, points: list[tuple[str, dict[str, Any]]]) -> Markup:
    values = [p["estimate"] for _, p in points]
    values += [p[k] for _, p in points for k in ("low", "high") if p.get(k) is not None]
    lo, hi = min(min(values), 0.0), max(max(values), 0.0)
    if hi - lo < 1e-9:
        hi = lo + 0.01
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(points)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (hi - v) / (hi - lo)

    bounded = [(i, p) for i, (_, p) in enumerate(points) if p.get("low") is not None]
    parts = [
        f'<svg class="arm-chart" data-arm="{escape(arm)}" role="img" viewBox="0 0 {WIDTH} '
        f'{HEIGHT}" width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(arm)}</title>",
    ]
    if bounded:
        upper = " ".join(f"{x(i):.1f},{y(p['high']):.1f}" for i, p in bounded)
        lower = " ".join(f"{x(i):.1f},{y(p['low']):.1f}" for i, p in reversed(bounded))
        parts.append(f'<polygon class="band" points="{upper} {lower}" fill="#cfe3f7"/>')
    zero = y(0.0)
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}" '
                 'stroke="#888" stroke-dasharray="4 3"/>')  # fmt: skip
    line = " ".join(f"{x(i):.1f},{y(p['estimate']):.1f}" for i, (_, p) in enumerate(points))
    parts.append(f'<polyline class="estimate" points="{line}" fill="none" stroke="#1f5fa8" '
                 'stroke-width="2"/>')  # fmt: skip
    for v in (hi, 0.0, lo):
        parts.append(f'<text x="{LEFT - 4}" y="{y(v) + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{v:+.3f}</text>')  # fmt: skip
    for i in sorted({0, n - 1}):
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" font-size="10" '
                     f'text-anchor="middle">{escape(points[i][0])}</text>')  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))
