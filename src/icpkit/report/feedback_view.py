"""The "Feedback from the field" part of the report: reps' verdicts on the tiers they were shown.

Reads the profile's ``feedback`` section (computed by icpkit.lifecycle.feedback); formats, never
computes. Reasons are stored scrubbed of PII; the templates escape them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from icpkit.profile import FeedbackSection
from icpkit.report import formatting as fmt
from icpkit.report.formatting import Table

NONE_YET = (
    "No feedback yet: reps can mark a tier as right or wrong on the account page of the web app."
)


@dataclass(frozen=True)
class FeedbackView:
    """Display-ready feedback: summary lines and the tables."""

    lines: list[str]
    tiers: Table
    criteria: Table
    examples: list[str] = field(default_factory=list)


def outcome_line(section: FeedbackSection) -> str:
    """Who the deals closed since proved right, in words ('' when nothing was disputed)."""
    o = section.outcomes
    if o is None:
        return ""
    if not o.dated:
        return (
            f"{o.n_disputed:,} disputed accounts; their later outcomes cannot be dated (the "
            "deals have no closed_at)."
        )
    return (
        f"Of {o.n_disputed:,} disputed accounts, {o.rep_right + o.icp_right:,} have closed a deal "
        f"since the verdict: it proved the rep right {o.rep_right:,} times and the ICP right "
        f"{o.icp_right:,} times; {o.pending:,} still without one."
    )


def feedback_view(section: FeedbackSection | None) -> FeedbackView | None:
    """The view of a profile's feedback, or None when nobody gave any."""
    if section is None:
        return None
    rate = section.agreement_rate
    versions = ", ".join(f"v{n}" for n in section.versions)
    lines = [
        f"{section.n_reviewed:,} verdicts on {section.n_accounts:,} accounts by "
        f"{section.n_reviewers:,} reviewer(s), {section.first} to {section.last}, on {versions}"
        + (
            f"; they agreed with the tier shown {fmt.percent(rate)} of the time."
            if rate is not None
            else "."
        ),
        "Agreement: of the latest verdict of each reviewer on each account, the share whose "
        "claimed tier is the tier shown; the rest are disputes.",
    ]
    outcome = outcome_line(section)
    if outcome:
        lines.append(outcome)
    lines += [f"warning: {w}" for w in section.warnings]
    tiers = Table(
        ("tier shown", "verdicts", "agreed", "disputed", "claimed higher", "claimed lower",
         "agreement"),
        tuple(
            (
                t.tier,
                f"{t.n_reviewed:,}",
                f"{t.n_agreed:,}",
                f"{t.n_disputed:,}",
                f"{t.claimed_higher:,}",
                f"{t.claimed_lower:,}",
                fmt.DASH if t.agreement_rate is None else fmt.percent(t.agreement_rate),
            )
            for t in section.tiers
        ),
        (False, True, True, True, True, True, True),
    )  # fmt: skip
    criteria = Table(
        ("criterion met", "disputed accounts", "reviewed accounts", "disputed share"),
        tuple(
            (c.rule, f"{c.n_disputed:,}", f"{c.n_reviewed:,}", fmt.percent(c.dispute_share))
            for c in section.criteria
        ),
        (False, True, True, True),
    )
    return FeedbackView(lines, tiers, criteria, list(section.examples))
