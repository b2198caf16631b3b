"""The win model fitted on grouped counts is the win model fitted on the deals.

``fit_kernel`` groups the closed deals once by (stratum, signal age) and fits every kernel on
wins out of deals per group (:meth:`icpkit.signals.decay.WinData.counts`); these tests fit the
same data one row per deal (:meth:`WinCounts.per_deal`, the likelihood as it was written before
the grouping) and ask for the same effects, decays and intervals within numerical noise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from icpkit.config import SignalsConfig
from icpkit.datasets import make_crm
from icpkit.signals import decay, learn_signals
from icpkit.signals.decay import OpenData, WinCounts, WinData, fit_kernel, fit_win, kernel
from icpkit.signals.learn import half_life_grid
from test_signals_recovery import planted_tiers


def _deals(seed: int, n: int = 5000) -> WinData:
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, 7, n)
    age = np.where(rng.random(n) < 0.6, np.floor(rng.exponential(40, n)), np.nan)
    age = np.where(age < 365, age, np.nan)
    weight = kernel("exponential", 25.0, age)
    logit = -1.0 + 0.3 * stratum / 7 + math.log(3.0) * weight
    return WinData(stratum, rng.random(n) < 1 / (1 + np.exp(-logit)), age)


def test_grouping_keeps_every_deal_and_win() -> None:
    data = _deals(1)
    counts = data.counts()
    assert len(counts.n) < len(data.won) / 5  # whole-day ages: few groups per stratum
    assert counts.n.sum() == len(data.won) and counts.won.sum() == data.won.sum()
    assert np.isnan(counts.age).sum() == len(np.unique(data.stratum[np.isnan(data.age)]))
    empty = WinData(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), np.zeros(0))
    assert len(empty.counts().n) == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_on_counts_equals_fit_on_deals(seed: int) -> None:
    data = _deals(seed)
    grouped, per_deal = data.counts(), WinCounts.per_deal(data)
    for shape, scale in [("exponential", 3.0), ("exponential", 40.0), ("window", 20.0)]:
        beta_g, ll_g = fit_win(grouped, kernel(shape, scale, grouped.age))
        beta_d, ll_d = fit_win(per_deal, kernel(shape, scale, per_deal.age))
        assert beta_g == pytest.approx(beta_d, abs=1e-9)
        assert ll_g == pytest.approx(ll_d, rel=1e-12)
    null_g = fit_win(grouped, np.zeros(len(grouped.age)))
    null_d = fit_win(per_deal, np.zeros(len(per_deal.age)))
    assert null_g == pytest.approx(null_d, rel=1e-12)


def test_kernel_profile_on_counts_equals_profile_on_deals() -> None:
    data = _deals(4, n=8000)
    rng = np.random.default_rng(4)
    bins = 122
    events = rng.poisson(4.0, size=(7, bins)).astype(float)
    opening = OpenData(events, np.full((7, bins), 400.0), np.full(7, 300.0), np.full(7, 4e4))
    grid = half_life_grid(365)
    grouped = fit_kernel(data, opening, grid)
    per_deal = fit_kernel(WinCounts.per_deal(data), opening, grid)
    assert grouped.shape == per_deal.shape
    assert grouped.scale == pytest.approx(per_deal.scale, rel=1e-9)
    assert grouped.scale_ci == pytest.approx(per_deal.scale_ci, rel=1e-9)
    assert grouped.win_log_odds == pytest.approx(per_deal.win_log_odds, abs=1e-9)
    assert grouped.open_ratio == pytest.approx(per_deal.open_ratio, rel=1e-9)
    assert grouped.log_likelihood == pytest.approx(per_deal.log_likelihood, rel=1e-12)


def test_learned_signals_are_the_same_grouped_or_per_deal(monkeypatch: pytest.MonkeyPatch) -> None:
    crm = make_crm(600, seed=3)
    data, tiers = crm.to_crm_data(), planted_tiers(crm)
    grouped = learn_signals(data, tiers, SignalsConfig()).model_dump()
    monkeypatch.setattr(decay.WinData, "counts", lambda self: WinCounts.per_deal(self))
    per_deal = learn_signals(data, tiers, SignalsConfig()).model_dump()
    assert grouped["types"], "the synthetic CRM has signal types to learn"
    assert _approx(grouped) == per_deal


def _approx(value: object) -> object:
    """``value`` with every float compared at 1e-9 relative (summation order differs)."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-12)
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_approx(v) for v in value)
    return value


def test_a_stratum_all_lost_or_all_won_leaves_the_fit_unchanged() -> None:
    """Its intercept goes to -inf / +inf: the fit is the fit without it (and it converges)."""
    data = _deals(5)
    counts = data.counts()
    extra_lost = WinCounts(np.full(30, 7), np.arange(30.0), np.full(30, 3.0), np.zeros(30))
    extra_won = WinCounts(np.full(5, 8), np.arange(5.0), np.full(5, 2.0), np.full(5, 2.0))
    both = WinCounts(
        *(np.concatenate([getattr(c, f) for c in (counts, extra_lost, extra_won)])
          for f in ("stratum", "age", "n", "won"))
    )  # fmt: skip
    for scale in (5.0, 40.0):
        alone = fit_win(counts, kernel("exponential", scale, counts.age))
        with_separated = fit_win(both, kernel("exponential", scale, both.age))
        assert with_separated == pytest.approx(alone, rel=1e-12)
