"""ISO weeks as the contact plan names them: `2026-W48`."""

from __future__ import annotations

import datetime as dt
import re

_WEEK = re.compile(r"\A([0-9]{4})-W([0-9]{2})\Z")  # ASCII digits, no trailing newline


def week_start(week: str) -> dt.date:
    """Monday of an ISO week written YYYY-Www; ValueError names a bad week."""
    match = _WEEK.match(week)
    try:
        if match is None:
            raise ValueError
        return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(f"week must be an ISO week like 2026-W48, got {week!r}") from None


def week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
