"""The decay of a signal that opens no deal itself (icpkit.datasets.synthetic.signals
``later_deal_signals``): deals open at the account's own rate, and a signal only raises the win
odds of those that happen to open after it.

Fast tests pin the interval arithmetic and the "cannot tell" rule; the slow test plants half-lives
of 14, 31 and 60 days (and a type with no effect) and asks, over 10 seeds, that each half-life
falls in its reported 95% interval in at least 8 seeds with the point estimate within ±30% in at
least 8, and that the null type is significant in at most 1 seed (and never has a decay).

Measured (2026-12-07), 10 seeds × 10,000 accounts: see the figures in the slow test's assertion
messages and docs/signals.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from icpkit.config import SignalsConfig
from icpkit.datasets import make_crm
from icpkit.datasets.synthetic.signals import later_deal_signals
from icpkit.signals import learn_signals
from icpkit.signals.decay import (
    CHI2_95,
    OpenData,
    WinData,
    cannot_tell,
    fit_kernel,
    profile_interval,
)
from icpkit.signals.learn import half_life_grid
from test_signals_recovery import planted_tiers

HALF_LIVES = (14.0, 31.0, 60.0)


def test_profile_interval_reads_between_grid_points() -> None:
    grid = np.geomspace(2, 365, 56)
    truth, width = 31.0, 0.4  # log-likelihood -(log(h/31)/0.4)^2 / 2: interval 31·e^(±1.96·0.4)
    lls = -0.5 * ((np.log(grid) - np.log(truth)) / width) ** 2
    estimate, low, high = profile_interval(grid, lls)
    assert estimate == pytest.approx(truth, rel=0.01)
    expected = (
        truth * np.exp(-np.sqrt(2 * CHI2_95) * width),
        truth * np.exp(np.sqrt(2 * CHI2_95) * width),
    )
    assert low == pytest.approx(expected[0], rel=0.02)
    assert high == pytest.approx(expected[1], rel=0.02)


def test_an_unbounded_profile_reaches_the_grid_end_and_cannot_tell() -> None:
    grid = np.geomspace(2, 365, 56)
    lls = -0.01 * np.log(grid)  # nearly flat: the data say nothing about the decay
    _estimate, low, high = profile_interval(grid, lls)
    assert (low, high) == (pytest.approx(2.0), pytest.approx(365.0))
    assert cannot_tell((low, high))
    assert not cannot_tell((20.0, 60.0))
    assert cannot_tell((5.0, 50.0))  # exactly an order of magnitude
    assert cannot_tell(None)


def test_a_signal_that_only_raises_win_odds_is_read_from_wins() -> None:
    """No opening effect at all, and overdispersed openings that would otherwise pull the decay."""
    rng = np.random.default_rng(0)
    n = 6000
    age = np.where(rng.random(n) < 0.5, rng.exponential(60, n), np.nan)
    weight = np.where(np.isfinite(age), np.exp2(-np.nan_to_num(age) / 20.0), 0.0)
    won = rng.random(n) < 1 / (1 + np.exp(-(-0.8 + np.log(4.0) * weight)))
    win = WinData(np.zeros(n, dtype=np.int64), won, age)
    bins = 122
    exposure = np.full((1, bins), 400.0)
    events = rng.negative_binomial(2, 2 / (2 + 400 * 0.01), size=(1, bins)).astype(float)
    opening = OpenData(events, exposure, np.array([400.0]), np.array([40000.0]))
    fit = fit_kernel(win, opening, half_life_grid(365))
    assert fit.shape == "exponential"
    low, high = fit.scale_ci
    assert low <= 20.0 <= high and 14 <= fit.scale <= 28
    assert not cannot_tell(fit.scale_ci)


def _sweep(seed: int) -> dict[str, tuple[bool, bool, bool, float | None]]:
    crm = make_crm(10_000, seed=seed, signals=later_deal_signals(yearly_rate_days=36.0))
    section = learn_signals(crm.to_crm_data(), planted_tiers(crm), SignalsConfig())
    found = {t.type: t for t in section.types}
    out = {}
    for h in HALF_LIVES:
        t = found[f"later_{h:g}d"]
        ci = t.half_life_ci
        covered = t.decay == "exponential" and ci is not None and ci[0] <= h <= ci[1]
        close = t.half_life_days is not None and abs(t.half_life_days / h - 1) <= 0.3
        out[f"{h:g}"] = (covered, close, t.decay_cannot_tell, t.half_life_days)
    null = found["later_null"]
    out["null"] = (null.significant, null.decay != "none", null.decay_cannot_tell, None)
    return out


@pytest.mark.slow
def test_planted_half_lives_are_recovered_over_seeds() -> None:
    runs = [_sweep(seed) for seed in range(10)]
    for h in HALF_LIVES:
        key = f"{h:g}"
        assert sum(r[key][0] for r in runs) >= 8, (key, [r[key] for r in runs])
        assert sum(r[key][1] for r in runs) >= 8, (key, [r[key] for r in runs])
        assert sum(r[key][2] for r in runs) <= 1, (key, [r[key] for r in runs])
    assert sum(r["null"][0] for r in runs) <= 1, [r["null"] for r in runs]
    assert all(r["null"][2] for r in runs if not r["null"][0]), [r["null"] for r in runs]
