"""ThemeAnalysis → the profile's ``themes`` section (``build_messaging`` gives ``messaging``)."""

from __future__ import annotations

from icpkit.profile import (
    MessagingSection,
    SubThemeEntry,
    ThemeEntry,
    ThemesSection,
    ThemeTestEntry,
)
from icpkit.themes.analysis import ThemeAnalysis
from icpkit.themes.evidence import LOST_SOURCE, ThemeTest
from icpkit.themes.subthemes import SubTheme

HEADLINE = {"voice": ("best_vs_rest", "voice"), LOST_SOURCE: ("lost_vs_won", LOST_SOURCE)}


def themes_section(analysis: ThemeAnalysis) -> ThemesSection:
    """Every theme with its headline test and all its tests, most notes first."""
    entries = []
    for theme in analysis.themes:
        tests = [t for t in analysis.tests if t.theme == theme.id]
        family = LOST_SOURCE if set(theme.by_source) == {LOST_SOURCE} else "voice"
        comparison, source = HEADLINE[family]
        head = next((t for t in tests if t.comparison == comparison and t.source == source), None)
        entries.append(
            ThemeEntry(
                label=theme.label,
                keywords=theme.keywords,
                origin="declared" if theme.origin == "declared" else "found",
                family=family,
                n_notes=theme.n_notes,
                n_accounts=theme.n_accounts,
                share_by_group=_shares(head) if head else {},
                lift=head.lift if head else None,
                lift_ci=head.lift_ci if head else (None, None),
                q_value=head.q_value if head else 1.0,
                direction=head.direction if head else "none",
                comparison=comparison if head else None,
                quotes=theme.quotes,
                by_source=theme.by_source,
                tests=[_entry(t) for t in tests],
                sub_themes=[_part(p) for p in analysis.sub_themes if p.parent == theme.id] or None,
            )
        )
    return ThemesSection(
        embedding=analysis.embedding,
        n_notes=analysis.n_notes,
        n_unassigned=analysis.n_unassigned,
        warnings=analysis.warnings,
        themes=entries,
    )


def _part(part: SubTheme) -> SubThemeEntry:
    test = part.test
    return SubThemeEntry(
        label=part.label,
        keywords=part.keywords,
        n_notes=part.n_notes,
        share_by_group=_shares(test) if test else {},
        lift=test.lift if test else None,
        lift_ci=test.lift_ci if test else (None, None),
        q_value=test.q_value if test else 1.0,
        direction=test.direction if test else "none",
    )


def _shares(test: ThemeTest) -> dict[str, float]:
    return {test.group_a: test.share_a, test.group_b: test.share_b}


def _entry(test: ThemeTest) -> ThemeTestEntry:
    return ThemeTestEntry(
        source=test.source,
        comparison=test.comparison,
        share_by_group=_shares(test),
        n_by_group={test.group_a: test.n_a, test.group_b: test.n_b},
        lift=test.lift,
        lift_ci=test.lift_ci,
        q_value=test.q_value,
        direction=test.direction,
    )


def summary_lines(themes: ThemesSection, messaging: MessagingSection, limit: int = 10) -> list[str]:
    """Plain-text summary for the CLI: the completed statement, then each theme with its evidence."""
    lines = [messaging.statement, ""]
    lines.append(
        f"{len(themes.themes)} themes in {themes.n_notes:,} notes "
        f"({themes.n_unassigned:,} in no theme); embedding: {themes.embedding}"
    )
    ranked = sorted(themes.themes, key=lambda e: (e.direction == "none", e.q_value))
    for entry in ranked[:limit]:
        shares = " vs ".join(f"{k} {v:.0%}" for k, v in entry.share_by_group.items())
        low, high = entry.lift_ci
        evidence = (
            f"{shares} · lift {entry.lift:.1f} [{low:.1f}, {high:.1f}] · q {entry.q_value:.2g} "
            f"· {entry.direction}"
            if entry.lift is not None and low is not None and high is not None
            else "no comparison"
        )
        kind = "lost reason" if entry.family == LOST_SOURCE else "voice"
        lines.append(f"- {entry.label} ({kind}, {entry.n_notes:,} notes): {evidence}")
        if entry.quotes:
            lines.append(f'    "{entry.quotes[0]}"')
        for part in entry.sub_themes or []:
            if part.direction != "none" and part.lift is not None:
                lines.append(
                    f"    part: {part.label} · lift {part.lift:.1f} · q {part.q_value:.2g}"
                )
    if len(themes.themes) > limit:
        lines.append(f"… and {len(themes.themes) - limit} more (use --all)")
    lines += [f"disqualifier evidence: {line}" for line in messaging.disqualifier_evidence]
    lines += [f"warning: {w}" for w in themes.warnings]
    return lines
