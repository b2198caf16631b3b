"""Mantel–Haenszel ratios within fit tiers: a signal's lift compared like with like.

A signal that ICP accounts get more often would look like it wins deals even if it did nothing;
comparing within each fit tier and pooling (Mantel–Haenszel) removes that. Risk ratios serve wins
(won deals among deals), rate ratios serve openings (deals per account-day of exposure), each with
a Greenland–Robins 95% interval and a two-sided Cochran–Mantel–Haenszel p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from icpkit.stats import Z95


@dataclass(frozen=True)
class Ratio:
    """A pooled ratio with its 95% interval, p-value and the exposed counts it rests on."""

    value: float | None
    ci: tuple[float, float] | None
    p_value: float
    n_exposed: int
    events_exposed: int

    @classmethod
    def empty(cls, n_exposed: int = 0, events: int = 0) -> Ratio:
        return cls(None, None, 1.0, n_exposed, events)


def _interval(ratio: float, var_log: float) -> tuple[float, float]:
    half = Z95 * math.sqrt(max(var_log, 0.0))
    return math.exp(math.log(ratio) - half), math.exp(math.log(ratio) + half)


def _two_sided(z: float) -> float:
    return float(2 * norm.sf(abs(z)))


def risk_ratio(strata: np.ndarray, exposed: np.ndarray, event: np.ndarray) -> Ratio:
    """Mantel–Haenszel risk ratio of ``event`` for exposed vs unexposed rows, within strata."""
    a, n1, c, n0 = (np.bincount(strata, w, minlength=strata.max(initial=0) + 1) for w in (
        exposed & event, exposed, ~exposed & event, ~exposed))  # fmt: skip
    total = n1 + n0
    ok = (n1 > 0) & (n0 > 0)
    a, n1, c, n0, total = a[ok], n1[ok], c[ok], n0[ok], total[ok]
    top, bottom = (a * n0 / total).sum(), (c * n1 / total).sum()
    if not ok.any() or top == 0 or bottom == 0:
        return Ratio.empty(int(n1.sum()), int(a.sum()))
    ratio = float(top / bottom)
    var = ((n1 * n0 * (a + c) - a * c * total) / total**2).sum() / (top * bottom)
    events = a + c
    expected = (n1 * events / total).sum()
    variance = (n1 * n0 * events * (total - events) / (total**2 * np.maximum(total - 1, 1))).sum()
    z = (a.sum() - expected) / math.sqrt(variance) if variance > 0 else 0.0
    return Ratio(ratio, _interval(ratio, float(var)), _two_sided(z), int(n1.sum()), int(a.sum()))


def rate_ratio(
    events_exposed: np.ndarray,
    time_exposed: np.ndarray,
    events_unexposed: np.ndarray,
    time_unexposed: np.ndarray,
) -> Ratio:
    """Mantel–Haenszel rate ratio from per-stratum event counts and exposure times."""
    e1, t1, e0, t0 = (np.asarray(x, dtype=float) for x in (
        events_exposed, time_exposed, events_unexposed, time_unexposed))  # fmt: skip
    total = t1 + t0
    ok = (t1 > 0) & (t0 > 0)
    e1, t1, e0, t0, total = e1[ok], t1[ok], e0[ok], t0[ok], total[ok]
    top, bottom = (e1 * t0 / total).sum(), (e0 * t1 / total).sum()
    if not ok.any() or top == 0 or bottom == 0:
        return Ratio.empty(round(t1.sum()), int(e1.sum()))
    ratio = float(top / bottom)
    events = e1 + e0
    var = (events * t1 * t0 / total**2).sum() / (top * bottom)
    expected = (events * t1 / total).sum()
    variance = (events * t1 * t0 / total**2).sum()
    z = (e1.sum() - expected) / math.sqrt(variance) if variance > 0 else 0.0
    return Ratio(ratio, _interval(ratio, float(var)), _two_sided(z), round(t1.sum()),
                 int(e1.sum()))  # fmt: skip
