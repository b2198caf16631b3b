"""The report's "Where to find more": what the last ``icpkit lookalikes`` run found in a universe.

Formats the summary the run left in the workspace (``.icpkit/lookalikes.json``, written by
``icpkit.lookalikes.runinfo``); computes nothing. Counts and category values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from icpkit.report.formatting import Table

TIER_ORDER = ("Tier 1", "Tier 2", "Tier 3", "Non-fit")


@dataclass(frozen=True)
class FindMoreView:
    """One-pager lines, the tier table of the detailed report, and where the figures come from."""

    lines: list[str]
    tiers: Table
    source: str
    headline: str = ""  # the one-pager's single line


def _values(pairs: Any) -> str:
    return ", ".join(f"{v} ({int(n):,})" for v, n in (pairs or []))


def find_more_view(summary: Mapping[str, Any] | None) -> FindMoreView | None:
    """The block, or None when no lookalikes run was saved for the workspace."""
    if not summary:
        return None
    companies = summary.get("tiers_companies") or {}
    listings = summary.get("tiers_listings") or {}
    n_companies = int(summary.get("n_companies") or 0)
    n_listings = int(summary.get("n_listings") or 0)
    universe = str(summary.get("universe") or "the universe")
    order = [t for t in TIER_ORDER if t in companies or t in listings]
    counts = companies or listings
    per_tier = ", ".join(f"{t} {int(counts.get(t, 0)):,}" for t in order)
    unit = "companies" if companies else "listings"
    folded = f" ({n_listings:,} listings)" if companies and n_listings != n_companies else ""
    lines = [f"{universe}: {n_companies:,} companies{folded}; {unit} per tier: {per_tier}."]
    lead, top = summary.get("lead_tier"), summary.get("lead_top") or {}
    if lead:
        parts = [f"in {_values(top['industry'])}" if top.get("industry") else "",
                 f"from {_values(top['country'])}" if top.get("country") else ""]  # fmt: skip
        where = "; ".join(p for p in parts if p)
        written = int(summary.get("lead_written") or 0)
        lines.append(
            f"The {written:,} {lead} targets written are mostly {where}."
            if where
            else f"{written:,} {lead} targets written."
        )
        if lead != TIER_ORDER[0]:
            lines.append(f"No company of this universe reaches {TIER_ORDER[0]}.")
    excluded = int(summary.get("n_excluded_customers") or 0)
    written_to = summary.get("output") or "the targets file"
    lines.append(
        f"Top {int(summary.get('n_written') or 0):,} written to {written_to}; {excluded:,} existing "
        "customers and open deals left out."
    )
    text = summary.get("text") or {}
    if text.get("note"):
        lines.append(str(text["note"]).capitalize().rstrip(".") + ".")
    missing = summary.get("missing_attributes") or []
    if missing:
        lines.append(f"The universe lacks {', '.join(missing)}: scored as missing.")
    rows = tuple(
        (t, f"{int(companies.get(t, 0)):,}" if companies else "–", f"{int(listings.get(t, 0)):,}")
        for t in order
    )
    tiers = Table(("Tier", "Companies", "Listings"), rows, (False, True, True))
    version = summary.get("profile_version")
    run = f"v{version}, " if version is not None else ""
    source = f"From icpkit lookalikes {universe} ({run}{summary.get('date', '?')})."
    return FindMoreView(
        lines=lines, tiers=tiers, source=source, headline=_headline(summary, counts, order)
    )


def _headline(summary: Mapping[str, Any], counts: Mapping[str, Any], order: list[str]) -> str:
    """One line: the best tier's count in the universe, what it is, where the list went."""
    universe = str(summary.get("universe") or "the universe")
    total = int(summary.get("n_companies") or 0)
    first = next((t for t in order if int(counts.get(t, 0))), None)
    if first is None:
        return f"{universe}: no company to rank."
    rest = " · ".join(f"{t} {int(counts.get(t, 0)):,}" for t in order if t != first)
    text = f"{universe}: {int(counts[first]):,} {first} companies of {total:,} ({rest})"
    top = summary.get("lead_top") or {}
    what = [str(top[c][0][0]) for c in ("industry",) if top.get(c)]
    where = [str(v) for v, _ in (top.get("country") or [])[:3]]
    if what or where:
        text += "; the best are mostly " + " in ".join(
            p for p in (", ".join(what), ", ".join(where)) if p
        )
    return (
        f"{text}. Top {int(summary.get('n_written') or 0):,} in {summary.get('output') or 'the file'}"
        + f", customers left out ({summary.get('date', '?')})."
    )
