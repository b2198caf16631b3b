"""find_icp: the segments of the best customers, the disqualifiers, and the ICP statement.

Only ranked accounts (labels best / worst / rest) enter the statistics: 'unranked' accounts have no
outcome yet, so counting them as 'rest' would dilute every contrast with prospects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig
from icpkit.data.trait_words import is_placeholder
from icpkit.discovery.attributes import (
    ConditionTable,
    attribute_columns,
    condition_table,
    trait_conditions,
)
from icpkit.discovery.bitsets import pack, popcount, unpack
from icpkit.discovery.equivalents import prefer_held_out
from icpkit.discovery.evidence import (
    EvidenceContext,
    SegmentEvidence,
    Split,
    cover_bits,
    evidence_level,
    measure,
    restrict_rows,
    stratified_split,
    subset_table,
)
from icpkit.discovery.levels import with_level_sets
from icpkit.discovery.quality import BinomialZ, Counts, Population, Quality, quality_named
from icpkit.discovery.refine import confirmed, productive
from icpkit.discovery.search import DepthFirstSearch, SearchTask
from icpkit.discovery.statement import describe_condition, describe_segment, icp_statement
from icpkit.discovery.statistics import enrichment_p
from icpkit.discovery.traits import single_traits
from icpkit.errors import ConfigError, InsufficientDataError
from icpkit.profile import RuleEvidence, SingleTrait
from icpkit.rules import Condition, Segment
from icpkit.vocab import LABELS

# Candidates per covering round: the round's new families and the variants listed under them.
_ROUND_CANDIDATES = 200
# Two segments whose smaller target group lies at least this much inside the other are variants
# (see _variant_of for the rest of the test).
VARIANT_SHARE = 0.5
_MAX_VARIANTS = 5
# Candidates made minimal per family still to find, in each round.
_SIMPLIFY_PER_SLOT = 3
# Below these counts the caveats say the evidence is weak at best.
_FEW_RANKED, _FEW_TARGET = 200, 30
# A further criterion must add at least this share of the target group.
_MIN_NEW_COVERAGE = 0.05
# ... unless it is a distinct family with strong evidence and at least this lift: a small segment
# twice as likely to hold best customers is worth naming however few accounts it holds.
_SMALL_STRONG_LIFT = 2.0


@dataclass(frozen=True)
class DiscoveryResult:
    """The reported segments for one target group, best first, with how they were found."""

    target: str
    segments: tuple[SegmentEvidence, ...]
    n_accounts: int
    n_target: int
    n_search: int
    n_holdout: int
    n_tried: int
    quality: str
    conditions: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "n_accounts": self.n_accounts,
            "n_target": self.n_target,
            "n_search": self.n_search,
            "n_holdout": self.n_holdout,
            "n_tried": self.n_tried,
            "quality": self.quality,
            "conditions": self.conditions,
            "segments": [s.to_dict() for s in self.segments],
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per segment (rule, support, coverage, precision, lift, CI, q-value, …)."""
        rows = [s.to_dict() for s in self.segments]
        for row in rows:
            row["lift_lo"], row["lift_hi"] = row.pop("lift_ci")
            row["equivalents"] = "; ".join(row["equivalents"])
        return (
            pl.DataFrame(rows, infer_schema_length=None)
            if rows
            else pl.DataFrame(schema={"rule": pl.Utf8, "support": pl.Int64, "q_value": pl.Float64})
        )


@dataclass(frozen=True)
class IcpDiscovery:
    """The ICP found in the data: core criteria, disqualifiers, statement and all evidence."""

    criteria: list[RuleEvidence]
    disqualifiers: list[RuleEvidence]
    statement: str
    segments: DiscoveryResult
    disqualifier_segments: DiscoveryResult
    single_traits: list[SingleTrait]
    caveats: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": self.statement,
            "criteria": [c.model_dump(mode="json") for c in self.criteria],
            "disqualifiers": [d.model_dump(mode="json") for d in self.disqualifiers],
            "segments": self.segments.to_dict(),
            "disqualifier_segments": self.disqualifier_segments.to_dict(),
            "single_traits": [t.model_dump(mode="json") for t in self.single_traits],
            "caveats": self.caveats,
        }


