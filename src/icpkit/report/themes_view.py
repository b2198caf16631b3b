"""The "Pains and messaging" block of the one-pager and the themes detail, read from the profile.

Nothing is computed here: themes, tests and talking points come from icpkit.themes through the
profile's ``themes`` and ``messaging`` sections. Quotes are already free of PII; the templates
escape them (a note may hold HTML).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from icpkit.profile import IcpProfile, ThemeEntry
from icpkit.report import formatting as fmt
from icpkit.report.formatting import Table

GROUP_WORDS = {"best_vs_rest": "best vs rest", "lost_vs_won": "never bought vs bought",
               "churned_vs_retained": "churned vs retained"}  # fmt: skip
ONEPAGER_PAINS = 3
ONEPAGER_OBJECTIONS = 2


@dataclass(frozen=True)
class PainLine:
    """One pain or objection as the one-pager shows it."""

    label: str
    figure: str
    quote: str


@dataclass(frozen=True)
class TierPoints:
    """Talking points for one tier or persona, formatted."""

    audience: str
    lines: list[str]


@dataclass(frozen=True)
class PainsView:
    """Everything the themes block and detail show."""

    struggle: str  # the completed second half of the statement
    pains: list[PainLine]
    objections: list[PainLine]
    themes: Table
    talking_points: list[TierPoints] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def top_pains(self) -> list[PainLine]:
        """The pains the one-pager has room for."""
        return self.pains[:ONEPAGER_PAINS]

    @property
    def top_objections(self) -> list[PainLine]:
        """The objections the one-pager has room for."""
        return self.objections[:ONEPAGER_OBJECTIONS]


def pains_view(profile: IcpProfile) -> PainsView | None:
    """The view of the profile's themes and messaging (None when the profile has none)."""
    if profile.themes is None:
        return None
    themes = profile.themes.themes
    pains = [_line(t) for t in themes if t.family == "voice" and t.direction == "higher"]
    objections = [_line(t) for t in themes if t.family == "lost_reason" and t.direction == "higher"]
    pains.sort(key=lambda p: p.figure, reverse=True)
    messaging = profile.messaging
    struggle = ""
    if messaging is not None:
        p = messaging.parts
        struggle = (
            f"They typically struggle with {p.pains} and measure success by "
            f"{p.metrics}. They are characterized by {p.buying_behaviour} and "
            f"typically start searching for solutions when {p.triggers}."
        )
    notes = [f"Embedding: {profile.themes.embedding}; {profile.themes.n_notes:,} notes, "
             f"{profile.themes.n_unassigned:,} in no theme."]  # fmt: skip
    notes += list(profile.themes.warnings)
    return PainsView(
        struggle=struggle,
        pains=pains,
        objections=objections,
        themes=_themes_table(themes),
        talking_points=_talking_points(profile),
        notes=notes,
    )


def _line(theme: ThemeEntry) -> PainLine:
    shares = list(theme.share_by_group.values())
    figure = ""
    if len(shares) == 2 and theme.lift is not None:
        figure = f"{fmt.percent(shares[0])} vs {fmt.percent(shares[1])} ({fmt.lift(theme.lift)})"
    return PainLine(theme.label, figure, theme.quotes[0] if theme.quotes else "")


def _themes_table(themes: list[ThemeEntry]) -> Table:
    rows = []
    for t in sorted(themes, key=lambda e: (e.direction == "none", e.q_value)):
        shares = " vs ".join(fmt.percent(s) for s in t.share_by_group.values())
        low, high = t.lift_ci
        interval = fmt.interval(low, high) if low is not None and high is not None else fmt.DASH
        rows.append(
            (
                t.label,
                "lost reason" if t.family == "lost_reason" else "voice",
                f"{t.n_notes:,}",
                f"{GROUP_WORDS.get(t.comparison or '', '')}: {shares}" if shares else fmt.DASH,
                fmt.lift(t.lift) if t.lift is not None else fmt.DASH,
                interval,
                fmt.q_value(t.q_value),
                t.direction,
                t.quotes[0] if t.quotes else "",
            )
        )
    columns = ("theme", "source", "notes", "share", "lift", "95% CI", "q", "direction", "quote")
    numeric = (False, False, True, False, True, True, True, False, False)
    return Table(columns, tuple(rows), numeric)


def _talking_points(profile: IcpProfile) -> list[TierPoints]:
    if profile.messaging is None:
        return []
    found = []
    for kind, groups in (("", profile.messaging.tiers), ("Persona: ", profile.messaging.personas)):
        for group in groups:
            lines = [f"Pain: {p.label} — “{p.quote or ''}”" for p in group.pains]
            lines += [f"Achieved: {a}" for a in group.achievements]
            lines += [f"Proof: {p}" for p in group.proof]
            lines += [f"Objection: {o.label} ({_lift(o.lift)} among never-bought)"
                      for o in group.objections]  # fmt: skip
            found.append(TierPoints(f"{kind}{group.audience}", lines))
    return found


def _lift(value: float | None) -> str:
    return fmt.DASH if value is None else fmt.lift(value)
