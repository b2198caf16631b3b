"""Tiers tied to the ICP criteria: Tier 1, Tier 2, Tier 3 and Non-fit.

- **Tier 1**: meets a core criterion, hits no disqualifier, and scores at least the Tier-1 cut.
- **Tier 2**: hits no disqualifier, scores at least the Tier-2 cut, and misses at most one condition
  of some criterion (a near miss).
- **Tier 3**: hits no disqualifier and scores at least the Tier-3 cut (a partial fit).
- **Non-fit**: a hit on a disqualifier strong enough to override the score (evidence at least
  ``tiers.disqualifier_evidence``, q at most ``discovery.alpha``; :func:`forcing_disqualifiers`),
  or a score below the Tier-3 cut. Weaker disqualifiers only subtract points.

With no criteria at all (discovery found none, or a spec lists only points) the criterion tests
are dropped and tiers follow the score alone; the profile's tiers section says so
(``criteria_based``). Cut-offs are chosen on the training accounts so that each tier holds close
to its target share (``TierConfig``), with a floor that keeps Tier 1 among the top
``tier1_share + tier2_share`` of scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from icpkit.config import TierConfig
from icpkit.errors import ConfigError
from icpkit.profile import RuleEvidence, TiersSection
from icpkit.vocab import ICP_TIERS, TIERS, UNREACHABLE_CUT


@dataclass(frozen=True)
class TierCuts:
    """Least score of Tier 1, 2 and 3 (0–100)."""

    tier1: int
    tier2: int
    tier3: int

    def __post_init__(self) -> None:
        if not 0 <= self.tier3 <= self.tier2 <= self.tier1 <= UNREACHABLE_CUT:
            raise ConfigError(
                f"tier cuts must satisfy 0 ≤ tier3 ≤ tier2 ≤ tier1 ≤ 100; got {self.tier3}, "
                f"{self.tier2}, {self.tier1}"
            )

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Fit:
    """Per-row facts the tiers rest on (boolean arrays aligned with the rows)."""

    meets_criterion: np.ndarray
    near_criterion: np.ndarray
    disqualified: np.ndarray


def assign_tiers(scores: np.ndarray, fit: Fit, cuts: TierCuts) -> np.ndarray:
    """Tier index per row: 0 = Tier 1, 1 = Tier 2, 2 = Tier 3, 3 = Non-fit (int8)."""
    ok = ~fit.disqualified
    tier = np.full(len(scores), 3, dtype=np.int8)
    tier[ok & (scores >= cuts.tier3)] = 2
    tier[ok & fit.near_criterion & (scores >= cuts.tier2)] = 1
    tier[ok & fit.meets_criterion & (scores >= cuts.tier1)] = 0
    return tier


def choose_cuts(scores: np.ndarray, fit: Fit, config: TierConfig) -> TierCuts:
    """Cuts that bring each tier's share closest to its target on these accounts."""
    n = len(scores)
    if n == 0:
        raise ConfigError("tier cuts need at least one scored account")
    shares = (config.tier1_share, config.tier2_share, config.tier3_share)
    targets = np.cumsum(shares) * n
    floor1 = _quantile_floor(scores, shares[0] + shares[1])
    ok = ~fit.disqualified

    def in_tier1(c: int) -> int:
        return int(np.sum(ok & fit.meets_criterion & (scores >= c)))

    c1 = _closest(in_tier1, targets[0], floor1, UNREACHABLE_CUT)
    if in_tier1(c1) == 0 and in_tier1(floor1) > 0:
        # Scores can jump (few accounts, few distinct scores): an empty Tier 1 is never the best
        # answer when accounts meet a criterion, so take the highest cut that admits one.
        c1 = max(c for c in range(floor1, UNREACHABLE_CUT) if in_tier1(c) > 0)

    def upto2(c: int) -> int:
        return int(np.sum(assign_tiers(scores, fit, TierCuts(c1, c, 0)) <= 1))

    c2 = _closest(upto2, targets[1], 0, c1)

    def upto3(c: int) -> int:
        return int(np.sum(assign_tiers(scores, fit, TierCuts(c1, c2, c)) <= 2))

    c3 = _closest(upto3, min(targets[2], n), 0, c2)
    return TierCuts(c1, c2, c3)