def find_icp(
    accounts: pl.DataFrame,
    labels: np.ndarray,
    settings: DiscoveryConfig,
    *,
    value: np.ndarray | None = None,
) -> IcpDiscovery:
    """Discover the ICP: segments of the best customers, disqualifiers from the worst, a statement.

    Parameters
    ----------
    accounts : pl.DataFrame
        The accounts table (attributes are chosen by :func:`attribute_columns`).
    labels : np.ndarray
        'best' / 'worst' / 'rest' / 'unranked' per row of ``accounts``; unranked rows are left out.
    settings : DiscoveryConfig
        Search settings (depth, support, quality, alpha, criteria count, precision floor, seed).
    value : np.ndarray, optional
        A numeric outcome per account (e.g. won revenue), needed by the ``mean_shift`` quality.

    Returns
    -------
    IcpDiscovery
    """
    labels = _check_labels(accounts, labels)
    ranked = labels != "unranked"
    frame, labels = accounts.filter(pl.Series(ranked)), labels[ranked]
    if value is not None:
        value = np.asarray(value, dtype=np.float64)[ranked]
    attrs = attribute_columns(frame, settings)
    every = condition_table(frame, attrs, settings)
    table = trait_conditions(every, settings)  # no criterion is made of "unknown" or missing
    best, worst = labels == "best", labels == "worst"
    keys = frame["account_id"].to_numpy() if "account_id" in frame.columns else None
    split = stratified_split(labels, settings.seed, keys)  # by account, not by row position
    found = discover(frame, table, best, split, settings, value=value, target="best")
    avoid = discover(frame, table, worst, split, settings, target="worst")
    ctx = EvidenceContext(table, best, split, settings.alpha, frame)
    criteria = choose_criteria(found, ctx, settings)
    disqualifiers = choose_criteria(
        avoid, EvidenceContext(table, worst, split, settings.alpha, frame), settings
    )
    caveats = _caveats(labels, accounts.height, attrs, found)
    return IcpDiscovery(
        criteria=[c.to_rule_evidence(describe_segment(c.segment)) for c in criteria],
        disqualifiers=[d.to_rule_evidence(describe_segment(d.segment)) for d in disqualifiers],
        statement=_statement(criteria, disqualifiers, found),
        segments=found,
        disqualifier_segments=avoid,
        single_traits=single_traits(every, best, worst, seed=settings.seed),
        caveats=caveats,
    )


def _check_labels(accounts: pl.DataFrame, labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels).astype(str)
    if labels.shape != (accounts.height,):
        raise ConfigError(
            f"labels must have one entry per account: got {labels.shape[0] if labels.ndim else 0} "
            f"for {accounts.height} accounts"
        )
    unknown = sorted(set(np.unique(labels)) - set(LABELS))
    if unknown:
        raise ConfigError(f"labels must be one of {LABELS}; found {unknown[:5]}")
    n_ranked = int(np.count_nonzero(labels != "unranked"))
    if n_ranked < 10 or not np.any(labels == "best"):
        raise InsufficientDataError(
            f"discovery needs at least 10 accounts with an outcome, some of them 'best'; found "
            f"{n_ranked} ranked accounts, {int(np.count_nonzero(labels == 'best'))} best"
        )
    return labels


