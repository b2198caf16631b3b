"""Tiers tied to criteria: assignment rules, cut-offs chosen from target shares, the bar."""

from __future__ import annotations

import numpy as np
import pytest

from icpkit.config import TierConfig
from icpkit.errors import ConfigError
from icpkit.scoring.tiers import (
    Fit,
    TierCuts,
    assign_tiers,
    choose_cuts,
    madkudu_bar,
    tier_table,
)
from icpkit.vocab import TIERS


def _fit(meets, near, disq) -> Fit:
    return Fit(np.array(meets), np.array(near), np.array(disq))


@pytest.mark.parametrize(
    ("score", "meets", "near", "disq", "expected"),
    [
        (90, True, True, False, "Tier 1"),
        (90, True, True, True, "Non-fit"),  # a disqualifier overrides everything
        (90, False, True, False, "Tier 2"),  # strong, but misses one condition
        (90, False, False, False, "Tier 3"),  # strong score alone is only partial
        (60, True, True, False, "Tier 2"),  # meets a criterion, below the Tier-1 cut
        (45, True, True, False, "Tier 3"),
        (10, True, True, False, "Non-fit"),  # low score
    ],
)
def test_assignment_follows_criteria_and_cuts(score, meets, near, disq, expected):
    tier = assign_tiers(np.array([score]), _fit([meets], [near], [disq]), TierCuts(80, 50, 30))
    assert TIERS[tier[0]] == expected


def test_cuts_hit_the_target_shares():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 101, 20000)
    fit = _fit(np.ones(20000, bool), np.ones(20000, bool), np.zeros(20000, bool))
    cuts = choose_cuts(scores, fit, TierConfig(tier1_share=0.1, tier2_share=0.2, tier3_share=0.3))
    shares = np.bincount(assign_tiers(scores, fit, cuts), minlength=4) / 20000
    np.testing.assert_allclose(shares, [0.1, 0.2, 0.3, 0.4], atol=0.01)


def test_tier1_stays_among_strong_scores_when_few_meet_a_criterion():
    scores = np.arange(1000) % 101
    meets = np.zeros(1000, bool)
    meets[:20] = True  # scores 0..19 only
    fit = _fit(meets, np.ones(1000, bool), np.zeros(1000, bool))
    cuts = choose_cuts(scores, fit, TierConfig())
    assert cuts.tier1 >= np.quantile(scores, 0.7)
    assert not (assign_tiers(scores, fit, cuts) == 0).any()


def test_cuts_must_be_ordered():
    with pytest.raises(ConfigError, match="tier3"):
        TierCuts(30, 50, 70)


def test_table_and_madkudu_bar():
    tiers = np.array([0, 0, 1, 2, 3, 3])
    success = np.array([1, 1, 1, 0, 0, 1], float)
    rows = tier_table(tiers, success, np.ones(6))
    assert [r["count"] for r in rows] == [2, 1, 1, 2]
    bar = madkudu_bar(rows)
    assert bar["tier12_share"] == pytest.approx(0.5)
    assert bar["tier12_success_share"] == pytest.approx(0.75)
    assert bar["tier1_over_nonfit"] == pytest.approx(2.0)


def test_tier1_is_never_left_empty_when_accounts_meet_a_criterion() -> None:
    """Few accounts and few distinct scores make the share target jump from 0 to many: an empty
    Tier 1 is then closer to the target, but an ICP whose qualifying accounts are all left out
    of Tier 1 is no answer."""
    scores = np.array([90] * 20 + [40] * 60)
    meets = np.array([True] * 20 + [False] * 60)
    fit = Fit(
        meets_criterion=meets, disqualified=np.zeros(80, bool), near_criterion=np.zeros(80, bool)
    )
    cuts = choose_cuts(scores, fit, TierConfig(tier1_share=0.05))
    assert cuts.tier1 <= 90
    assert (assign_tiers(scores, fit, cuts) == 0).sum() == 20
