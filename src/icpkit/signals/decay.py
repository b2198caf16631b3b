"""How fast a signal's effect fades: exponential and flat-window kernels fitted by profile likelihood.

A signal ``u`` days old weighs ``K(u)``: ``2^(-u / half_life)`` (exponential) or 1 up to a window
and 0 after it (flat). For each candidate kernel two models are fitted at once, sharing it:

* **winning**: a logistic regression of won vs lost over closed deals, with one intercept per fit
  tier and ``beta * K(days from the latest signal to the deal's opening)``;
* **opening**: a Poisson model of deal openings per account-day, with one baseline rate per fit
  tier multiplied by ``1 + alpha * K(days since the latest signal)`` (exposure binned by age).

Their summed log-likelihood, maximised over beta and alpha, is profiled over a grid of half-lives
and windows; the best kernel is the decay (a flat window only when clearly better), and the
half-lives within 1.92 log-likelihood units of the best form its 95% profile-likelihood interval.
A signal need not open deals itself: when it only raises the win odds of deals that open later
for other reasons, the opening model finds no effect at any scale and the decay is read from
the winning model alone. An interval whose ends are ``UNRESOLVED_RATIO`` or more apart (an order
of magnitude) means the data cannot tell how fast the effect fades.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize_scalar

from icpkit.stats import Z95

Shape = Literal["exponential", "window"]
BIN_DAYS = 3.0
CHI2_95 = Z95 * Z95 / 2  # half the chi-square(1) 95% point: profile-likelihood interval
WINDOW_MARGIN = 2 * CHI2_95  # the chi-square(1) 95% point: how much better a window must fit
UNRESOLVED_RATIO = 10.0  # high / low of the decay interval from which the decay is "cannot tell"


def cannot_tell(interval: tuple[float, float] | None) -> bool:
    """Whether a decay interval spans an order of magnitude (or is missing)."""
    if interval is None or interval[0] <= 0:
        return True
    return interval[1] / interval[0] >= UNRESOLVED_RATIO


def kernel(shape: Shape, scale: float, age: np.ndarray) -> np.ndarray:
    """Weight of a signal ``age`` days old (1 at age 0; 0 for NaN or negative ages)."""
    age = np.asarray(age, dtype=float)
    valid = np.isfinite(age) & (age >= 0)
    safe = np.where(valid, age, 0.0)
    weight = np.exp2(-safe / scale) if shape == "exponential" else (safe <= scale).astype(float)
    return np.where(valid, weight, 0.0)


def bin_kernel(shape: Shape, scale: float, n_bins: int) -> np.ndarray:
    """The kernel averaged over each exposure bin [j*BIN_DAYS, (j+1)*BIN_DAYS)."""
    lo = np.arange(n_bins) * BIN_DAYS
    if shape == "exponential":
        rate = math.log(2) / scale
        return np.exp(-rate * lo) * (1 - math.exp(-rate * BIN_DAYS)) / (rate * BIN_DAYS)
    return np.clip((scale - lo) / BIN_DAYS, 0.0, 1.0)


def effect_window(shape: Shape, scale: float) -> int:
    """Days after which the effect is gone: the window, or where the kernel falls below 10%."""
    return round(scale if shape == "window" else scale * math.log2(10))


@dataclass(frozen=True)
class WinData:
    """Closed deals: fit-tier stratum, won, and the age of the latest signal at opening (NaN)."""

    stratum: np.ndarray
    won: np.ndarray
    age: np.ndarray

    def counts(self) -> WinCounts:
        """The deals grouped by (stratum, age): what the win model's likelihood depends on.

        Deals sharing a stratum and a signal age have the same linear predictor under every
        kernel, so the logistic likelihood over the deals equals the binomial likelihood over the
        groups (wins out of deals). Ages are whole days, so a stratum has at most ``lookback + 1``
        groups however many deals it holds. Ages the kernel weighs 0 (NaN, negative) form one
        group per stratum.
        """
        n_deals = len(self.won)
        if not n_deals:
            empty = np.zeros(0)
            return WinCounts(np.zeros(0, dtype=np.int64), empty, empty, empty)
        age = np.asarray(self.age, dtype=float)
        age = np.where(np.isfinite(age) & (age >= 0), age, -1.0)
        ages, age_code = np.unique(age, return_inverse=True)
        stratum = np.asarray(self.stratum, dtype=np.int64)
        keys, group = np.unique(stratum * len(ages) + age_code.ravel(), return_inverse=True)
        group = group.ravel()
        size = np.bincount(group, minlength=len(keys)).astype(float)
        wins = np.bincount(group, np.asarray(self.won, dtype=float), minlength=len(keys))
        group_age = ages[keys % len(ages)]
        return WinCounts(keys // len(ages), np.where(group_age < 0, np.nan, group_age), size, wins)


@dataclass(frozen=True)
class WinCounts:
    """Closed deals grouped by stratum and signal age: deals and wins per group."""

    stratum: np.ndarray
    age: np.ndarray
    n: np.ndarray
    won: np.ndarray

    @classmethod
    def per_deal(cls, data: WinData) -> WinCounts:
        """One group per deal (the ungrouped likelihood; for checking the grouped one)."""
        won = np.asarray(data.won, dtype=float)
        return cls(np.asarray(data.stratum, dtype=np.int64), np.asarray(data.age, dtype=float),
                   np.ones(len(won)), won)  # fmt: skip


@dataclass(frozen=True)
class OpenData:
    """Deal openings and account-days by stratum: per age bin, and with no signal in the lookback."""

    events: np.ndarray  # strata x bins
    exposure: np.ndarray  # strata x bins
    events_unexposed: np.ndarray  # strata
    exposure_unexposed: np.ndarray  # strata


@dataclass(frozen=True)
class KernelFit:
    """The best kernel and the effects under it."""

    shape: Shape
    scale: float
    scale_ci: tuple[float, float]
    win_log_odds: float
    open_ratio: float  # 1 + alpha: opening rate right after the signal vs none
    log_likelihood: float


def fit_win(data: WinCounts, weight: np.ndarray) -> tuple[float, float]:
    """(beta, log-likelihood) of won ~ stratum + beta * weight, by Newton–Raphson.

    ``weight`` is the kernel at each group's age. The model is fitted on the binomial counts of
    the groups (:meth:`WinData.counts`), which has the same likelihood as the logistic model
    over the deals. The stratum intercepts make the Hessian an arrow matrix, solved through its
    Schur complement in O(groups) per step, so hundreds of kernels are cheap to profile.
    """
    if not len(data.won) or not weight.any():
        return 0.0, _null_win_ll(data)
    n_strata = int(data.stratum.max()) + 1
    k, n = data.won, data.n
    x = weight
    # A stratum whose deals were all won or all lost has its intercept at +-infinity whatever
    # beta is: its deals add nothing to the likelihood at the optimum, nor to beta's fit, and
    # left in they keep Newton from converging (the intercept creeps by ~1 a step).
    n_s = np.bincount(data.stratum, n, minlength=n_strata)
    k_s = np.bincount(data.stratum, k, minlength=n_strata)
    mixed = ((k_s > 0) & (k_s < n_s))[data.stratum]
    if not mixed.all():
        data = WinCounts(data.stratum[mixed], data.age[mixed], n[mixed], k[mixed])
        k, n, x = data.won, data.n, x[mixed]
        if not len(k) or not x.any():
            return 0.0, _null_win_ll(data)
    intercept = np.zeros(n_strata)
    beta = 0.0
    for _step in range(40):
        eta = np.clip(intercept[data.stratum] + beta * x, -30, 30)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = n * np.maximum(p * (1 - p), 1e-9)
        r = k - n * p
        g_s = np.bincount(data.stratum, r, minlength=n_strata)
        h_s = np.bincount(data.stratum, w, minlength=n_strata) + 1e-9
        h_sb = np.bincount(data.stratum, w * x, minlength=n_strata)
        g_b, h_bb = float((x * r).sum()), float((w * x * x).sum())
        d_beta = (g_b - (h_sb * g_s / h_s).sum()) / max(h_bb - (h_sb**2 / h_s).sum(), 1e-9)
        d_beta = float(np.clip(d_beta, -3, 3))
        d_s = np.clip((g_s - h_sb * d_beta) / h_s, -3, 3)
        intercept += d_s
        beta += d_beta
        if abs(d_beta) < 1e-7 and np.abs(d_s).max() < 1e-7:
            break
    eta = np.clip(intercept[data.stratum] + beta * x, -30, 30)
    return beta, float((k * eta - n * np.logaddexp(0, eta)).sum())


def _null_win_ll(data: WinCounts) -> float:
    n = np.bincount(data.stratum, data.n, minlength=1)
    k = np.bincount(data.stratum, data.won, minlength=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(k > 0, k * np.log(k / n), 0) + np.where(
            n > k, (n - k) * np.log(1 - k / n), 0
        )
    return float(np.nansum(terms))


def fit_open(data: OpenData, weight: np.ndarray) -> tuple[float, float]:
    """(1 + alpha, profile log-likelihood) of openings ~ tier rate * (1 + alpha * weight)."""
    counts = data.events.sum(axis=1) + data.events_unexposed
    if counts.sum() == 0 or not weight.any():
        return 1.0, _open_ll(data, weight, 0.0, counts)

    def negative(log_ratio: float) -> float:
        return -_open_ll(data, weight, math.expm1(log_ratio), counts)

    best = minimize_scalar(negative, bounds=(math.log(0.02), math.log(500.0)), method="bounded")
    return math.exp(float(best.x)), -float(best.fun)


def _open_ll(data: OpenData, weight: np.ndarray, alpha: float, counts: np.ndarray) -> float:
    factor = 1.0 + alpha * weight
    exposure = data.exposure_unexposed + (data.exposure * factor).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(counts > 0, np.log(counts / np.maximum(exposure, 1e-12)), 0.0)
    return float((data.events * np.log(factor)).sum() + (counts * rate).sum() - counts.sum())


def fit_kernel(win: WinData | WinCounts, opening: OpenData, grid: np.ndarray) -> KernelFit:
    """Profile the joint log-likelihood over both shapes and the grid of half-lives / windows.

    The flat window is chosen only when it fits better than the exponential decay by at least
    ``WINDOW_MARGIN`` log-likelihood units: a window's likelihood is a step function of its length,
    so its best grid point overfits the deals that happen to open just inside it, and a smooth
    decay is the better default when the data cannot tell the two apart. Within the chosen
    shape, the estimate and the interval are read off the profile between grid points
    (:func:`profile_interval`), so they do not snap to the grid. The deals are grouped once
    (:meth:`WinData.counts`) and every kernel is fitted on the groups.
    """
    if isinstance(win, WinData):
        win = win.counts()
    n_bins = opening.events.shape[1]
    parts: dict[Shape, tuple[np.ndarray, np.ndarray]] = {}
    effects: dict[Shape, list[tuple[float, float]]] = {}
    forms: tuple[Shape, Shape] = ("exponential", "window")
    for form in forms:
        ll_win, ll_open = np.empty(len(grid)), np.empty(len(grid))
        found = []
        for i, scale in enumerate(grid):
            beta, ll_win[i] = fit_win(win, kernel(form, scale, win.age))
            ratio, ll_open[i] = fit_open(opening, bin_kernel(form, scale, n_bins))
            found.append((beta, ratio))
        parts[form], effects[form] = (ll_win, ll_open), found
    use_win, use_open = _informative(win, opening, parts)
    profiles = {form: use_win * lw + use_open * lo for form, (lw, lo) in parts.items()}
    shape: Shape = (
        "window"
        if profiles["window"].max() >= profiles["exponential"].max() + WINDOW_MARGIN
        else "exponential"
    )
    lls = profiles[shape]
    best = int(np.argmax(lls))
    scale, low, high = profile_interval(grid, lls)
    if shape == "window":  # a step-function profile has no vertex to interpolate
        scale = float(grid[best])
    beta, ratio = effects[shape][best]
    return KernelFit(shape, scale, (low, high), beta, ratio, float(lls[best]))


def _informative(
    win: WinCounts, opening: OpenData, parts: dict[Shape, tuple[np.ndarray, np.ndarray]]
) -> tuple[float, float]:
    """(1 or 0, 1 or 0): whether the winning and the opening model each show an effect.

    A model that shows none at any scale (its best fit gains less than ``WINDOW_MARGIN`` over
    no effect) only adds noise to the profile — and more than chance noise when deal openings
    are overdispersed (some accounts open many deals), which narrows the interval wrongly — so
    it is left out: a signal that only raises the odds of deals opened for other reasons has its
    decay read from the winning model alone. When neither shows an effect both stay (the type
    will not be significant anyway).
    """
    empty = np.zeros(len(win.age))
    null_win = fit_win(win, empty)[1]
    null_open = _open_ll(
        opening, np.zeros(opening.events.shape[1]), 0.0,
        opening.events.sum(axis=1) + opening.events_unexposed,
    )  # fmt: skip
    gain_win = max(float(p[0].max()) for p in parts.values()) - null_win
    gain_open = max(float(p[1].max()) for p in parts.values()) - null_open
    use_win, use_open = gain_win >= WINDOW_MARGIN, gain_open >= WINDOW_MARGIN
    if not use_win and not use_open:
        return 1.0, 1.0
    return float(use_win), float(use_open)


def profile_interval(grid: np.ndarray, lls: np.ndarray) -> tuple[float, float, float]:
    """(estimate, low, high) from a profile log-likelihood over an increasing grid of scales.

    The estimate is the vertex of the parabola through the best grid point and its neighbours
    (in log scale); the bounds are where the profile falls ``CHI2_95`` below its maximum,
    interpolated linearly in log scale between the grid points around the crossing, or the grid's
    end when it never falls that far (the data then do not bound the decay on that side).
    """
    log_grid = np.log(grid)
    best = int(np.argmax(lls))
    estimate = float(grid[best])
    if 0 < best < len(grid) - 1:
        x, y = log_grid[best - 1 : best + 2], lls[best - 1 : best + 2]
        a, b, _ = np.polyfit(x - x[1], y, 2)
        if a < 0:
            shift = float(np.clip(-b / (2 * a), x[0] - x[1], x[2] - x[1]))
            estimate = float(np.exp(x[1] + shift))
    cut = lls[best] - CHI2_95
    below = np.flatnonzero(lls[:best] < cut)
    low = float(grid[0])
    if below.size:
        j = int(below[-1])
        low = float(np.exp(_crossing(log_grid[j], lls[j], log_grid[j + 1], lls[j + 1], cut)))
    above = np.flatnonzero(lls[best + 1 :] < cut)
    high = float(grid[-1])
    if above.size:
        j = best + 1 + int(above[0])
        high = float(np.exp(_crossing(log_grid[j - 1], lls[j - 1], log_grid[j], lls[j], cut)))
    return estimate, min(low, estimate), max(high, estimate)


def _crossing(x0: float, y0: float, x1: float, y1: float, level: float) -> float:
    """Where the segment from (x0, y0) to (x1, y1) crosses ``level``."""
    if y1 == y0:
        return x0
    return x0 + (level - y0) * (x1 - x0) / (y1 - y0)
