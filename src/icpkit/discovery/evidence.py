"""Honest evidence for found segments: a search half, a held-out half, and BH across the report.

The search sees only the search half of the ranked accounts. Every segment it reports is then tested
once on the held-out half, which the search never saw, so the many segments tried during the search
cannot make a chance pattern look significant; Benjamini–Hochberg runs across the reported segments.
Support, coverage, precision and lift are shown on all ranked accounts (the description), the
holdout lift and q-value beside them (the test). See docs/discovery.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import pack, popcount, unpack
from icpkit.discovery.levels import level_index, level_set_bits
from icpkit.discovery.statistics import (
    enrichment_p,
    lift_interval,
    mean_shift_p,
)
from icpkit.profile import Evidence, RuleEvidence
from icpkit.rules import Segment
from icpkit.stats import bh_q_values

# Below these held-out counts a test has almost no power: the evidence is "insufficient".
MIN_HOLDOUT_TARGET = 10
MIN_HOLDOUT_SUPPORT = 5
# "strong" needs a q-value this many times below alpha and this many held-out accounts.
STRONG_FACTOR = 10
STRONG_SUPPORT = 30


@dataclass(frozen=True)
class Split:
    """Which ranked rows the search may see and which are held out (boolean masks)."""

    search: np.ndarray
    holdout: np.ndarray


def stratified_split(labels: np.ndarray, seed: int) -> Split:
    """Half of each label group to the search, half held out (odd counts: the extra to search)."""
    rng = np.random.default_rng(seed)
    search = np.zeros(labels.size, dtype=bool)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        rng.shuffle(rows)
        search[rows[: (rows.size + 1) // 2]] = True
    return Split(search=search, holdout=~search)


def subset_table(table: ConditionTable, rows: np.ndarray) -> ConditionTable:
    """The same conditions on a subset of the rows (``rows`` is a boolean mask)."""
    bits = (
        np.stack([pack(table.mask(j)[rows]) for j in range(len(table))])
        if len(table)
        else np.zeros((0, 1), dtype=np.uint64)
    )
    return ConditionTable(table.conditions, bits, table.attr_index, int(np.count_nonzero(rows)))


def cover_bits(
    table: ConditionTable, segment: Segment, frame: pl.DataFrame | None = None
) -> np.ndarray:
    """Bitset of the rows a segment covers: AND of its conditions' bitsets. A condition outside the
    table is an ``in`` set OR-ed from its levels' bitsets or, failing that, read from ``frame``."""
    index, levels = table.index, level_index(table)
    bits = table.all_rows
    for cond in segment:
        own = table.bits[index[cond]] if cond in index else level_set_bits(table, cond, levels)
        if own is None:
            if frame is None:
                raise KeyError(f"condition {cond} is not in the table and no frame was given")
            return pack(segment.mask(frame))
        bits = bits & own
    return bits


@dataclass(frozen=True)
class SegmentEvidence:
    """A reported segment with its description on all ranked accounts and its held-out test."""

    segment: Segment
    quality: float
    support: int
    positives: int
    coverage: float
    precision: float
    lift: float
    lift_ci: tuple[float, float]
    holdout_support: int
    holdout_positives: int
    holdout_lift: float | None
    p_value: float
    q_value: float
    significant: bool
    evidence: Evidence
    equivalents: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rule"] = str(self.segment)
        del out["segment"]
        out["lift_ci"] = list(self.lift_ci)
        out["equivalents"] = list(self.equivalents)
        return {"rule": out.pop("rule"), **out}

    def to_rule_evidence(self, description: str = "") -> RuleEvidence:
        """The profile's view of this segment (criterion or disqualifier)."""
        return RuleEvidence(
            rule=str(self.segment),
            support=self.support,
            coverage=self.coverage,
            precision=self.precision,
            lift=self.lift,
            lift_ci=self.lift_ci,
            p_value=self.p_value,
            q_value=self.q_value,
            significant=self.significant,
            evidence=self.evidence,
            holdout_lift=self.holdout_lift,
            description=(
                f"{description} (equivalent: {'; '.join(self.equivalents)})"
                if description and self.equivalents
                else description
            ),
            points=None,
        )


