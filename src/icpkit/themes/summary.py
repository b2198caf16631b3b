"""ThemeAnalysis and Messaging → the profile's ``themes`` and ``messaging`` sections."""

from __future__ import annotations

from icpkit.profile import MessagingSection, ThemeEntry, ThemesSection, ThemeTestEntry
from icpkit.themes.analysis import ThemeAnalysis
from icpkit.themes.evidence import LOST_SOURCE, ThemeTest
from icpkit.themes.messaging import Messaging

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
                family=family,  # type: ignore[arg-type]
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
            )
        )
    return ThemesSection(
        embedding=analysis.embedding,
        n_notes=analysis.n_notes,
        n_unassigned=analysis.n_unassigned,
        warnings=analysis.warnings,
        themes=entries,
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


def messaging_section(messaging: Messaging) -> MessagingSection:
    """The messaging as the profile stores it."""
    return MessagingSection.model_validate(messaging.to_dict())
