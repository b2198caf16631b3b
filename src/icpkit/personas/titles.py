"""Job title → business function and seniority, offline, with a confidence per title.

A title is cleaned (:func:`~icpkit.personas.lexicon.clean_titles`), cut before words that
describe someone else ("Assistant *to the CEO*"), its abbreviations expanded ("VP" → "vice
president") and its German/Dutch compounds split ("Vertriebsleiter" → "vertriebs leiter"). The
longest vocabulary terms are then matched left to right, once for functions and once for
seniority. The function is the one with the most weight; seniority the most senior cue.

Confidence of each part = (share of the function weight the winner holds; 1 for seniority) ×
(0.5 + 0.5 × the share of the title's meaningful words that matched a term). A part below the
threshold is "Unknown" rather than a guess; the reported ``confidence`` is the mean of both parts
(an Unknown part counts 0). Work is done once per distinct cleaned title, so a million contacts
with a few hundred thousand distinct titles take seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np
import polars as pl

from icpkit.personas.lexicon import (
    NEUTRAL,
    RANK,
    SENIORITIES,
    UNKNOWN,
    Lexicon,
    Term,
    clean_titles,
    default_lexicon,
)

DEFAULT_MIN_CONFIDENCE = 0.5
OUTPUT_COLUMNS = ("function", "seniority", "confidence")
V = TypeVar("V")
UNKNOWN_WORD = "?"  # no vocabulary term or modifier contains it
_CXO = re.compile(r"^c[a-z]{1,3}o$")  # CFO, CISO, CxO… not in the vocabulary: still C-level


@dataclass(frozen=True)
class TitleReading:
    """What the classifier read in one cleaned title."""

    function: str
    seniority: str
    function_confidence: float
    seniority_confidence: float

    @property
    def confidence(self) -> float:
        return (self.function_confidence + self.seniority_confidence) / 2


_BLANK = TitleReading(UNKNOWN, UNKNOWN, 0.0, 0.0)


class TitleClassifier:
    """Classifies cleaned titles with one lexicon; caches word-level work across titles."""

    def __init__(self, lexicon: Lexicon, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> None:
        self.lexicon = lexicon
        self.min_confidence = min_confidence
        self._known = lexicon.known_words
        self._function_starts = _starts(lexicon.functions)
        self._level_starts = _starts(lexicon.seniority)
        self._expand = lru_cache(maxsize=200_000)(self._expand_word)
        self._read_pattern = lru_cache(maxsize=200_000)(self._read_tuple)

    def words(self, cleaned: str) -> list[str]:
        """The title's words after cutting, abbreviation expansion, compound splits, stopwords."""
        lex = self.lexicon
        raw = cleaned.split()
        for i, word in enumerate(raw[1:], start=1):
            if word in lex.cut_after:
                raw = raw[:i]
                break
        out: list[str] = []
        for word in raw:
            out.extend(self._expand(word))
        return [w for w in out if w not in lex.stopwords]

    def _expand_word(self, word: str) -> tuple[str, ...]:
        lex = self.lexicon
        if word in lex.abbreviations:
            return lex.abbreviations[word]
        if word in self._known or word in lex.stopwords or word in lex.modifiers:
            return (word,)
        if "&" in word or "+" in word:
            parts = [p for p in re.split(r"[&+]", word) if p]
            return tuple(w for p in parts for w in self._expand_word(p))
        return self._split_compound(word)

    def _split_compound(self, word: str) -> tuple[str, ...]:
        """'vertriebsleiter' → ('vertriebs', 'leiter'); unchanged when no split is known."""
        if len(word) < 6:
            return (word,)
        known = self._known
        for i in range(len(word) - 3, 2, -1):  # longest known tail first
            head, tail = word[:i], word[i:]
            if tail not in known:
                continue
            for stem in (head, head[:-1] if head.endswith("s") else None):
                if stem and stem in known:
                    return (*self._expand_word(stem), *self._expand_word(tail))
        return (word,)

    def read(self, cleaned: str) -> TitleReading:
        """Function and seniority of one cleaned title."""
        override = self.lexicon.overrides.get(cleaned)
        words = self.words(cleaned) if cleaned else []
        reading = self._read_pattern(self._pattern(words)) if words else _BLANK
        if override is not None:
            function, level = override
            reading = TitleReading(
                function or reading.function,
                level or reading.seniority,
                1.0 if function else reading.function_confidence,
                1.0 if level else reading.seniority_confidence,
            )
        return reading

    def _pattern(self, words: list[str]) -> tuple[str, ...]:
        """The words with every unknown one as '?': titles that differ only in words no term
        knows (team, product or place names, typos) read the same, so each pattern is read once."""
        known, modifiers = self._known, self.lexicon.modifiers
        return tuple(
            w if w in known or w in modifiers or _CXO.match(w) else UNKNOWN_WORD for w in words
        )

    def _read_tuple(self, pattern: tuple[str, ...]) -> TitleReading:
        return self._read_words(list(pattern))

    def _read_words(self, words: list[str]) -> TitleReading:
        lex = self.lexicon
        function_hits = _match(words, lex.functions, self._function_starts)
        level_hits = _match(words, lex.seniority, self._level_starts)
        matched = {i for _, span, _ in (*function_hits, *level_hits) for i in span}
        levels: list[str] = [value for _, _, value in level_hits]
        for i, word in enumerate(words):
            if i not in matched and _CXO.match(word):
                levels.append("C-level")
                matched.add(i)
        content = [i for i, w in enumerate(words) if w not in lex.modifiers]
        if not content:
            return _BLANK
        coverage = len(matched & set(content)) / len(content)
        certainty = 0.5 + 0.5 * coverage
        function, f_conf = UNKNOWN, 0.0
        weights: dict[str, float] = {}
        for _, _, (name, weight) in function_hits:
            if name != NEUTRAL:
                weights[name] = weights.get(name, 0.0) + weight
        if weights:
            best = max(weights.values())
            function = next(n for n, w in weights.items() if w == best)  # first mentioned
            f_conf = best / sum(weights.values()) * certainty
        level, s_conf = UNKNOWN, 0.0
        if levels:
            level, s_conf = max(levels, key=RANK.__getitem__), certainty
        if f_conf < self.min_confidence:
            function, f_conf = UNKNOWN, 0.0
        if s_conf < self.min_confidence:
            level, s_conf = UNKNOWN, 0.0
        return TitleReading(function, level, round(f_conf, 3), round(s_conf, 3))


