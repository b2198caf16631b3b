"""find_themes: notes → clean text → vectors → themes (found and declared) → labels → evidence.

Each step is replaceable (BERTopic's separation): embed.py makes vectors, cluster.py groups them,
label.py names the groups, evidence.py tests them against outcomes. This module only wires them
and checks the input, reporting every problem with the notes as a counted warning.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from icpkit.config import DeclaredTheme, ThemesConfig
from icpkit.errors import InsufficientDataError
from icpkit.stats import json_safe
from icpkit.themes.cluster import Clustering, assign, centre, cluster_vectors
from icpkit.themes.embed import MAX_CHARS, StaticEmbedder, default_embedder
from icpkit.themes.evidence import LOST_SOURCE, ThemeTest, account_groups, compare_themes
from icpkit.themes.label import OPENING, central_notes, theme_keywords
from icpkit.themes.names import person_words, without_person_names
from icpkit.themes.pii import Scrubber, without_contact_details

EMBEDDING = "model2vec distillation of all-MiniLM-L6-v2 (128-d, bundled)"
TAG = re.compile(r"<[^>]{0,200}>")
MIN_NOTES = 10


@dataclass(frozen=True)
class Theme:
    """One theme: what it is called, how often it comes up, and quotes (PII removed)."""

    id: int
    label: str
    keywords: list[str]
    origin: str  # "found" | "declared"
    n_notes: int
    n_accounts: int
    share: float  # of the assigned notes
    by_source: dict[str, int]
    quotes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "label": self.label, "keywords": self.keywords, "origin": self.origin,
            "n_notes": self.n_notes, "n_accounts": self.n_accounts, "share": self.share,
            "by_source": self.by_source, "quotes": self.quotes,
        }  # fmt: skip


@dataclass(frozen=True)
class ThemeAnalysis:
    """The themes of a notes table and how each relates to outcomes."""

    themes: list[Theme]
    tests: list[ThemeTest]
    n_notes: int
    n_unassigned: int
    warnings: list[str] = field(default_factory=list)
    embedding: str = EMBEDDING
    assignments: pl.DataFrame = field(default_factory=pl.DataFrame)  # note_row, theme (-1: none)

    def theme(self, theme_id: int) -> Theme:
        return next(t for t in self.themes if t.id == theme_id)

    def tests_for(self, comparison: str, source: str = "voice") -> list[ThemeTest]:
        """The tests of one comparison in one source family, most significant first."""
        found = [t for t in self.tests if t.comparison == comparison and t.source == source]
        return sorted(found, key=lambda t: (t.q_value, -(t.lift or 0)))

    def to_dict(self) -> dict[str, Any]:
        return dict(
            json_safe(
                {
                    "embedding": self.embedding,
                    "n_notes": self.n_notes,
                    "n_unassigned": self.n_unassigned,
                    "warnings": self.warnings,
                    "themes": [t.to_dict() for t in self.themes],
                    "tests": [t.to_dict() for t in self.tests],
                }
            )
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per test, with the theme's label."""
        labels = {t.id: t.label for t in self.themes}
        rows = [{**t.to_dict(), "label": labels[t.theme]} for t in self.tests]
        return pl.DataFrame(rows) if rows else pl.DataFrame()


@dataclass(frozen=True)
class CleanNotes:
    """The usable notes (text cleaned for embedding) and what was wrong with the rest."""

    frame: pl.DataFrame  # note_row (in the input), account_id, source, text (original), clean
    warnings: list[str]


def clean_notes(notes: pl.DataFrame, known_accounts: set[str] | None = None) -> CleanNotes:
    """Drop empty notes, strip HTML, cut very long notes; count every case as a warning."""
    if "text" not in notes.columns:
        raise InsufficientDataError(
            "notes: no 'text' column, so there is nothing to find themes in"
        )
    frame = notes.with_row_index("note_row").select(
        "note_row",
        pl.col("account_id").cast(pl.Utf8)
        if "account_id" in notes.columns
        else pl.lit(None, pl.Utf8).alias("account_id"),
        (pl.col("source").cast(pl.Utf8) if "source" in notes.columns else pl.lit("note")).alias(
            "source"
        ),
        pl.col("text").cast(pl.Utf8),
    )
    warnings: list[str] = []
    text = frame["text"].fill_null("")
    empty = text.str.strip_chars().str.len_chars() == 0
    _warn(warnings, int(empty.sum()), "empty note{s} skipped")
    frame = frame.filter(~empty)
    has_html = frame["text"].str.contains(TAG.pattern)
    _warn(
        warnings,
        int(has_html.sum()),
        "note{s} contained HTML markup; tags were removed (and are escaped in reports)",
    )
    long = frame["text"].str.len_chars() > MAX_CHARS
    _warn(
        warnings,
        int(long.sum()),
        f"note{{s}} longer than {MAX_CHARS:,} characters; only the first {MAX_CHARS:,} were read",
    )
    clean = [html.unescape(TAG.sub(" ", t[: MAX_CHARS * 2])) for t in frame["text"].to_list()]
    clean = [re.sub(OPENING, "", t, count=1) for t in clean]
    frame = frame.with_columns(pl.Series("clean", clean, dtype=pl.Utf8))
    foreign = frame["clean"].map_elements(_looks_foreign, return_dtype=pl.Boolean)
    _warn(
        warnings,
        int(foreign.sum()),
        "note{s} look non-English; the bundled model reads English, so they may form their own theme or none",
    )
    if known_accounts is not None:
        unknown = ~frame["account_id"].is_in(list(known_accounts)).fill_null(False)
        _warn(
            warnings,
            int(unknown.sum()),
            "note{s} with an account_id that is not in accounts; counted for themes, not for outcomes",
        )
    return CleanNotes(frame, warnings)


