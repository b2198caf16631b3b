"""The product-usage section of the report: behavioural traits with their measured effect, and
the PQA held-out check when one was run. Reads the profile's ``usage`` section; never computes."""

from __future__ import annotations

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
            (b.band, f"{b.accounts:,}", f"{b.conversions:,}", f.percent(b.rate)) for b in c.bands
        )
        title = (
            f"Product-qualified accounts, held out (open on {c.cut}, next {c.horizon_days} days):"
            f" top 30% hold {c.top30_share_pqa:.0%} of conversions (fit alone "
            f"{c.top30_share_fit:.0%})"
        )
        tables.append(
            Titled(
                title,
                f.Table(("band", "accounts", "converted", "rate"), rows, (False, True, True, True)),
            )
        )
    return [t for t in tables if t.table]