def discover(
    frame: pl.DataFrame,
    table: ConditionTable,
    in_target: np.ndarray,
    split: Split,
    settings: DiscoveryConfig,
    *,
    value: np.ndarray | None = None,
    target: str = "best",
) -> DiscoveryResult:
    """Search the search half for segments of the ``in_target`` accounts; measure them on all
    ranked accounts and test them on the held-out half.

    ``target`` names the group ('best' or 'worst'); the disqualifier search ('worst') always uses
    the binomial quality, a numeric ``value`` only serves the 'best' search with ``mean_shift``.
    """
    if settings.quality != "mean_shift" or target != "best":
        table = with_level_sets(table, split.search, in_target)
    search_table = subset_table(table, split.search)
    numeric = settings.quality == "mean_shift"
    if numeric and value is None and target == "best":
        raise ConfigError("discovery.quality = 'mean_shift' needs a numeric value (won revenue)")
    quality = quality_named(settings.quality if target == "best" else "binomial")
    if quality.numeric_target and target != "best":
        quality = BinomialZ()
    goal = (
        value[split.search]
        if quality.numeric_target and value is not None
        else in_target[split.search]
    )
    min_support = max(
        math.ceil(settings.min_support_count / 2),
        math.ceil(settings.min_support * search_table.n_rows),
    )
    held_out = subset_table(table, split.holdout)
    families, n_tried = find_families(
        search_table,
        goal,
        quality,
        settings,
        min_support,
        settings.top_k,
        holdout=(held_out, pack(np.asarray(in_target[split.holdout], dtype=bool))),
    )
    ctx = EvidenceContext(
        table, in_target, split, settings.alpha, frame, value if quality.numeric_target else None
    )
    chosen = [prefer_held_out(f.head, table, _held_out_score(ctx, quality)) for f in families]
    measured = [
        replace(
            m,
            equivalents=chosen[i][1],
            variants=tuple(str(v) for v in families[i].variants if v != chosen[i][0]),
            also=tuple(
                dict.fromkeys(
                    variant_label(v, chosen[i][0])
                    for v in families[i].variants
                    if v != chosen[i][0]
                )
            ),
        )
        for i, m in enumerate(measure([s for s, _ in chosen], [f.quality for f in families], ctx))
    ]
    return DiscoveryResult(
        target=target,
        segments=tuple(measured),
        n_accounts=table.n_rows,
        n_target=int(np.count_nonzero(in_target)),
        n_search=int(split.search.sum()),
        n_holdout=int(split.holdout.sum()),
        n_tried=n_tried,
        quality=quality.name,
        conditions=len(table),
    )


@dataclass(frozen=True)
class Family:
    """A reported group of accounts: its best segment (``head``) and the variants collapsed
    under it (segments whose target accounts mostly lie inside the head's cover)."""

    head: Segment
    quality: float
    variants: tuple[Segment, ...] = ()


def find_families(
    table: ConditionTable,
    goal: np.ndarray,
    quality: Quality,
    settings: DiscoveryConfig,
    min_support: int,
    limit: int,
    holdout: tuple[ConditionTable, np.ndarray] | None = None,
) -> tuple[list[Family], int]:
    """Distinct segment families by sequential covering (CN2's covering loop, with DSSD's
    cover-based redundancy test); returns the families and the number of segments counted.

    Each round runs the exact search on the rows no reported family covers yet and walks its
    (minimal) candidates best first: a candidate whose target accounts lie mostly
    (``VARIANT_SHARE``) inside a family's head is listed under that family as a variant, any other
    starts a new family. The new families' rows then leave the search, so the next round finds the
    next distinct group instead of more variants of the first: a small strong segment beside a
    large one comes out in round two. A round of variants only removes the rows of its best
    candidate and goes on. ``table`` and ``goal`` cover the search half. A candidate is made
    minimal (:func:`icpkit.discovery.refine.productive`) on the rows its round searched, then by
    :func:`_minimal` on the whole search half and the held-out half (``holdout``: its table and
    packed target; :func:`icpkit.discovery.refine.confirmed`).
    """
    positives = goal if goal.dtype == bool else goal > float(np.mean(goal)) if goal.size else goal
    target_bits = pack(np.asarray(positives, dtype=bool))
    remaining = np.ones(table.n_rows, dtype=bool)
    heads: list[np.ndarray] = []  # packed cover of each family head
    families: list[Family] = []
    variants: list[list[Segment]] = []
    n_tried = 0
    # the whole search half's productive() walks and the held-out half's confirmed() walks: one
    # table each throughout
    memos: tuple[dict[Segment, Segment], dict[Segment, Segment]] = ({}, {})
    for _ in range(2 * limit):
        if len(families) >= limit or int(remaining.sum()) < min_support:
            break
        result = DepthFirstSearch().run(
            SearchTask(
                table,
                goal,
                quality,
                settings.max_depth,
                min_support,
                _ROUND_CANDIDATES,
                rows=remaining,
            )
        )
        n_tried += result.n_evaluated
        if not result.candidates:
            break
        searched = restrict_rows(table, remaining)
        # variants of the families so far are listed as found; the others are made minimal on
        # the rows this round searched (a covered family no longer vouches for a condition) —
        # the costly step, so only as many as could still become families
        pending: dict[Segment, np.ndarray] = {}
        budget = _SIMPLIFY_PER_SLOT * (limit - len(families))
        memo: dict[Segment, Segment] = {}  # productive() walks on this round's rows
        # a purer sub-group escapes its family only when it would pass a Bonferroni test over
        # the round's candidates (a chance slice of a head stays one of its variants)
        dominance = settings.alpha / max(len(result.candidates), 1)
        for candidate in result.candidates:
            segment, bits = candidate.segment, cover_bits(table, candidate.segment)
            owner = _variant_of(segment, bits, target_bits, families, heads, dominance)
            if owner is not None:
                if _is_variant(segment, families[owner].head, variants[owner]):
                    variants[owner].append(segment)
            elif len(pending) < budget:
                if not quality.numeric_target:
                    segment = productive(segment, searched, target_bits, settings.alpha, memo)
                    segment = _minimal(segment, table, target_bits, settings.alpha, holdout, memos)
                pending.setdefault(segment, cover_bits(table, segment))
        segments = list(pending)
        scores = _scores_on(segments, table, goal, quality, remaining)
        new = 0
        for i in np.argsort(-scores, kind="stable"):
            segment, bits = segments[i], pending[segments[i]]
            owner = _variant_of(segment, bits, target_bits, families, heads, dominance)
            if owner is None and scores[i] > 0 and len(families) < limit:
                heads.append(bits)
                families.append(Family(segment, float(scores[i])))
                variants.append([])
                new += 1
            elif owner is not None and _is_variant(segment, families[owner].head, variants[owner]):
                variants[owner].append(segment)
        # the round's new families leave the search; a round of variants only removes the rows
        # of its best candidate (they are explained already)
        covered = heads[-new:] if new else [cover_bits(table, result.candidates[0].segment)]
        remaining &= ~unpack(np.bitwise_or.reduce(np.stack(covered), axis=0), table.n_rows)
    return [replace(f, variants=tuple(v)) for f, v in zip(families, variants, strict=True)], n_tried


