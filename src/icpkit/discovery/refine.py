"""Minimal segments: every condition, and every level of a level set, must earn its place.

A search that maximises a quality score happily adds a condition that trims a few accounts by
chance (``tech_stack contains 'Databricks' AND employees in [15, inf)``, or ``founded_year in
[-inf, 2020)`` beside a real size and industry condition). Following Webb's "productive rules", a
part of segment S is kept only when the accounts it keeps have a higher target rate than the
accounts it excludes:

- a condition c: S against the accounts S − c adds back; c must also exclude at least
  ``MIN_EXCLUDED_SHARE`` of the non-target accounts of S − c on the search half (a condition that
  barely restricts its segment says nothing, however small its p-value);
- a level b of ``attr in V``: the accounts of S − c with level b against those of S − c outside V.

The rate comparison is a one-sided Fisher test at ``alpha``, on the search half *and* on the
held-out half: a chance trim found on the search half rarely repeats on fresh accounts. The
failing part with the largest p-value goes first, until every part passes. The held-out half is
used here only to drop parts, never to add one; the reported test of the final segment still runs
on that half (see docs/discovery.md for what that costs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import pack, popcount
from icpkit.discovery.evidence import Split, cover_bits
from icpkit.discovery.levels import level_index, set_condition
from icpkit.discovery.quality import Counts, Population, Quality
from icpkit.discovery.statistics import enrichment_p
from icpkit.rules import Condition, Segment

# A condition must exclude at least this share of its generalisation's non-target accounts.
MIN_EXCLUDED_SHARE = 0.10


@dataclass(frozen=True)
class Halves:
    """Packed bitsets over the ranked accounts: the target group and the two halves."""

    target: np.ndarray
    search: np.ndarray
    holdout: np.ndarray

    @classmethod
    def of(cls, target: np.ndarray, split: Split) -> Halves:
        return cls(pack(target), pack(split.search), pack(split.holdout))

    def enriched_p(self, inside: np.ndarray, outside: np.ndarray, half: np.ndarray) -> float:
        """One-sided p that ``inside`` has a higher target rate than ``outside`` on ``half``."""
        size_in, size_out = int(popcount(inside & half)), int(popcount(outside & half))
        hits_in = int(popcount(inside & half & self.target))
        hits_out = int(popcount(outside & half & self.target))
        if size_in == 0 or size_out == 0:
            return 1.0
        p = enrichment_p(
            np.array([hits_in]), np.array([size_in]), hits_in + hits_out, size_in + size_out
        )
        return float(p[0])

    def worst_p(self, inside: np.ndarray, outside: np.ndarray) -> float:
        """The larger of the search-half and held-out p-values."""
        return max(
            self.enriched_p(inside, outside, self.search),
            self.enriched_p(inside, outside, self.holdout),
        )

    def excluded_share(self, kept: np.ndarray, general: np.ndarray) -> float:
        """Share of the non-target search-half accounts of ``general`` that ``kept`` excludes."""
        other = general & self.search & ~self.target
        total = int(popcount(other))
        return 1.0 - int(popcount(kept & other)) / total if total else 0.0


def _parts(segment: Segment, table: ConditionTable, halves: Halves) -> list[tuple[float, Segment]]:
    """(badness, simpler segment) for every part of ``segment`` that fails; badness above 1 for
    a condition that barely restricts, else the worse of the two p-values."""
    bits = cover_bits(table, segment)
    levels = level_index(table)
    out = []
    for cond in segment:
        rest = tuple(c for c in segment if c != cond)
        general = cover_bits(table, Segment(rest)) if rest else None
        if general is not None:
            p = halves.worst_p(bits, general & ~bits)
            if halves.excluded_share(bits, general) < MIN_EXCLUDED_SHARE:
                p += 1.0
            out.append((p, Segment(rest)))
        out += _level_parts(cond, rest, general, table, halves, levels)
    return out


def _level_parts(
    cond: Condition,
    rest: tuple[Condition, ...],
    general: np.ndarray | None,
    table: ConditionTable,
    halves: Halves,
    levels: dict[tuple[str, object], int],
) -> list[tuple[float, Segment]]:
    if cond.op != "in" or any((cond.attr, v) not in levels for v in cond.value):
        return []
    scope = general if general is not None else ~np.zeros_like(halves.target)
    outside = scope & ~cover_bits(table, Segment((cond,)))
    out = []
    for value in cond.value:
        inside = scope & table.bits[levels[(cond.attr, value)]]
        smaller = set_condition(cond.attr, tuple(v for v in cond.value if v != value))
        out.append((halves.worst_p(inside, outside), Segment((*rest, smaller))))
    return out


def productive(segment: Segment, table: ConditionTable, halves: Halves, alpha: float) -> Segment:
    """The segment with every part that does not earn its place removed (worst first)."""
    while True:
        failing = [(p, simpler) for p, simpler in _parts(segment, table, halves) if p > alpha]
        if not failing:
            return segment
        segment = max(failing, key=lambda item: item[0])[1]


def simplify(
    segments: list[Segment],
    table: ConditionTable,
    target: np.ndarray,
    split: Split,
    quality: Quality,
    alpha: float,
) -> tuple[list[Segment], list[float]]:
    """Productive versions of ``segments``, de-duplicated and re-ranked by their quality on the
    search half (``table`` and ``target`` cover all ranked accounts)."""
    halves = Halves.of(target, split)
    population = Population(
        int(np.count_nonzero(split.search)), int(np.count_nonzero(target & split.search))
    )
    seen: dict[Segment, float] = {}
    for segment in segments:
        simple = productive(segment, table, halves, alpha)
        if simple in seen:
            continue
        bits = cover_bits(table, simple) & halves.search
        counts = Counts(
            size=np.array([popcount(bits)]), positives=np.array([popcount(bits & halves.target)])
        )
        seen[simple] = float(quality.evaluate(counts, population)[0])
    ranked = sorted(seen.items(), key=lambda item: -item[1])
    return [s for s, _ in ranked], [q for _, q in ranked]