def _warn(warnings: list[str], count: int, text: str) -> None:
    if count:
        warnings.append(f"{count:,} " + text.replace("{s}", "" if count == 1 else "s"))


def _looks_foreign(text: str) -> bool:
    """Mostly non-Latin letters, or 6+ words with almost no English function words."""
    letters = [c for c in text[:2000] if c.isalpha()]
    if len(letters) < 12:
        return False
    if sum(not c.isascii() for c in letters) / len(letters) > 0.3:
        return True
    words = re.findall(r"[^\W\d_]+", text[:2000].lower())
    return len(words) >= 6 and sum(w in ENGLISH_STOP_WORDS for w in words) / len(words) < 0.08


def find_themes(
    notes: pl.DataFrame,
    outcomes: pl.DataFrame | None = None,
    contact_names: list[str] | None = None,
    config: ThemesConfig | None = None,
    embedder: StaticEmbedder | None = None,
) -> ThemeAnalysis:
    """Themes of a notes table, each tested against outcomes when ``outcomes`` is given.

    Parameters
    ----------
    notes
        The canonical notes table (account_id, source, text; other columns are ignored).
    outcomes
        ``Outcomes.frame`` (account_id, label, n_won, n_lost, churned), or None for themes only.
    contact_names
        Names to remove from quotes (the contacts table's ``name`` column).
    config
        The ``[themes]`` section of icpkit.toml.

    Raises
    ------
    InsufficientDataError
        When fewer than 10 notes have any text.
    """
    config = config or ThemesConfig()
    embedder = embedder or default_embedder()
    known = None if outcomes is None else set(outcomes["account_id"].to_list())
    cleaned = clean_notes(notes, known)
    frame = cleaned.frame
    if frame.height < MIN_NOTES:
        raise InsufficientDataError(
            f"notes: {frame.height} note(s) with text; themes need at least {MIN_NOTES}"
        )
    texts = frame["clean"].to_list()
    vectors = embedder.encode(texts)
    lost = (frame["source"] == LOST_SOURCE).fill_null(False).to_numpy()
    parts = [_cluster_family(vectors, mask, config, embedder) for mask in (~lost, lost)]
    clustering, similarity, origins, names = _join(parts, (~lost, lost), vectors)
    themes = _describe(frame, texts, clustering, similarity, origins, names, config, contact_names)
    tests: list[ThemeTest] = []
    if outcomes is not None and themes:
        tests = compare_themes(
            frame["account_id"].fill_null("").to_numpy(),
            frame["source"],
            clustering.labels,
            clustering.n_themes,
            account_groups(outcomes),
            config.alpha,
            could_lose=_could_lose(outcomes),
        )
    unassigned = int((clustering.labels < 0).sum())
    assignments = pl.DataFrame({"note_row": frame["note_row"], "theme": clustering.labels})
    return ThemeAnalysis(
        themes, tests, frame.height, unassigned, cleaned.warnings, assignments=assignments
    )


def _cluster_family(
    vectors: np.ndarray,
    mask: np.ndarray,
    config: ThemesConfig,
    embedder: StaticEmbedder,
) -> tuple[Clustering, list[str], list[str | None]]:
    """Themes of one family of notes (customers' voice, or lost reasons): a genre of its own."""
    dim = vectors.shape[1]
    if mask.sum() < MIN_NOTES:
        none = Clustering(
            np.full(int(mask.sum()), -1), np.zeros((0, dim), np.float32), np.zeros(dim, np.float32)
        )
        return none, [], []
    found = cluster_vectors(
        vectors[mask],
        distance_cut=config.distance_cut,
        min_size=config.min_theme_size,
        assign_similarity=config.assign_similarity,
        sample_size=config.sample_size,
        random_state=config.seed,
    )
    return merge_declared(found, vectors[mask], config.declared, config, embedder)