def _minimal(
    segment: Segment,
    table: ConditionTable,
    target_bits: np.ndarray,
    alpha: float,
    holdout: tuple[ConditionTable, np.ndarray] | None,
    memos: tuple[dict[Segment, Segment], dict[Segment, Segment]],
) -> Segment:
    """``segment`` walked by :func:`productive` on the whole search half (``table``), then by
    :func:`confirmed` on the held-out half, until neither removes a condition.

    A criterion applies to every account, so each condition must earn its place on the whole
    search half, not only on the rows its covering round searched. And a condition the held-out
    half removes changes the context of the others: a trim that earned its place only beside the
    removed condition must be judged again (measured in issue 28: an independent event count
    reached a criterion in 2 of 100 fresh null draws through the round's rows, and through a
    held-out removal in 1 of 300 more). Each pass only removes conditions, so the loop ends
    within the segment's length. ``memos``: the whole-half walks' and the held-out walks'.
    """
    while True:
        segment = productive(segment, table, target_bits, alpha, memos[0])
        if holdout is None:
            return segment
        held = confirmed(segment, *holdout, alpha, memos[1])
        if held == segment:
            return segment
        segment = held


def _is_variant(segment: Segment, head: Segment, listed: list[Segment]) -> bool:
    """Whether to list ``segment`` under ``head``: another bound, level or generalisation of it,
    not the head plus a further condition (those are the search's chance trims of the head)."""
    if segment == head or segment in listed or len(listed) >= _MAX_VARIANTS:
        return False
    return not set(head) < set(segment)


