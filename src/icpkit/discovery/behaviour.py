"""Behavioural conditions in plain words: ``usage_integrations in [2, inf)`` → 'connect 2+
integrations in the first 30 days'. Used by the statement and the one-pager."""

from __future__ import annotations

import math

from icpkit.rules import Condition


def _n(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:.1f}"


def _span(lo: float, hi: float, unit: str) -> str:
    if math.isinf(lo) or lo <= 0:
        return f"under {_n(hi)}{unit}"
    if math.isinf(hi):
        return f"{_n(lo)}{unit}+"
    return f"{_n(lo)}–{_n(hi)}{unit}"


def behaviour_words(cond: Condition, plural: bool = False, early_days: int = 30) -> str | None:
    """The condition as a verb phrase (``plural``: 'use' instead of 'uses'), or None when it is
    not a behavioural range condition."""
    if not cond.attr.startswith("usage_") or cond.op != "range":
        return None
    lo, hi = (float(v) for v in cond.value)
    s = "" if plural else "s"
    attr = cond.attr
    if attr == "usage_breadth":
        return f"use{s} {_span(lo, hi, '')} key features"
    if attr == "usage_days_to_value":
        if math.isinf(lo) or lo <= 0:
            return f"reach{'es' if not plural else ''} first value within {_n(hi)} days"
        return f"take{s} {_span(lo, hi, '')} days to first value"
    if attr == "usage_integrations":
        return f"connect{s} {_span(lo, hi, '')} integrations in the first {early_days} days"
    if attr == "usage_active_users":
        return f"ha{'ve' if plural else 's'} {_span(lo, hi, '')} active users"
    if attr == "usage_seat_share":
        pct = _span(lo * 100, hi * 100, "%")
        return f"ha{'ve' if plural else 's'} {pct} of seats active"
    if attr == "usage_events_per_user":
        return f"log{s} {_span(lo, hi, '')} events per active user a month"
    if attr == "usage_active_days_per_week":
        return f"{'are' if plural else 'is'} active {_span(lo, hi, '')} days a week"
    if attr == "usage_trend":
        return f"show{s} a usage trend of {_span(lo, hi, '×')}"
    name = attr.removeprefix("usage_count_").replace("_", " ")
    return f"log{s} {_span(lo, hi, '')} {name} events"
