"""The report's charts, drawn straight to SVG by :mod:`icpkit.report.svg` (no plotting library).

Chart data come only from stored results: the single-trait profiles (share of each level among the
best customers and among the rest), the tiers (counts and success rates) and the backtest's gains
table. A chart whose data the profile lacks is simply not declared. One accent colour against a
neutral grey, labelled axes, system fonts, sized to stay legible when printed at half a page width.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from icpkit.errors import IcpError
from icpkit.profile import IcpProfile, ValidationSection
from icpkit.report import formatting as fmt
from icpkit.report.svg import ACCENT, NEUTRAL, Bar, column_bars, gains_line, grouped_bars
from icpkit.report.tables_view import backtest_win_rates
from icpkit.report.view import Chart
from icpkit.rules import Condition, parse_condition

WIDTH, HEIGHT = 250, 112  # plot area in px; the SVG adds axes and legend around it
TOP_LEVELS = 6  # a small chart stays readable with at most this many bars per group
BEST, REST = "best customers", "all other customers"
SIZE_ATTRIBUTES = ("employees", "annual_revenue")
GEO_ATTRIBUTES = ("country", "region")
_INTERVAL = re.compile(r"\[\s*(-?[\d.e+]+|-inf)\s*,\s*(-?[\d.e+]+|inf)\s*\)")


def trait_shares(profile: IcpProfile, attribute: str) -> list[dict[str, Any]]:
    """Each level of one attribute with its share among the best customers and among the rest.

    Read from the single-trait profile: one ``=`` condition per level of a categorical attribute;
    for a numeric one only the elementary bins (ranges no other range's edge falls inside), since
    discovery also reports every run of adjacent bins and those overlap.
    """
    found: list[tuple[Condition, float, float]] = []
    for t in profile.single_traits:
        best, rest = t.share_best, t.share_not_best
        if t.attribute != attribute or best is None or rest is None:
            continue
        try:
            condition = parse_condition(t.rule)
        except IcpError:
            continue
        if condition.op in ("eq", "range"):
            found.append((condition, float(best), float(rest)))
    edges = {float(e) for c, _, _ in found if c.op == "range" for e in c.value}
    rows = []
    for c, best, rest in found:
        is_range = c.op == "range"
        if is_range and any(c.value[0] < e < c.value[1] for e in edges):
            continue
        level = size_label(str(c)) if is_range else str(c.value)
        rows.append(
            {
                "level": level,
                "best": best,
                "rest": rest,
                "low": float(c.value[0]) if is_range else 0.0,
            }
        )
    return rows


def best_vs_rest(
    rows: Sequence[Mapping[str, Any]], y_title: str, key: str, title: str, caption: str
) -> Chart:
    """Horizontal bars: each level's share among the best customers next to the rest."""
    svg = grouped_bars(
        [str(r["level"]) for r in rows],
        [
            (BEST, ACCENT, [float(r["best"]) for r in rows]),
            (REST, NEUTRAL, [float(r["rest"]) for r in rows]),
        ],
        x_title="share of customers",
        y_title=y_title,
        key=key,
        width=WIDTH,
    )
    return Chart(key, title, caption, svg)


def industry_chart(profile: IcpProfile) -> Chart | None:
    """Best customers by industry: the industries most common among the best, against the rest."""
    rows = sorted(trait_shares(profile, "industry"), key=lambda r: -r["best"])[:TOP_LEVELS]
    if not rows:
        return None
    return best_vs_rest(
        rows,
        "industry",
        "industry",
        "Best customers by industry",
        "Share of best customers in each industry, against all other customers.",
    )


def size_chart(profile: IcpProfile) -> Chart | None:
    """Company-size distribution of the best customers against the rest, in size order."""
    for attribute in SIZE_ATTRIBUTES:
        rows = trait_shares(profile, attribute)
        if rows:
            rows = sorted(rows, key=lambda r: r["low"])
            label = "employees" if attribute == "employees" else "annual revenue"
            return best_vs_rest(
                rows,
                label,
                "size",
                "Company size",
                f"Distribution of {label}: best customers against all others.",
            )
    return None


def geography_chart(profile: IcpProfile) -> Chart | None:
    """Geographic focus: the countries (or regions) most common among the best customers."""
    for attribute in GEO_ATTRIBUTES:
        rows = sorted(trait_shares(profile, attribute), key=lambda r: -r["best"])[:TOP_LEVELS]
        if rows:
            return best_vs_rest(
                rows,
                attribute,
                "geography",
                "Geographic focus",
                f"Share of best customers by {attribute}, against all others.",
            )
    return None


def tier_chart(profile: IcpProfile) -> Chart | None:
    """Value by tier: the held-out win rate of each tier with its interval when a backtest
    exists, else the success rate on the build data (labelled as such: it is optimistic)."""
    backtest = backtest_win_rates(profile.validation)
    if backtest:
        values = [
            {
                "tier": t,
                "rate": float(k.value or 0.0),
                "low": k.ci_low,
                "high": k.ci_high,
                "label": fmt.percent(float(k.value or 0.0)),
            }
            for t, k in backtest.items()
        ]
        validation = profile.validation
        cut = (validation and validation.cut_date) or "the cut"
        caption = (
            "Win rate of held-out accounts' deals by tier (cross-validated, not out-of-time; "
            "95% intervals)."
            if validation is not None and validation.method == "cross-validated"
            else f"Win rate of deals created after {cut}, by tier (backtest, 95% intervals)."
        )
        title = "win rate after cut"
    else:
        rows = [] if profile.tiers is None else profile.tiers.table
        rates = [r.success_rate for r in rows]
        if not rows or any(rate is None for rate in rates):
            return None
        values = [
            {
                "tier": r.tier,
                "rate": float(rate or 0.0),
                "low": None,
                "high": None,
                "label": fmt.percent(float(rate or 0.0)),
            }
            for r, rate in zip(rows, rates, strict=True)
        ]
        caption = (
            "Success rate in each tier on the data the ICP was built from (in-sample: optimistic)."
        )
        title = fmt.header("success_rate")
    bars = [
        Bar(
            str(v["tier"]),
            float(v["rate"] or 0.0),
            None if v["low"] is None else float(v["low"]),
            None if v["high"] is None else float(v["high"]),
            str(v["label"]),
        )
        for v in values
    ]
    svg = column_bars(bars, x_title="tier", y_title=title, key="tiers", width=WIDTH)
    return Chart("tiers", "Value by tier", caption, svg)


def gains_chart(validation: ValidationSection | None) -> Chart | None:
    """Cumulative gains of the backtest: share of wins captured by the top x% of scored deals."""
    points = [
        (r.cum_share_of_deals, r.cum_share_of_wins)
        for r in (validation.gains if validation is not None else [])
        if r.cum_share_of_deals is not None and r.cum_share_of_wins is not None
    ]
    if not points:
        return None
    values = [{"x": 0.0, "y": 0.0}] + [{"x": float(x), "y": float(y)} for x, y in points]
    svg = gains_line(
        [(v["x"], v["y"]) for v in values],
        x_title="deals, highest fit score first",
        y_title="share of wins captured",
        key="gains",
        width=WIDTH + 60,
        height=HEIGHT + 40,
    )
    caption = (
        "Cumulative gains on deals after the cut: the dashed line is what a random "
        "ordering would capture."
    )
    return Chart("gains", "Gains of the fit score", caption, svg)


def onepager_charts(profile: IcpProfile) -> list[Chart]:
    """The one-pager's charts that the profile has data for, in reading order."""
    makers = (industry_chart, size_chart, geography_chart, tier_chart)
    return [c for c in (make(profile) for make in makers) if c is not None]


def size_label(level: str) -> str:
    """A size bin as people say it: ``[100, 500)`` → ``100–500``; ``<10``, ``5,000+``, ``1M``."""
    m = _INTERVAL.search(level)
    if m is None:
        return level
    low, high = float(m.group(1)), float(m.group(2))
    if low == float("-inf"):
        return f"<{_compact(high)}"
    if high == float("inf"):
        return f"{_compact(low)}+"
    return f"{_compact(low)}–{_compact(high)}"


def _compact(x: float) -> str:
    if abs(x) >= 1e9:
        return f"{x / 1e9:g}B"
    if abs(x) >= 1e6:
        return f"{x / 1e6:g}M"
    return fmt.number(x)