def _variant_of(
    segment: Segment,
    bits: np.ndarray,
    target_bits: np.ndarray,
    families: list[Family],
    heads: list[np.ndarray],
    alpha: float,
) -> int | None:
    """The first family this segment is a variant of (on the search half).

    Of the two (segment and head), the one with fewer target accounts must have at least
    ``VARIANT_SHARE`` of them inside the other, and they must share a good part (``VARIANT_SHARE``
    / 2) of the larger one's target accounts — or the segment must be a narrower restatement of the
    head (share an attribute with it). A small group on other attributes that happens to lie inside
    a wide head (one industry inside 'revenue 7M+') is a group of its own; so is a wide segment of
    which the head is a small part.
    And the head must explain the segment: a segment whose target rate is significantly above the
    rest of the head (one-sided Fisher test at ``alpha``, Bonferroni-adjusted by the caller:
    'industry = Education' at 96 % worst inside a head at 71 %) is not dominated by it, as in
    Lavrač and Gamberger's relevant subgroups, and starts a family of its own.
    """
    hits = bits & target_bits
    n = int(popcount(hits))
    if n == 0:
        return None
    attrs = set(segment.attrs)
    for i, head in enumerate(heads):
        shared = int(popcount(hits & head))
        head_hits = int(popcount(head & target_bits))
        narrower = n <= head_hits
        # the smaller of the two lies mostly inside the other ...
        if shared < VARIANT_SHARE * min(n, head_hits):
            continue
        # ... and is a good part of it, or a narrower restatement of the head
        if not (
            shared >= VARIANT_SHARE / 2 * max(n, head_hits)
            or (narrower and attrs & set(families[i].head.attrs))
        ):
            continue
        if not narrower:
            return i  # a generalisation of the head that adds little
        rest = head & ~bits
        size_in, size_out = int(popcount(bits)), int(popcount(rest))
        hits_out = int(popcount(rest & target_bits))
        p = enrichment_p(np.array([n]), np.array([size_in]), n + hits_out, size_in + size_out)[0]
        if size_out == 0 or p >= alpha:
            return i
    return None


def _scores_on(
    segments: list[Segment],
    table: ConditionTable,
    goal: np.ndarray,
    quality: Quality,
    rows: np.ndarray,
) -> np.ndarray:
    """The search's quality of each segment counted on ``rows`` only."""
    if not segments:
        return np.zeros(0)
    covers = unpack(np.stack([cover_bits(table, s) for s in segments]), table.n_rows) & rows
    if quality.numeric_target:
        values = goal[rows]
        population = Population(int(rows.sum()), mean=float(np.mean(values)) if values.size else 0)
        deviation = np.where(rows, goal - population.mean, 0.0)
        counts = Counts(size=covers.sum(axis=1), deviation=covers @ deviation)
    else:
        population = Population(int(rows.sum()), int((goal & rows).sum()))
        counts = Counts(size=covers.sum(axis=1), positives=(covers & goal).sum(axis=1))
    return quality.evaluate(counts, population)


def variant_label(variant: Segment, head: Segment) -> str:
    """A variant in a few words, by how it differs from its family's head: 'founded in 2005 or
    later' (another bound), '200+ employees instead of in the Software sector', 'without …'."""
    extra = [c for c in variant if c not in set(head)]
    changed = {c.attr for c in extra}
    dropped = [c for c in head if c not in set(variant) and c.attr not in changed]
    words = " and ".join(describe_condition(c) for c in extra)
    gone = " and ".join(describe_condition(c) for c in dropped)
    if words and gone:
        return f"{words} instead of {gone}"
    return words or f"without {gone}"


def _held_out_score(ctx: EvidenceContext, quality: Quality) -> Callable[[np.ndarray], float]:
    """The search's quality of a cover (packed bitset), counted on the held-out half."""
    held = ctx.split.holdout
    population = Population(
        int(held.sum()),
        int((ctx.target & held).sum()),
        float(np.mean(ctx.value[held])) if ctx.value is not None and held.any() else 0.0,
    )

    def score(bits: np.ndarray) -> float:
        covered = unpack(bits, ctx.table.n_rows) & held
        if quality.numeric_target and ctx.value is not None:
            deviation = ctx.value[covered] - population.mean
            counts = Counts(size=np.array([covered.sum()]), deviation=np.array([deviation.sum()]))
        else:
            counts = Counts(
                size=np.array([covered.sum()]), positives=np.array([(covered & ctx.target).sum()])
            )
        return float(quality.evaluate(counts, population)[0])

    return score


