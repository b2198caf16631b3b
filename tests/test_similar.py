"""Closest-name suggestions: one rapidfuzz measure behind every "did you mean …?"."""

from __future__ import annotations

import pytest

from icpkit.data.similar import closest, similarity


def test_similarity_is_the_normalised_indel_ratio() -> None:
    assert similarity("deals", "deals") == 1.0
    assert similarity("abc", "xyz") == 0.0
    assert similarity("deal", "deals") == pytest.approx(8 / 9)


@pytest.mark.parametrize(
    ("word", "choices", "cutoff", "expected"),
    [
        ("acounts", ["accounts", "deals", "contacts"], 0.6, "accounts"),
        ("philipines", ["philippines", "finland"], 0.85, "philippines"),
        ("zzz", ["accounts", "deals"], 0.6, None),
        ("deals", [], 0.6, None),
    ],
)
def test_closest_returns_the_best_choice_above_the_cutoff(
    word: str, choices: list[str], cutoff: float, expected: str | None
) -> None:
    assert closest(word, choices, cutoff) == expected
