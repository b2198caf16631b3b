"""Minimal segments: every condition, and every level of a level set, must earn its place.

A search that maximises a quality score happily adds a condition that trims a few accounts by
chance (``tech_stack contains 'Databricks' AND employees in [15, inf)``, or ``founded_year in
[-inf, 2020)`` beside a real size and industry condition). Following Webb's "productive rules", a
part of segment S is kept only when the accounts it keeps have a higher target rate than the
accounts it excludes, on the search half:

- a condition c: S against the accounts S − c adds back. c must also exclude at least
  ``MIN_EXCLUDED_SHARE`` of the non-target accounts of S − c: a condition that barely restricts
  its segment says nothing, however small its p-value.
- a level b of ``attr in V``: the accounts of S − c with level b against those of S − c outside V.

The rate comparison is a one-sided Fisher test at ``alpha`` with a Bonferroni factor for the choice
the search made: a condition was the best of the attributes it could have come from (those not
already in S − c; the conditions of one attribute are nested ranges or levels of one trait, so the
attributes, not the conditions, count), a level one of its attribute's levels. Without that factor the
best of a hundred chance trims passes a 5 % test almost every time. The failing part with the
largest p-value goes first, until every part passes.

The search half alone still lets chance trims through: the segment was picked from thousands, each
with its own candidate trims, and the Bonferroni factor counts attributes, not the ranges of each
(measured in issue 28: an event count drawn independently of every outcome entered a criterion or
a disqualifier as a third condition on 5 of 10 seeds). So ``confirmed`` tests each condition of a
segment of two or more once more on the held-out half — one pre-specified one-sided test at
``alpha`` per condition (the choice was made on the other half, so no factor): a real restriction
holds there too, a chance trim almost never does (its p-value is uniform there). The segment's
final test is on the held-out half as well; pruning can only widen a segment, so it does not make
that test easier to pass with a chance condition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import popcount
from icpkit.discovery.evidence import cover_bits
from icpkit.discovery.levels import level_index, set_condition
from icpkit.discovery.statistics import enrichment_p
from icpkit.rules import Condition, Segment

# A condition must exclude at least this share of its generalisation's non-target accounts.
MIN_EXCLUDED_SHARE = 0.10


@dataclass(frozen=True)
class _Part:
    """One condition or level of a segment: the rows it keeps and excludes (search half only),
    the Bonferroni factor of its choice, and the segment without it."""

    inside: np.ndarray
    outside: np.ndarray
    factor: int
    simpler: Segment
    restricts: bool = True
    level: bool = False


def _parts(segment: Segment, table: ConditionTable, target: np.ndarray) -> list[_Part]:
    """The parts of ``segment``; ``table`` covers the search half, ``target`` is packed."""
    bits = cover_bits(table, segment)
    attrs = {c.attr for c in table.conditions}  # once per segment, not once per condition
    out = []
    for cond in segment:
        rest = tuple(c for c in segment if c != cond)
        general = cover_bits(table, Segment(rest))
        if rest:
            taken = {c.attr for c in rest}
            other = general & ~target
            n_other = int(popcount(other))
            excluded = 1.0 - int(popcount(bits & other)) / n_other if n_other else 0.0
            out.append(
                _Part(
                    bits,
                    general & ~bits,
                    len(attrs - taken),
                    Segment(rest),
                    excluded >= MIN_EXCLUDED_SHARE,
                )
            )
        out += _level_parts(cond, rest, general, table)
    return out


def _level_parts(
    cond: Condition, rest: tuple[Condition, ...], general: np.ndarray, table: ConditionTable
) -> list[_Part]:
    levels = level_index(table)
    if cond.op != "in" or any((cond.attr, v) not in levels for v in cond.value):
        return []
    outside = general & ~cover_bits(table, Segment((cond,)))
    n_levels = sum(attr == cond.attr for attr, _ in levels)
    return [
        _Part(
            general & table.bits[levels[(cond.attr, value)]],
            outside,
            n_levels,
            Segment((*rest, set_condition(cond.attr, tuple(v for v in cond.value if v != value)))),
            level=True,
        )
        for value in cond.value
    ]


def _rate_p(parts: list[_Part], target: np.ndarray, empty: float) -> np.ndarray:
    """One-sided Fisher p that each part's kept rows beat its excluded rows (``empty`` where a
    side has no row)."""
    inside, outside = np.stack([p.inside for p in parts]), np.stack([p.outside for p in parts])
    size_in, size_out = popcount(inside), popcount(outside)
    hits_in, hits_out = popcount(inside & target), popcount(outside & target)
    p = enrichment_p(hits_in, size_in, hits_in + hits_out, size_in + size_out)
    return np.where((size_in > 0) & (size_out > 0), p, empty)


def _p_values(parts: list[_Part], target: np.ndarray) -> np.ndarray:
    """Bonferroni-adjusted :func:`_rate_p`; 1 plus that for a condition that barely restricts (so
    it goes first)."""
    p = np.minimum(_rate_p(parts, target, 1.0) * np.array([part.factor for part in parts]), 1.0)
    return p + np.array([0.0 if part.restricts else 1.0 for part in parts])


def _walk(
    segment: Segment,
    step: Callable[[Segment], Segment | None],
    memo: dict[Segment, Segment] | None,
    shortest: int,
) -> Segment:
    """Apply ``step`` (the next, simpler segment, or None to stop) while the segment has more
    than ``shortest`` conditions; ``memo`` maps every segment walked to where its walk ended."""
    walked: list[Segment] = []
    while len(segment) > shortest:
        if memo is not None and segment in memo:
            segment = memo[segment]
            break
        walked.append(segment)
        simpler = step(segment)
        if simpler is None:
            break
        segment = simpler
    if memo is not None:
        memo.update(dict.fromkeys(walked, segment))
    return segment


def _worst(parts: list[_Part], p: np.ndarray, alpha: float) -> Segment | None:
    """The segment without the part with the largest p-value, or None when every part passes."""
    worst = int(np.argmax(p))
    return None if p[worst] <= alpha else parts[worst].simpler


def productive(
    segment: Segment,
    table: ConditionTable,
    target: np.ndarray,
    alpha: float,
    memo: dict[Segment, Segment] | None = None,
) -> Segment:
    """The segment with every part that does not earn its place removed (worst first).

    ``table`` holds the search half's rows and ``target`` is the packed target on those rows.
    ``memo`` (segment → its result, for one ``table`` and ``target``) lets the candidates of one
    search round share their walks: each step depends on the current segment only, so a walk that
    reaches a segment seen before ends where that one ended (a round's candidates are mostly
    variants of a few segments: 9,096 walk steps of the demo build were 3,819 distinct ones).
    """

    def step(current: Segment) -> Segment | None:
        parts = _parts(current, table, target)
        return _worst(parts, _p_values(parts, target), alpha) if parts else None

    return _walk(segment, step, memo, 0)


def confirmed(
    segment: Segment,
    table: ConditionTable,
    target: np.ndarray,
    alpha: float,
    memo: dict[Segment, Segment] | None = None,
) -> Segment:
    """The segment without the conditions that do not hold on other rows (worst first).

    ``table`` holds rows the search never saw (the held-out half) and ``target`` is the packed
    target on them. Only conditions of a segment of two or more are tested (each against the
    accounts its removal adds back, one-sided Fisher at ``alpha``, no Bonferroni factor: the
    condition was chosen on the other half); a single condition is the final test's to judge.
    ``memo`` as in :func:`productive` (for one ``table`` and ``target``).
    """

    def step(current: Segment) -> Segment | None:
        parts = [p for p in _parts(current, table, target) if not p.level]
        # no held-out account to judge by (an empty side) is no evidence against the condition
        return _worst(parts, _rate_p(parts, target, 0.0), alpha) if parts else None

    return _walk(segment, step, memo, 1)