def choose_criteria(
    result: DiscoveryResult, ctx: EvidenceContext, settings: DiscoveryConfig
) -> list[SegmentEvidence]:
    """Greedy cover: up to ``max_criteria`` segments that together cover most of the target group.

    Candidates are the significant segments whose precision reaches the floor (``precision_floor``
    × base rate; 0 means 1.5 × base rate). When none is significant, the segments with a lift above
    1 are used as tentative leads (still marked weak). Each round takes the segment with the best
    binomial quality on the accounts not yet covered; it stops when no further segment adds at
    least 5 % of the target group at the floor (the first needs no minimum; a segment with strong
    evidence and a lift of at least 2 needs none either: a small strong segment is worth naming).
    Two chosen segments that differ only in the level of one categorical attribute are then merged
    into one ``in (…)`` condition.
    """
    base = float(np.mean(ctx.target)) if ctx.target.size else 0.0
    # a multiple of a large base rate can exceed 1: cap the floor halfway between base and 100 %
    floor = min((settings.precision_floor or 1.5) * base, base + (1.0 - base) / 2)
    pool = [s for s in result.segments if s.significant] or [
        s for s in result.segments if s.lift > 1.0
    ]
    pool = [s for s in pool if s.precision >= floor]
    covers = {
        s.segment: unpack(cover_bits(ctx.table, s.segment, ctx.frame), ctx.table.n_rows)
        for s in pool
    }
    chosen: list[SegmentEvidence] = []
    covered = np.zeros(ctx.table.n_rows, dtype=bool)
    min_new = max(1, math.ceil(_MIN_NEW_COVERAGE * int(ctx.target.sum())))
    for _ in range(settings.max_criteria):
        pick = _best_addition(
            # the first criterion only needs significance and the floor: a disqualifier that
            # covers 4 % of a large worst group is still the one to report
            [s for s in pool if s not in chosen],
            covers,
            covered,
            ctx.target,
            floor,
            min_new if chosen else 1,
        )
        if pick is None:
            break
        chosen.append(pick)
        covered |= covers[pick.segment]
    return _merge_siblings(chosen, result, ctx, floor, tuple(settings.placeholders))


def _best_addition(
    pool: list[SegmentEvidence],
    covers: dict[Segment, np.ndarray],
    covered: np.ndarray,
    target: np.ndarray,
    floor: float,
    min_new: int,
) -> SegmentEvidence | None:
    remaining = ~covered
    population = Population(int(remaining.sum()), int((target & remaining).sum()))
    if not pool or population.size == 0 or population.positives == 0:
        return None
    new = np.array(
        [
            [
                np.count_nonzero(covers[s.segment] & remaining),
                np.count_nonzero(covers[s.segment] & remaining & target),
            ]
            for s in pool
        ]
    )
    score = BinomialZ().evaluate(Counts(size=new[:, 0], positives=new[:, 1]), population)
    small_strong = np.array([s.evidence == "strong" and s.lift >= _SMALL_STRONG_LIFT for s in pool])
    enough = (new[:, 1] >= min_new) | (small_strong & (new[:, 1] >= 1))
    ok = enough & (new[:, 1] >= floor * new[:, 0]) & (score > 0)
    if not ok.any():
        return None
    return pool[int(np.argmax(np.where(ok, score, -np.inf)))]


def _merge_siblings(
    chosen: list[SegmentEvidence],
    result: DiscoveryResult,
    ctx: EvidenceContext,
    floor: float,
    placeholders: tuple[str, ...] = (),
) -> list[SegmentEvidence]:
    """Merge two criteria that differ only in one categorical level (A AND x = 'a', A AND x = 'b'
    → A AND x in ('a', 'b')) or in adjacent ranges of one numeric attribute (A AND x in [150, 300),
    A AND x ≥ 300 → A AND x ≥ 150) when the merged segment keeps the floor on the search half; it
    is then tested on the held-out half with a Bonferroni factor of the reported family size.
    The merged cover is the union of two disjoint covers, so its precision lies between theirs:
    keeping the floor, it is as good as the weaker of the two."""
    out = list(chosen)
    pairs = [(a, b) for a in range(len(out)) for b in range(a + 1, len(out))]
    for i, j in pairs:
        merged = _union(out[i].segment, out[j].segment)
        if merged is None or _means_known(merged, ctx.frame, placeholders):
            continue
        mask = merged.mask(ctx.frame) if ctx.frame is not None else None
        if mask is None:
            continue
        search = mask & ctx.split.search
        if np.count_nonzero(search & ctx.target) < floor * np.count_nonzero(search):
            continue
        quality = max(out[i].quality, out[j].quality)
        (tested,) = measure([merged], [quality], ctx)
        factor = max(1, len(result.segments))
        q = min(1.0, tested.p_value * factor)
        level = evidence_level(
            q,
            ctx.alpha,
            tested.holdout_support,
            int((ctx.target & ctx.split.holdout).sum()),
            tested.holdout_lift,
        )
        tested = replace(
            tested, q_value=q, evidence=level, significant=level in ("strong", "moderate")
        )
        rest = [s for k, s in enumerate(out) if k not in (i, j)]
        return _merge_siblings([tested, *rest], result, ctx, floor, placeholders)
    return out