def _starts(terms: dict[Term, V]) -> dict[str, int]:
    """First word of any term → the longest term starting with it (most words to try)."""
    longest: dict[str, int] = {}
    for term in terms:
        longest[term[0]] = max(longest.get(term[0], 0), len(term))
    return longest


def _match(
    words: list[str], terms: dict[Term, V], starts: dict[str, int]
) -> list[tuple[Term, range, V]]:
    """Longest terms first, left to right, not overlapping: (term, word positions, value)."""
    hits: list[tuple[Term, range, V]] = []
    i = 0
    while i < len(words):
        longest = starts.get(words[i], 0)
        for size in range(min(longest, len(words) - i), 0, -1):
            term = tuple(words[i : i + size])
            if term in terms:
                hits.append((term, range(i, i + size), terms[term]))
                i += size
                break
        else:
            i += 1
    return hits


def classify_titles(
    titles: Iterable[str | None] | pl.Series,
    *,
    lexicon: Lexicon | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> pl.DataFrame:
    """Business function, seniority and a confidence for every job title.

    Parameters
    ----------
    titles : iterable of str or polars.Series
        Raw job titles as typed in the CRM, any language of the vocabulary, nulls allowed.
    lexicon : Lexicon, optional
        Vocabularies and overrides (default: the shipped vocabularies, no overrides).
    min_confidence : float
        Parts read with less confidence than this are "Unknown" rather than a guess.

    Returns
    -------
    polars.DataFrame
        One row per input title, in order: ``title``, ``function`` (one of ``FUNCTIONS`` or
        "Unknown"), ``seniority`` (one of ``SENIORITIES`` or "Unknown"), ``confidence`` (0–1).

    Examples
    --------
    >>> classify_titles(["VP, Finance & Ops (interim)", "Vertriebsleiter DACH"]).rows()
    [('VP, Finance & Ops (interim)', 'Finance', 'VP', 0.778), ('Vertriebsleiter DACH', 'Sales', 'Director', 1.0)]
    """
    series = titles if isinstance(titles, pl.Series) else pl.Series(list(titles), dtype=pl.Utf8)
    series = series.cast(pl.Utf8).rename("title")
    lex = lexicon or default_lexicon()
    frame = pl.DataFrame({"title": series})
    uniques = series.unique()
    cleaned = clean_titles(uniques, lex.rewrites)
    readings = _read_all(cleaned, TitleClassifier(lex, min_confidence))
    table = pl.DataFrame({"title": uniques}).hstack(readings)
    return frame.join(table, on="title", how="left", nulls_equal=True, maintain_order="left")


def _read_all(cleaned: pl.Series, classifier: TitleClassifier) -> pl.DataFrame:
    """Readings of every cleaned title, computed once per distinct cleaned text."""
    codes = cleaned.to_frame("c").with_columns(pl.col("c").rank("dense").cast(pl.Int64) - 1)["c"]
    distinct = cleaned.unique(maintain_order=False).sort()
    readings = [classifier.read(text) for text in distinct.to_list()]
    functions = np.array([r.function for r in readings], dtype=object)
    levels = np.array([r.seniority for r in readings], dtype=object)
    confidence = np.array([r.confidence for r in readings], dtype=np.float64)
    index = codes.to_numpy()
    return pl.DataFrame(
        {
            "function": pl.Series(functions[index], dtype=pl.Utf8),
            "seniority": pl.Series(levels[index], dtype=pl.Utf8),
            "confidence": np.round(confidence[index], 3),
        }
    )


__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "OUTPUT_COLUMNS",
    "SENIORITIES",
    "TitleClassifier",
    "TitleReading",
    "classify_titles",
]
