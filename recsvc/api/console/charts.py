"""Small inline SVG charts built on the server: no script, no asset from outside."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH, ROW, LEFT, RIGHT, TOP = 860, 26, 240, 84, 28
SOON_DAYS = 30


def maturity_timeline(
    holdings: Sequence[dict[str, Any]],
    *,
    today: dt.date,
    name: Callable[[str], str],
    today_label: str,
    matured_label: str = "matured",
) -> Markup | None:
    """One bar per holding with a maturity date, from today to that date, with its amount;
    soon ones in orange, matured ones (before today) flagged in red at the today line."""
    dated = sorted(
        (h for h in holdings if h.get("maturity_date")), key=lambda h: h["maturity_date"]
    )
    if not dated:
        return None
    end = max(max(h["maturity_date"] for h in dated), today + dt.timedelta(days=90))
    span = max((end - today).days, 1)
    plot = WIDTH - LEFT - RIGHT

    def x(day: dt.date) -> float:
        return LEFT + plot * min(max((day - today).days, 0), span) / span

    height = TOP + ROW * len(dated) + 10
    parts = [
        f'<svg class="timeline" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        _axis(today, end, x, height, today_label),
    ]
    for i, holding in enumerate(dated):
        parts.append(_bar(holding, TOP + i * ROW, today, x, name, matured_label))
    parts.append("</svg>")
    return Markup("".join(parts))


def _axis(
    today: dt.date, end: dt.date, x: Callable[[dt.date], float], height: int, today_label: str
) -> str:
    ticks = []
    month = dt.date(today.year, today.month, 1)
    step = max(1, ((end - today).days // 30) // 8 + 1)
    while month <= end:
        if month >= today:
            ticks.append(
                f'<line x1="{x(month):.1f}" y1="{TOP - 6}" x2="{x(month):.1f}" y2="{height - 8}" '
                f'class="grid"/><text x="{x(month):.1f}" y="{TOP - 10}" class="tick">'
                f"{month:%Y-%m}</text>"
            )
        for _ in range(step):
            month = (month + dt.timedelta(days=32)).replace(day=1)
    ticks.append(
        f'<line x1="{LEFT}" y1="{TOP - 6}" x2="{LEFT}" y2="{height - 8}" class="today"/>'
        f'<text x="{LEFT - 4}" y="{TOP - 10}" class="tick today-label" text-anchor="end">'
        f"{escape(today_label)}</text>"
    )
    return "".join(ticks)


def _bar(
    holding: dict[str, Any],
    y: int,
    today: dt.date,
    x: Callable[[dt.date], float],
    name: Callable[[str], str],
    matured_label: str,
) -> str:
    maturity: dt.date = holding["maturity_date"]
    days = (maturity - today).days
    matured = days < 0
    kind = " matured" if matured else " soon" if days <= SOON_DAYS else ""
    width = max(x(maturity) - x(today), 3)
    label = escape(name(holding["product_id"]))
    amount = f"{holding.get('amount') or 0:,.0f}"
    flag = f"{escape(matured_label)} " if matured else ""
    text = f"{flag}{maturity.isoformat()} · {amount}"
    return (
        f'<g class="holding{kind}" data-product="{escape(holding["product_id"])}">'
        f'<text x="{LEFT - 8}" y="{y + 15}" class="label" text-anchor="end">{label}</text>'
        f'<rect x="{LEFT}" y="{y + 4}" width="{width:.1f}" height="{ROW - 10}" '
        f'class="bar{kind}"><title>{label} {text}</title></rect>'
        f'<text x="{LEFT + width + 4:.1f}" y="{y + 15}" class="date">{text}</text></g>'
    )