def _join(
    parts: list[tuple[Clustering, list[str], list[str | None]]],
    masks: tuple[np.ndarray, ...],
    vectors: np.ndarray,
) -> tuple[Clustering, np.ndarray, list[str], list[str | None]]:
    """One label space over the families (later families' theme ids offset), and the note ×
    theme similarity (-1 between a note and another family's themes)."""
    n_themes = sum(p[0].n_themes for p in parts)
    labels = np.full(len(vectors), -1, dtype=np.int64)
    similarity = np.full((len(vectors), n_themes), -1.0, dtype=np.float32)
    origins: list[str] = []
    names: list[str | None] = []
    offset = 0
    for (clustering, origin, name), mask in zip(parts, masks, strict=True):
        k = clustering.n_themes
        labels[mask] = np.where(clustering.labels >= 0, clustering.labels + offset, -1)
        if k:
            similarity[np.ix_(mask, np.arange(offset, offset + k))] = clustering.similarity(
                vectors[mask]
            )
        origins += origin
        names += name
        offset += k
    centroids = np.vstack([p[0].centroids for p in parts]).reshape(-1, vectors.shape[1])
    joined = Clustering(labels, centroids, np.zeros(vectors.shape[1], np.float32))
    return joined, similarity, origins, names


def _could_lose(outcomes: pl.DataFrame) -> set[str] | None:
    if "n_lost" not in outcomes.columns:
        return None
    return set(outcomes.filter(pl.col("n_lost").fill_null(0) > 0)["account_id"].to_list())


def merge_declared(
    clustering: Clustering,
    vectors: np.ndarray,
    declared: list[DeclaredTheme],
    config: ThemesConfig,
    embedder: StaticEmbedder,
) -> tuple[Clustering, list[str], list[str | None]]:
    """Add the declared themes as centroids, drop found themes they absorb, re-assign the notes.

    A found theme whose centroid is at least ``declared_similarity`` from a declared theme's is
    merged into it (the declared name wins); the rest stay as found themes.
    """
    n_found = clustering.n_themes
    if not declared:
        return clustering, ["found"] * n_found, [None] * n_found
    anchors = []
    for theme in declared:
        phrases = [theme.name, theme.description, *theme.examples]
        phrase_vectors = embedder.encode([p for p in phrases if p.strip()])
        anchors.append(centre(phrase_vectors, clustering.center).mean(axis=0))
    anchor = np.array(anchors, dtype=np.float32)
    anchor /= np.maximum(np.linalg.norm(anchor, axis=1, keepdims=True), 1e-12)
    absorbed = (clustering.centroids @ anchor.T).max(axis=1) >= config.declared_similarity
    centroids = np.vstack([anchor, clustering.centroids[~absorbed]])
    labels = assign(vectors, centroids, clustering.center, config.assign_similarity)
    labels[np.linalg.norm(vectors, axis=1) < 1e-9] = -1
    origins = ["declared"] * len(declared) + ["found"] * int((~absorbed).sum())
    names: list[str | None] = [t.name for t in declared] + [None] * int((~absorbed).sum())
    return Clustering(labels, centroids, clustering.center), origins, names


def _describe(
    frame: pl.DataFrame,
    texts: list[str],
    clustering: Clustering,
    similarity: np.ndarray,
    origins: list[str],
    names: list[str | None],
    config: ThemesConfig,
    contact_names: list[str] | None,
) -> list[Theme]:
    scrub = Scrubber(contact_names or [])
    person = person_words(texts, contact_names or [])
    labels = clustering.labels
    keywords = theme_keywords(without_contact_details(texts), labels, clustering.n_themes)
    assigned = max(int((labels >= 0).sum()), 1)
    sources = frame["source"].fill_null("unknown").to_numpy().astype(str)
    accounts = frame["account_id"].fill_null("").to_numpy().astype(str)
    themes = []
    for k in range(clustering.n_themes):
        members = labels == k
        if not members.any():
            continue
        rows = central_notes(similarity, labels, k, texts, config.quotes_per_theme)
        words = without_person_names([w for w in keywords[k] if scrub(w) == w], person)
        label = names[k] or (", ".join(words[:3]) if words else f"theme {k + 1}")
        src, counts = np.unique(sources[members], return_counts=True)
        themes.append(
            Theme(
                id=k,
                label=label,
                keywords=words,
                origin=origins[k],
                n_notes=int(members.sum()),
                n_accounts=len(set(accounts[members]) - {""}),
                share=float(members.sum() / assigned),
                by_source={str(s): int(c) for s, c in zip(src, counts, strict=True)},
                quotes=[scrub(texts[r]) for r in rows],
            )
        )
    return sorted(themes, key=lambda t: -t.n_notes)
