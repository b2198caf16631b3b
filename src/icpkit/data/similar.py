"""Closest-name suggestions ("did you mean …?") and name similarity, on rapidfuzz.

One place for the measure every hint and guess uses: rapidfuzz's normalised Indel similarity
(``fuzz.ratio``, 0–1 here: 2 × longest common subsequence / total length), in C, so a
typo in a column, sheet, table or country name is matched the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable


def similarity(a: str, b: str) -> float:
    """How alike two strings are, 0 (nothing shared) to 1 (equal); case matters."""
    from rapidfuzz import fuzz

    return float(fuzz.ratio(a, b)) / 100.0


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice most like ``word`` if its similarity is at least ``cutoff``, else None."""
    from rapidfuzz import fuzz, process

    found = process.extractOne(word, list(choices), scorer=fuzz.ratio, score_cutoff=cutoff * 100)
    return None if found is None else str(found[0])