@dataclass(frozen=True)
class EvidenceContext:
    """The ranked accounts a family of segments is measured on."""

    table: ConditionTable
    target: np.ndarray
    split: Split
    alpha: float
    frame: pl.DataFrame | None = None
    value: np.ndarray | None = None


def measure(
    segments: list[Segment], qualities: list[float], ctx: EvidenceContext
) -> list[SegmentEvidence]:
    """Describe every segment on all ranked accounts, test it on the held-out half, BH across."""
    target_bits = pack(ctx.target)
    n_total, n_target = ctx.table.n_rows, int(np.count_nonzero(ctx.target))
    base = n_target / max(n_total, 1)
    held = ctx.split.holdout
    h_total, h_target = int(held.sum()), int((ctx.target & held).sum())
    rows = []
    for segment in segments:
        bits = cover_bits(ctx.table, segment, ctx.frame)
        covered = unpack(bits, n_total)
        size, hits = int(popcount(bits)), int(popcount(bits & target_bits))
        h_size, h_hits = int((covered & held).sum()), int((covered & held & ctx.target).sum())
        if ctx.value is not None:
            p = mean_shift_p(ctx.value[held], covered[held])
        else:
            p = float(enrichment_p(np.array([h_hits]), np.array([h_size]), h_target, h_total)[0])
        rows.append((size, hits, h_size, h_hits, p))
    q_values = bh_q_values([r[4] for r in rows])
    out = []
    for segment, quality, (size, hits, h_size, h_hits, p), q in zip(
        segments, qualities, rows, q_values, strict=True
    ):
        lo, hi = lift_interval(np.array([hits]), np.array([size]), base)
        h_lift = (h_hits / h_size) / (h_target / h_total) if h_size and h_target else None
        level = evidence_level(float(q), ctx.alpha, h_size, h_target, h_lift)
        out.append(
            SegmentEvidence(
                segment=segment,
                quality=float(quality),
                support=size,
                positives=hits,
                coverage=hits / max(n_target, 1),
                precision=hits / max(size, 1),
                lift=(hits / max(size, 1)) / max(base, 1e-12),
                lift_ci=(float(lo[0]), float(hi[0])),
                holdout_support=h_size,
                holdout_positives=h_hits,
                holdout_lift=h_lift,
                p_value=float(p),
                q_value=float(q),
                significant=level in ("strong", "moderate"),
                evidence=level,
            )
        )
    return out


def evidence_level(
    q: float, alpha: float, holdout_support: int, holdout_target: int, holdout_lift: float | None
) -> Evidence:
    """insufficient / weak / moderate / strong, as defined in docs/discovery.md."""
    if holdout_target < MIN_HOLDOUT_TARGET or holdout_support < MIN_HOLDOUT_SUPPORT:
        return "insufficient"
    if q >= alpha or holdout_lift is None or holdout_lift <= 1.0:
        return "weak"
    if q < alpha / STRONG_FACTOR and holdout_support >= STRONG_SUPPORT:
        return "strong"
    return "moderate"


def drop_redundant(
    segments: list[Segment], table: ConditionTable, limit: int, jaccard: float = 0.9
) -> list[int]:
    """Indices of the segments to keep: in order, skipping any that covers nearly the same rows
    (Jaccard ≥ ``jaccard``) as one already kept; at most ``limit``."""
    kept: list[int] = []
    covers: list[np.ndarray] = []
    for i, segment in enumerate(segments):
        bits = cover_bits(table, segment)
        size = int(popcount(bits))
        duplicate = False
        for other in covers:
            inter = int(popcount(bits & other))
            union = size + int(popcount(other)) - inter
            if union and inter / union >= jaccard:
                duplicate = True
                break
        if not duplicate:
            kept.append(i)
            covers.append(bits)
            if len(kept) >= limit:
                break
    return kept
