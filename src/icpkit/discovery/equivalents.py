"""Equivalent conditions: two attributes that select nearly the same accounts.

``country = 'US'`` and ``region = 'North America'`` (or ``funding_stage is missing`` and
``ownership in ('Government', 'Non-profit')``) can cover almost the same accounts when one
attribute is nearly a function of the other. The data then cannot say which one drives the
outcome, and the search keeps whichever the search half happened to favour. So for every
condition of a found segment, the conditions on other attributes whose cover has a Jaccard index of
at least ``JACCARD`` with it (over all ranked accounts) compete: the segment keeps the one with the
best quality on the held-out half, and reports the others as equivalents ("same accounts as …").
Choosing between near-identical covers moves the held-out test of the segment very little: the
accounts, and therefore the counts, are nearly the same whichever is kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import popcount
from icpkit.discovery.evidence import cover_bits
from icpkit.rules import Condition, Segment

# Covers this similar select the same accounts as far as the data can tell.
JACCARD = 0.9


def near_identical(table: ConditionTable, cond: Condition, exclude: set[str]) -> list[Condition]:
    """Conditions of ``table`` on other attributes (not in ``exclude``) whose cover has a Jaccard
    index of at least :data:`JACCARD` with the cover of ``cond``."""
    bits = cover_bits(table, Segment((cond,)))
    inter = popcount(table.bits & bits)
    union = popcount(table.bits) + int(popcount(bits)) - inter
    similar = inter >= JACCARD * np.maximum(union, 1)
    return [
        c
        for j, c in enumerate(table.conditions)
        if similar[j] and c.attr != cond.attr and c.attr not in exclude
    ]


def prefer_held_out(
    segment: Segment, table: ConditionTable, score: Callable[[np.ndarray], float]
) -> tuple[Segment, tuple[str, ...]]:
    """The segment with each condition replaced by its best-scoring near-identical alternative.

    Parameters
    ----------
    segment : Segment
        A found segment.
    table : ConditionTable
        The conditions over all ranked accounts.
    score : callable
        Quality of a cover (packed bitset over the ranked accounts) on the held-out half.

    Returns
    -------
    tuple[Segment, tuple[str, ...]]
        The chosen segment and, per replaced or kept condition, its equivalents as text
        (``"country = 'US' (same accounts as region = 'North America')"``).
    """
    notes: list[str] = []
    for cond in tuple(segment):
        others = tuple(c for c in segment if c != cond)
        options = [cond, *near_identical(table, cond, {c.attr for c in others})]
        if len(options) == 1:
            continue
        scores = [score(cover_bits(table, Segment((*others, c)))) for c in options]
        best = options[int(np.argmax(scores))]  # ties keep the condition the search found
        segment = Segment((*others, best))
        notes += [f"{c} (same accounts as {best})" for c in options if c != best]
    return segment, tuple(notes)
