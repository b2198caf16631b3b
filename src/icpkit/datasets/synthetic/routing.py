"""Deals after an experiment's start, with a planted effect of ICP routing: the ground truth the
holdout experiment's read-out is checked against.

Each account in the experiment opens deals as a Poisson process (a weekly rate by tier), each deal
is won with a probability by tier and closes after an exponential delay; routed accounts open
deals at ``1 + deal_rate_lift`` times the rate and win them at ``1 + win_lift`` times the
probability. Won deals closed by day T are a thinned Poisson process, so every metric's expected
value per account is known exactly and :class:`RoutingTruth` gives the true effect
(routed − holdout, averaged over the experiment's accounts) of each metric at T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

# weekly deal rate, win probability, mean amount per tier (Tier 1 buys more, more often)
BASELINE: dict[str, tuple[float, float, float]] = {
    "Tier 1": (0.030, 0.30, 60_000.0),
    "Tier 2": (0.020, 0.22, 40_000.0),
    "Tier 3": (0.012, 0.15, 25_000.0),
    "Non-fit": (0.008, 0.08, 15_000.0),
}
MEAN_CYCLE_WEEKS = 6.0


@dataclass(frozen=True)
class RoutingEffect:
    """The planted effect of ICP routing (0 and 0: a null effect)."""

    deal_rate_lift: float = 0.0
    win_lift: float = 0.0


@dataclass(frozen=True)
class RoutingTruth:
    """The true effect of routing on each metric at the end of the simulated window."""

    end: date
    effects: dict[str, float] = field(default_factory=dict)


def _params(tiers: np.ndarray, routed: np.ndarray, effect: RoutingEffect) -> tuple[np.ndarray, ...]:
    rate = np.array([BASELINE[t][0] for t in tiers])
    win = np.array([BASELINE[t][1] for t in tiers])
    amount = np.array([BASELINE[t][2] for t in tiers])
    rate = np.where(routed, rate * (1 + effect.deal_rate_lift), rate)
    win = np.clip(np.where(routed, win * (1 + effect.win_lift), win), 0, 1)
    return rate, win, amount


def _closed_by(weeks: float) -> float:
    """Expected weeks of deal openings that have closed by ``weeks`` (exponential cycle)."""
    mu = MEAN_CYCLE_WEEKS
    return weeks - mu * (-math.expm1(-weeks / mu))


def routing_truth(
    assignments: pl.DataFrame, start: date, weeks: float, effect: RoutingEffect
) -> RoutingTruth:
    """Expected routed − holdout difference of every metric, over all the experiment's accounts."""
    tiers = assignments["tier"].to_numpy()
    ones = np.ones(len(tiers), bool)
    r_rate, r_win, amount = _params(tiers, ones, effect)
    h_rate, h_win, _ = _params(tiers, ~ones, effect)
    closed = _closed_by(weeks)

    def per_arm(rate: np.ndarray, win: np.ndarray) -> dict[str, float]:
        return {
            "pipeline_deals": float(np.mean(rate * weeks)),
            "pipeline_amount": float(np.mean(rate * weeks * amount)),
            "conversion": float(np.mean(-np.expm1(-rate * win * closed))),
            "revenue": float(np.mean(rate * win * closed * amount)),
            "win_rate": float(np.sum(rate * win) / np.sum(rate)),
        }

    routed, holdout = per_arm(r_rate, r_win), per_arm(h_rate, h_win)
    return RoutingTruth(
        end=start + timedelta(days=round(weeks * 7)),
        effects={k: routed[k] - holdout[k] for k in routed},
    )


def simulate_routing(
    assignments: pl.DataFrame,
    start: date,
    weeks: int,
    effect: RoutingEffect,
    seed: int,
    *,
    first_id: int = 9_000_000,
) -> tuple[pl.DataFrame, RoutingTruth]:
    """Deals (canonical columns) created in the ``weeks`` after ``start`` and the true effects.

    Parameters
    ----------
    assignments : polars.DataFrame
        ``account_id``, ``tier`` and ``arm`` ('routed' or 'holdout'), as ``experiment start`` drew.
    start : date
        The experiment's first day.
    weeks : int
        Length of the simulated window; deals still open at its end have stage 'open'.
    effect : RoutingEffect
        The planted effect of routing.
    seed : int
        Seed of every draw.
    """
    rng = np.random.default_rng(seed)
    tiers = assignments["tier"].to_numpy()
    routed = (assignments["arm"] == "routed").to_numpy()
    rate, win, amount = _params(tiers, routed, effect)
    counts = rng.poisson(rate * weeks)
    owner = np.repeat(np.arange(len(tiers)), counts)
    n = int(counts.sum())
    opened = rng.uniform(0, weeks * 7, n)
    cycle = rng.exponential(MEAN_CYCLE_WEEKS * 7, n)
    won = rng.random(n) < win[owner]
    size = amount[owner] * rng.lognormal(-0.125, 0.5, n)  # mean 1 multiplier
    end_day = weeks * 7
    closes = opened + cycle
    closed = closes <= end_day
    created = [start + timedelta(days=int(d)) for d in opened]
    closed_at = [
        start + timedelta(days=int(c)) if ok else None for c, ok in zip(closes, closed, strict=True)
    ]
    stage = np.where(closed, np.where(won, "won", "lost"), "open")
    ids = assignments["account_id"].to_numpy()
    deals = pl.DataFrame(
        {
            "deal_id": [f"D{first_id + i:07d}" for i in range(n)],
            "account_id": pl.Series(ids[owner].tolist(), dtype=pl.Utf8),
            "created_at": pl.Series(created, dtype=pl.Date),
            "closed_at": pl.Series(closed_at, dtype=pl.Date),
            "stage": pl.Series(stage.tolist(), dtype=pl.Utf8),
            "amount": np.round(size, -2),
        }
    )
    return deals, routing_truth(assignments, start, weeks, effect)
