"""The product-usage section of the report: behavioural traits with their measured effect, and
the PQA held-out check when one was run. Reads the profile's ``usage`` section; never computes."""

from __future__ import annotations

import math

from icpkit.profile import IcpProfile
from icpkit.report import formatting as f
from icpkit.report.view import Titled


def usage_tables(p: IcpProfile) -> list[Titled]:
    """'Behaviour of the best customers' and, when present, 'Product-qualified accounts'."""
    section = p.usage
    if section is None:
        return []
    tables = []
    behaviour = f.Table(
        ("behaviour", "outcome", "with", "without", "ratio", "accounts with", "q"),
        tuple(
            (
                b.words,
                b.outcome,
                f.percent(b.rate_with),
                f.percent(b.rate_without),
                f"{b.ratio:.1f}×",
                f"{b.n_with:,}",
                f.q_value(b.q_value),
            )
            for b in section.behaviour
        ),
        (False, False, True, True, True, True, True),
    )
    tables.append(Titled("Behaviour of the best customers (product usage)", behaviour))
    if section.pqa is not None:
        c = section.pqa
        rows = tuple(
            (
                b.band,
                f"{b.accounts:,}",
                f"{b.conversions:,}",
                f.percent(b.rate),
                f"{f.percent(b.rate_low)}–{f.percent(b.rate_high)}"
                if b.rate_low is not None and b.rate_high is not None
                else "",
            )
            for b in c.bands
        )
        title = (
            f"Product-qualified accounts, held out (open on {c.cut}, next {c.horizon_days} days):"
            f" top 30% hold {c.top30_share_pqa:.0%} of conversions (fit alone "
            f"{c.top30_share_fit:.0%}); the top 10% convert "
            f"{ratio_words(c.top_vs_bottom_pqa, c.top_vs_bottom_pqa_ci)} the low band (fit "
            f"alone {ratio_words(c.top_vs_bottom_fit, c.top_vs_bottom_fit_ci)})"
        )
        tables.append(
            Titled(
                title,
                f.Table(
                    ("band", "accounts", "converted", "rate", "95% interval"),
                    rows,
                    (False, True, True, True, True),
                ),
            )
        )
    return [t for t in tables if t.table]


def ratio_words(ratio: float | None, interval: tuple[float, float] | None) -> str:
    """'11.9× (95% 7.4–19×)'; 'n/a' without a ratio."""
    if ratio is None:
        return "n/a"
    if interval is None:
        return f"{ratio:.1f}×"
    high = "∞" if math.isinf(interval[1]) else f"{interval[1]:.0f}"
    return f"{ratio:.1f}× (95% {interval[0]:.1f}–{high}×)"