def _union(a: Segment, b: Segment) -> Segment | None:
    """A AND x ∈ V₁ with A AND x ∈ V₂ → A AND x ∈ V₁ ∪ V₂ (same attributes, one level apart)."""
    if a.attrs != b.attrs:
        return None
    diff = [(ca, cb) for ca, cb in zip(a, b, strict=True) if ca != cb]
    if len(diff) != 1:
        return None
    ca, cb = diff[0]
    common = tuple(c for c in a if c != ca)
    if ca.op == cb.op == "range":
        return _joined_ranges(ca, cb, common)
    if ca.op not in ("eq", "in") or cb.op not in ("eq", "in"):
        return None
    values = tuple((ca.value,) if ca.op == "eq" else ca.value) + tuple(
        (cb.value,) if cb.op == "eq" else cb.value
    )
    return Segment((*common, Condition(ca.attr, "in", values)))


def _means_known(
    segment: Segment, frame: pl.DataFrame | None, placeholders: tuple[str, ...]
) -> bool:
    """Whether a condition of ``segment`` lists every real level of its attribute: it then only
    says "the field was filled in" ("origin in ('event', 'partner', 'web')" beside "unknown",
    "Other" and blanks), the mirror image of a placeholder criterion."""
    if frame is None:
        return False
    for cond in segment:
        if cond.op != "in" or cond.attr not in frame.columns:
            continue
        levels = frame.get_column(cond.attr).drop_nulls().unique().to_list()
        real = {v for v in levels if not is_placeholder(v, placeholders)}
        if real and real <= set(cond.value):
            return True
    return False


def _joined_ranges(ca: Condition, cb: Condition, common: tuple[Condition, ...]) -> Segment | None:
    """A AND x in [a, b) with A AND x in [b, c) → A AND x in [a, c): one planted group found as
    two adjacent (or overlapping) ranges is one criterion ("employees ≥ 150", not "150–300" and
    "300+"). None when the ranges leave a gap, or when the union is the whole range and nothing
    else is left."""
    (lo_a, hi_a), (lo_b, hi_b) = ca.value, cb.value
    if lo_a > hi_b or lo_b > hi_a:
        return None  # a gap between them: two groups
    lo, hi = min(lo_a, lo_b), max(hi_a, hi_b)
    if math.isinf(lo) and math.isinf(hi):
        return Segment(common) if common else None
    return Segment((*common, Condition(ca.attr, "range", (lo, hi))))


def _statement(
    criteria: list[SegmentEvidence], disqualifiers: list[SegmentEvidence], found: DiscoveryResult
) -> str:
    strong = [c.segment for c in criteria if c.significant]
    avoid = [d.segment for d in disqualifiers if d.significant]
    if strong:
        return icp_statement(strong, avoid)
    text = (
        f"The data does not show a clear ICP yet: none of the {len(found.segments)} segments found "
        f"among the {found.n_target} best customers (of {found.n_accounts} ranked accounts) "
        f"held up on the held-out half."
    )
    if criteria:
        text += (
            f" The strongest lead, to be confirmed with more data: "
            f"{describe_segment(criteria[0].segment)}."
        )
    return text


def _caveats(
    labels: np.ndarray, n_accounts: int, attrs: list[str], found: DiscoveryResult
) -> list[str]:
    out = []
    n_ranked = labels.size
    n_best, n_worst = int((labels == "best").sum()), int((labels == "worst").sum())
    if n_ranked < _FEW_RANKED or n_best < _FEW_TARGET:
        out.append(
            f"Only {n_ranked} ranked accounts ({n_best} best, {n_worst} worst): intervals are wide "
            f"and the evidence is weak at best; treat the ICP as a hypothesis to test."
        )
    if n_accounts > n_ranked:
        out.append(
            f"{n_accounts - n_ranked} accounts without an outcome (unranked) are left out "
            f"of the statistics."
        )
    if not attrs:
        out.append("No usable attribute columns were found in the accounts table.")
    out.append(
        f"{found.n_tried} segments were tried on {found.n_search} accounts; significance comes "
        f"from the other {found.n_holdout} held-out accounts (Benjamini–Hochberg across the "
        f"{len(found.segments)} reported segments)."
    )
    return out
