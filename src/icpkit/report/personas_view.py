"""The personas part of the report: "Who to talk to" on the one-pager, the detail tables after.

Nothing here computes: it picks and formats what ``icpkit.personas`` measured and stored in the
profile (``profile.personas``). No contact, name or title of the CRM ever reaches the report:
the section holds only persona labels and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from icpkit.profile import PersonaEvidence, PersonasSection, RoleShare
from icpkit.report import formatting as fmt
from icpkit.report.formatting import Table

MISSING = (
    "Who to talk to: not available. Add a contacts table with a job title per contact "
    "(and deal_id or account_id) so icpkit can find the personas that go with winning."
)


@dataclass(frozen=True)
class PersonasView:
    """Display-ready personas: the one-pager block and the detailed tables."""

    top: Table
    top_note: str
    committee_line: str
    lines: list[str]
    personas: Table
    by_size: Table
    roles: Table
    economic_buyer: Table
    first_contact: Table
    warnings: list[str] = field(default_factory=list)


def _lift_cell(p: PersonaEvidence) -> str:
    low, high = p.lift_ci
    interval = (
        f" [{fmt.interval(low, high, 'lift')}]" if low is not None and high is not None else ""
    )
    return (fmt.lift(p.lift) if p.lift is not None else fmt.DASH) + interval


def _persona_rows(personas: list[PersonaEvidence], q: bool) -> Table:
    columns = ("persona", "deals with", "win rate with", "without", "lift 95% CI")
    rows = [
        (
            p.persona,
            f"{p.deals_with:,}",
            fmt.percent(p.win_rate_with),
            fmt.percent(p.win_rate_without),
            _lift_cell(p),
        )
        + ((fmt.q_value(p.q_value), p.evidence) if q else ())
        for p in personas
    ]
    extra = ("q", "evidence") if q else ()
    numeric = (False, True, True, True, True) + ((True, False) if q else ())
    return Table(columns + extra, tuple(rows), numeric)


def _shares(rows: list[RoleShare], label: str) -> Table:
    body = tuple(
        (
            r.name,
            fmt.percent(r.share_won),
            fmt.percent(r.share_lost),
            f"{r.deals_won + r.deals_lost:,}",
        )
        for r in rows
    )
    return Table((label, "on won deals", "on lost deals", "deals"), body, (False, True, True, True))


def _median(x: float | None) -> str:
    return fmt.DASH if x is None else f"{x:g}"


def personas_view(section: PersonasSection | None) -> PersonasView | None:
    """The view of a profile's personas, or None when the profile has none."""
    if section is None:
        return None
    c = section.committee
    top = section.top(section.shown)
    top_note = (
        "Lift: win odds of deals with the persona on them versus without, same fit tier and "
        "committee size."
        if top
        else f"No persona stands out yet on {section.n_deals:,} closed deals with contacts."
    )
    committee_line = (
        f"Median buying committee: {_median(c.median_contacts_won)} contacts on won deals, "
        f"{_median(c.median_contacts_lost)} on lost ones ({_median(c.median_functions_won)} vs "
        f"{_median(c.median_functions_lost)} functions)."
    )
    coverage = section.title_coverage
    lines = [
        f"{section.n_contacts_used:,} of {section.n_contacts:,} contacts on {section.n_deals:,} "
        f"closed deals ({section.n_won:,} won); function read from the title for "
        f"{fmt.percent(coverage.function_known)} of them, seniority for "
        f"{fmt.percent(coverage.seniority_known)}.",
        *section.notes,
    ]
    by_size = Table(
        ("contacts on the deal", "deals", "won", "win rate", "95% CI"),
        tuple(
            (
                b.size,
                f"{b.deals:,}",
                f"{b.won:,}",
                fmt.percent(b.win_rate),
                fmt.interval(b.ci[0], b.ci[1], "share"),
            )
            for b in c.by_size
        ),
        (False, True, True, True, True),
    )
    return PersonasView(
        top=_persona_rows(top, q=False),
        top_note=top_note,
        committee_line=committee_line,
        lines=lines,
        personas=_persona_rows(section.personas, q=True),
        by_size=by_size,
        roles=_shares(c.roles, "role in deal"),
        economic_buyer=_shares(c.economic_buyer, "economic buyer's persona"),
        first_contact=_shares(c.first_contact, "first contact's persona"),
        warnings=list(section.warnings),
    )
