"""Productive segments: every condition of a reported segment must earn its place.

A search that maximises a quality score happily adds a condition that trims a few accounts by
chance (``tech_stack contains 'Databricks' AND employees in [15, inf)``). Following Webb's
"productive rules", a condition c of segment S is kept only when the accounts S covers have a
higher target rate than the accounts its generalisation S − c adds back (one-sided Fisher test on
the search half, at level ``alpha``); otherwise S is replaced by S − c, until every condition is
productive. This is what makes the planted conditions, and only those, come back.
"""

from __future__ import annotations

import numpy as np

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import pack, popcount
from icpkit.discovery.evidence import cover_bits
from icpkit.discovery.quality import Counts, Population, Quality
from icpkit.discovery.statistics import enrichment_p
from icpkit.rules import Segment


def productive(
    segment: Segment, table: ConditionTable, target_bits: np.ndarray, alpha: float
) -> Segment:
    """The segment with every unproductive condition removed (least productive first)."""
    while len(segment) > 1:
        bits = cover_bits(table, segment)
        size, hits = int(popcount(bits)), int(popcount(bits & target_bits))
        worst_p, worst_cond = 0.0, None
        for cond in segment:
            general = Segment(tuple(c for c in segment if c != cond))
            g_bits = cover_bits(table, general)
            g_size, g_hits = int(popcount(g_bits)), int(popcount(g_bits & target_bits))
            p = float(enrichment_p(np.array([hits]), np.array([size]), g_hits, g_size)[0])
            if p > worst_p:
                worst_p, worst_cond = p, cond
        if worst_p <= alpha or worst_cond is None:
            return segment
        segment = Segment(tuple(c for c in segment if c != worst_cond))
    return segment


def simplify(
    segments: list[Segment],
    table: ConditionTable,
    target: np.ndarray,
    quality: Quality,
    alpha: float,
) -> tuple[list[Segment], list[float]]:
    """Productive versions of ``segments``, de-duplicated and re-ranked by their own quality."""
    target_bits = pack(target)
    population = Population(table.n_rows, int(np.count_nonzero(target)))
    seen: dict[Segment, float] = {}
    for segment in segments:
        simple = productive(segment, table, target_bits, alpha)
        if simple in seen:
            continue
        bits = cover_bits(table, simple)
        counts = Counts(
            size=np.array([popcount(bits)]), positives=np.array([popcount(bits & target_bits)])
        )
        seen[simple] = float(quality.evaluate(counts, population)[0])
    ranked = sorted(seen.items(), key=lambda item: -item[1])
    return [s for s, _ in ranked], [q for _, q in ranked]
