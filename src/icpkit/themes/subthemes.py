"""Sub-themes: which facets of a theme carry its difference — asked only of themes that have one.

A theme that shows nothing between the groups is never split: its parts would be tested on the
same accounts, and among many small parts some differ by chance (or by the wording a note source
wraps around them). So the parts of a theme are looked for only when its headline test is
significant (best vs rest for the customers' voice, lost vs won for lost reasons), and tested in
that comparison and family alone, with Benjamini–Hochberg across the parts of that theme: a
hierarchical procedure in which a child is tested only when its parent was rejected.

The parts are the theme's notes clustered again (same embedding, same minimum size, at most
``MAX_PARTS``); a theme that does not split into two or more parts has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from icpkit.config import ThemesConfig
from icpkit.themes.cluster import cluster_vectors, merge_themes
from icpkit.themes.evidence import LOST_SOURCE, ThemeTest, compare_themes
from icpkit.themes.label import theme_keywords
from icpkit.themes.names import person_words, without_person_names

MAX_PARTS = 5
HEADLINE = {"voice": "best_vs_rest", LOST_SOURCE: "lost_vs_won"}


@dataclass(frozen=True)
class SubTheme:
    """One part of a theme whose headline test is significant, with its test in that comparison."""

    parent: int
    label: str
    keywords: list[str]
    n_notes: int
    test: ThemeTest | None  # None when no account of either group voices it

    def to_dict(self) -> dict[str, Any]:
        return {
            "parent": self.parent, "label": self.label, "keywords": self.keywords,
            "n_notes": self.n_notes, "test": self.test.to_dict() if self.test else None,
        }  # fmt: skip


@dataclass(frozen=True)
class NoteContext:
    """The notes a theme analysis ran on, aligned: vectors, texts, accounts, sources, themes."""

    vectors: np.ndarray
    texts: list[str]  # contact details already removed (keywords are read from them)
    account_ids: np.ndarray
    sources: np.ndarray
    labels: np.ndarray


def find_sub_themes(
    notes: NoteContext,
    tests: list[ThemeTest],
    groups: dict[str, dict[str, set[str]]],
    config: ThemesConfig,
    fillers: set[str],
    could_lose: set[str] | None = None,
    scrub: Callable[[str], str] = str,
    lost_deals: dict[str, int] | None = None,
) -> list[SubTheme]:
    """The parts of every theme whose headline test is significant, each tested (see module).

    ``scrub`` removes contact names: a keyword it changes is a name and never names a part.
    """
    found: list[SubTheme] = []
    for head in tests:
        if head.direction == "none" or HEADLINE.get(head.source) != head.comparison:
            continue
        members = notes.labels == head.theme
        if head.source == "voice":
            members &= notes.sources != LOST_SOURCE
        found += _parts(
            notes, members, head, groups, config, fillers, (could_lose, lost_deals), scrub
        )
    return found


def _parts(
    notes: NoteContext,
    members: np.ndarray,
    head: ThemeTest,
    groups: dict[str, dict[str, set[str]]],
    config: ThemesConfig,
    fillers: set[str],
    lost: tuple[set[str] | None, dict[str, int] | None],
    scrub: Callable[[str], str],
) -> list[SubTheme]:
    n = int(members.sum())
    min_size = max(config.min_theme_size, int(np.ceil(config.min_theme_share * n)))
    if n < 2 * min_size:
        return []
    split = cluster_vectors(
        notes.vectors[members], distance_cut=config.distance_cut, min_size=min_size,
        assign_similarity=config.assign_similarity, sample_size=config.sample_size,
        random_state=config.seed,
    )  # fmt: skip
    if split.n_themes < 2:
        return []
    texts = [t for t, m in zip(notes.texts, members, strict=True) if m]
    words = theme_keywords(texts, split.labels, split.n_themes, extra_stop_words=fillers)
    mapping = merge_themes(
        split.labels, split.centroids, words,
        merge_similarity=config.merge_similarity, max_themes=MAX_PARTS,
    )  # fmt: skip
    labels = np.where(split.labels >= 0, mapping[np.maximum(split.labels, 0)], -1)
    k = int(mapping.max()) + 1
    if k < 2:
        return []
    person = person_words(texts)  # names met in these notes never label a part either
    words = [
        without_person_names([w for w in found if scrub(w) == w], person)
        for found in theme_keywords(texts, labels, k, extra_stop_words=fillers)
    ]
    sub_tests = compare_themes(
        notes.account_ids[members], pl.Series(notes.sources[members]), labels, k,
        {head.comparison: groups[head.comparison]}, config.alpha, could_lose=lost[0],
        lost_deals=lost[1],
    )  # fmt: skip
    by_part = {t.theme: t for t in sub_tests if t.source == head.source}
    return [
        SubTheme(
            parent=head.theme,
            label=", ".join(words[part][:3]) if words[part] else f"part {part + 1}",
            keywords=words[part],
            n_notes=int((labels == part).sum()),
            test=by_part.get(part),
        )
        for part in range(k)
        if (labels == part).any()
    ]