def _quantile_floor(scores: np.ndarray, top_share: float) -> int:
    if top_share >= 1:
        return 0
    return int(np.ceil(np.quantile(scores, 1 - top_share)))


def _closest(count: Any, target: float, low: int, high: int) -> int:
    """The cut in [low, high] whose count is closest to ``target`` (the higher cut on ties)."""
    best, best_gap = high, float("inf")
    for cut in range(high, low - 1, -1):
        gap = abs(float(count(cut)) - target)
        if gap < best_gap:
            best, best_gap = cut, gap
    return best


_EVIDENCE_RANK = {"strong": 3, "moderate": 2, "weak": 1, "insufficient": 0}


def forcing_disqualifiers(
    disqualifiers: Sequence[RuleEvidence], min_evidence: str, max_q: float
) -> list[RuleEvidence]:
    """The disqualifiers with ``forces_nonfit`` set: only evidence at least ``min_evidence``
    ('strong' | 'moderate' | 'never') and q at most ``max_q`` may override the score."""
    need = _EVIDENCE_RANK.get(min_evidence)
    return [
        d.model_copy(
            update={
                "forces_nonfit": need is not None
                and _EVIDENCE_RANK.get(d.evidence, 0) >= need
                and d.q_value <= max_q
            }
        )
        for d in disqualifiers
    ]


def tier_rules(cuts: TierCuts, criteria_based: bool, forcing: bool) -> dict[str, str]:
    """How each tier is really assigned, in words, for the tier table's "assigned when" column.

    A score above a cut is not enough where a criterion is also needed, and a disqualifier that
    overrides the score sends any score to Non-fit; the words say both.
    """

    def at_least(cut: int) -> str:
        return "no score reaches it" if cut >= UNREACHABLE_CUT else f"≥ {cut}"

    return {
        "Tier 1": at_least(cuts.tier1) + (", meets a criterion" if criteria_based else ""),
        "Tier 2": at_least(cuts.tier2) + (", near a criterion" if criteria_based else ""),
        "Tier 3": at_least(cuts.tier3),
        "Non-fit": f"< {cuts.tier3}" + (", or a disqualifier" if forcing else ""),
    }


def tier_table(tiers: np.ndarray, success: np.ndarray, trials: np.ndarray) -> list[dict[str, Any]]:
    """Count, share and historical success rate of every tier.

    ``success``/``trials`` per row: (1, 1) for a best account, (0, 1) for a rest account and
    (0, 0) for an unranked one; or won and closed deals per account.
    """
    n = max(len(tiers), 1)
    total_success = float(success.sum())
    rows = []
    for i, name in enumerate(TIERS):
        inside = tiers == i
        s, t = float(success[inside].sum()), float(trials[inside].sum())
        rows.append(
            {
                "tier": name,
                "count": int(inside.sum()),
                "share": float(inside.sum()) / n,
                "n_outcomes": int(t),
                "n_success": int(s),
                "success_rate": s / t if t else None,
                "success_share": s / total_success if total_success else None,
            }
        )
    return rows


def madkudu_bar(table: list[dict[str, Any]]) -> dict[str, Any]:
    """Share of accounts in Tier 1+2, the share of successes they hold, Tier 1 ÷ Non-fit rate."""
    by = {r["tier"]: r for r in table}
    top = [by[t] for t in ICP_TIERS]
    t1, nonfit = by["Tier 1"]["success_rate"], by["Non-fit"]["success_rate"]
    return {
        "tier12_share": sum(r["share"] for r in top),
        "tier12_success_share": sum(r["success_share"] or 0.0 for r in top),
        "tier1_over_nonfit": (t1 / nonfit) if t1 is not None and nonfit else None,
    }


def cuts_of(tiers: TiersSection | None) -> TierCuts:
    """The cuts stored in a profile's tiers section."""
    if tiers is None:
        raise ConfigError(
            "the profile has no tier cuts (build it again, or add [tiers] to the spec)"
        )
    c = tiers.cuts
    return TierCuts(c.tier1, c.tier2, c.tier3)
