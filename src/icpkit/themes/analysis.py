"""find_themes: notes → clean text → vectors → themes (found and declared) → labels → evidence.

Each step is replaceable (BERTopic's separation): embed.py makes vectors, cluster.py groups them,
label.py names the groups, evidence.py tests them against outcomes. This module only wires them
and checks the input, reporting every problem with the notes as a counted warning.
"""

from __future__ import annotations

import html
import math
import re
import string
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from icpkit.config import DeclaredTheme, ThemesConfig
from icpkit.errors import InsufficientDataError
from icpkit.stats import json_safe
from icpkit.themes.cluster import Clustering, assign, centre, cluster_vectors, merge_themes
from icpkit.themes.embed import MAX_CHARS, StaticEmbedder, default_embedder
from icpkit.themes.evidence import LOST_SOURCE, ThemeTest, account_groups, compare_themes
from icpkit.themes.label import OPENING, central_notes, filler_words, theme_keywords
from icpkit.themes.names import person_words, without_person_names
from icpkit.themes.pii import Scrubber, without_contact_details
from icpkit.themes.subthemes import NoteContext, SubTheme, find_sub_themes

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
    sub_themes: list[SubTheme] = field(default_factory=list)  # parts of significant themes only

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
                    "sub_themes": [t.to_dict() for t in self.sub_themes],
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


_ASCII_LETTERS = string.ascii_letters.encode()


def _looks_foreign(text: str) -> bool:
    """Mostly non-Latin letters, or 6+ words with almost no English function words."""
    head = text[:2000]
    if head.isascii():  # the letters are A-Z and a-z: count them in C, not per character
        raw = head.encode()
        n_letters, n_foreign = len(raw) - len(raw.translate(None, _ASCII_LETTERS)), 0
    else:
        letters = [c for c in head if c.isalpha()]
        n_letters, n_foreign = len(letters), sum(not c.isascii() for c in letters)
    if n_letters < 12:
        return False
    if n_foreign / n_letters > 0.3:
        return True
    words = re.findall(r"[^\W\d_]+", head.lower())
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
    vectors = embedder.encode_by_source(texts, frame["source"].fill_null("unknown").to_list())
    lost = (frame["source"] == LOST_SOURCE).fill_null(False).to_numpy()
    fillers = filler_words(texts, frame["source"].fill_null("unknown").to_list())
    parts = [
        _cluster_family(vectors, mask, config, embedder, texts, fillers) for mask in (~lost, lost)
    ]
    clustering, similarity, origins, names = _join(parts, (~lost, lost), vectors)
    themes = _describe(
        frame, texts, clustering, similarity, origins, names, config, contact_names, fillers
    )
    tests: list[ThemeTest] = []
    sub_themes: list[SubTheme] = []
    if outcomes is not None and themes:
        groups = account_groups(outcomes)
        account_ids = frame["account_id"].fill_null("").to_numpy()
        tests = compare_themes(
            account_ids,
            frame["source"],
            clustering.labels,
            clustering.n_themes,
            groups,
            config.alpha,
            could_lose=_could_lose(outcomes),
            lost_deals=_lost_deals(outcomes),
        )
        context = NoteContext(
            vectors, without_contact_details(texts), account_ids.astype(str),
            frame["source"].fill_null("unknown").to_numpy().astype(str), clustering.labels,
        )  # fmt: skip
        sub_themes = find_sub_themes(
            context, tests, groups, config, fillers, _could_lose(outcomes),
            scrub=Scrubber(contact_names or []), lost_deals=_lost_deals(outcomes),
        )  # fmt: skip
    unassigned = int((clustering.labels < 0).sum())
    assignments = pl.DataFrame({"note_row": frame["note_row"], "theme": clustering.labels})
    return ThemeAnalysis(
        themes, tests, frame.height, unassigned, cleaned.warnings, assignments=assignments,
        sub_themes=sub_themes,
    )  # fmt: skip


def _cluster_family(
    vectors: np.ndarray,
    mask: np.ndarray,
    config: ThemesConfig,
    embedder: StaticEmbedder,
    texts: list[str],
    fillers: set[str],
) -> tuple[Clustering, list[str], list[str | None]]:
    """Themes of one family of notes (customers' voice, or lost reasons): a genre of its own.

    The smallest theme kept is ``min_theme_size`` notes or ``min_theme_share`` of the family's
    (sampled) notes, whichever is larger; themes that share keywords or lie close together are
    then joined, and at most ``max_themes`` are kept (:func:`merge_themes`), so the count stays
    readable however many notes there are.
    """
    dim = vectors.shape[1]
    n = int(mask.sum())
    if n < MIN_NOTES:
        none = Clustering(np.full(n, -1), np.zeros((0, dim), np.float32), np.zeros(dim, np.float32))
        return none, [], []
    min_size = max(
        config.min_theme_size, math.ceil(config.min_theme_share * min(n, config.sample_size))
    )
    found = cluster_vectors(
        vectors[mask],
        distance_cut=config.distance_cut,
        min_size=min_size,
        assign_similarity=config.assign_similarity,
        sample_size=config.sample_size,
        random_state=config.seed,
    )
    found = _joined(found, vectors[mask], [t for t, m in zip(texts, mask, strict=True) if m],
                    fillers, config)  # fmt: skip
    return merge_declared(found, vectors[mask], config.declared, config, embedder)


def _joined(
    found: Clustering, vectors: np.ndarray, texts: list[str], fillers: set[str],
    config: ThemesConfig,
) -> Clustering:  # fmt: skip
    """The found themes after joining those that say the same thing (centroids re-computed)."""
    if found.n_themes < 2:
        return found
    words = theme_keywords(texts, found.labels, found.n_themes, extra_stop_words=fillers)
    budget = max(1, config.max_themes - len(config.declared))
    mapping = merge_themes(
        found.labels, found.centroids, words,
        merge_similarity=config.merge_similarity, max_themes=budget,
    )  # fmt: skip
    labels = np.where(found.labels >= 0, mapping[np.maximum(found.labels, 0)], -1)
    k = int(mapping.max()) + 1
    z = centre(vectors, found.center)
    sums = np.zeros((k, vectors.shape[1]))
    np.add.at(sums, labels[labels >= 0], z[labels >= 0])
    centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return Clustering(labels, centroids.astype(np.float32), found.center)


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


def _lost_deals(outcomes: pl.DataFrame) -> dict[str, int] | None:
    """Account → number of lost deals, for the accounts that lost one (None when unknown)."""
    if "n_lost" not in outcomes.columns:
        return None
    lost = outcomes.filter(pl.col("n_lost").fill_null(0) > 0)
    return dict(zip(lost["account_id"].to_list(), lost["n_lost"].to_list(), strict=True))


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
    fillers: set[str],
) -> list[Theme]:
    scrub = Scrubber(contact_names or [])
    person = person_words(texts, contact_names or [])
    labels = clustering.labels
    keywords = theme_keywords(
        without_contact_details(texts), labels, clustering.n_themes, extra_stop_words=fillers
    )
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
