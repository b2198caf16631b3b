"""How fast a signal's effect fades: exponential and flat-window kernels fitted by profile likelihood.

A signal ``u`` days old weighs ``K(u)``: ``2^(-u / half_life)`` (exponential) or 1 up to a window
and 0 after it (flat). For each candidate kernel two models are fitted at once, sharing it:

* **winning**: a logistic regression of won vs lost over closed deals, with one intercept per fit
  tier and ``beta * K(days from the latest signal to the deal's opening)``;
* **opening**: a Poisson model of deal openings per account-day, with one baseline rate per fit
  tier multiplied by ``1 + alpha * K(days since the latest signal)`` (exposure binned by age).

Their summed log-likelihood, maximised over beta and alpha, is profiled over a grid of half-lives
and windows; the best kernel is the decay, and the half-lives within 1.92 log-likelihood units of
the best form its 95% profile-likelihood interval.
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


def fit_win(data: WinData, weight: np.ndarray) -> tuple[float, float]:
    """(beta, log-likelihood) of won ~ stratum + beta * weight, by Newton–Raphson.

    The stratum intercepts make the Hessian an arrow matrix, solved through its Schur complement
    in O(n) per step, so hundreds of kernels are cheap to profile.
    """
    if not len(data.won) or not weight.any():
        return 0.0, _null_win_ll(data)
    n_strata = int(data.stratum.max()) + 1
    y = data.won.astype(float)
    x = weight
    intercept = np.zeros(n_strata)
    beta = 0.0
    for _ in range(40):
        eta = np.clip(intercept[data.stratum] + beta * x, -30, 30)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = np.maximum(p * (1 - p), 1e-9)
        r = y - p
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
    return beta, float((y * eta - np.logaddexp(0, eta)).sum())


def _null_win_ll(data: WinData) -> float:
    n = np.bincount(data.stratum, minlength=1).astype(float)
    k = np.bincount(data.stratum, data.won.astype(float), minlength=1)
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


def fit_kernel(win: WinData, opening: OpenData, grid: np.ndarray) -> KernelFit:
    """Profile the joint log-likelihood over both shapes and the grid of half-lives / windows."""
    n_bins = opening.events.shape[1]
    best: KernelFit | None = None
    profiles: dict[Shape, np.ndarray] = {}
    for shape in ("exponential", "window"):
        lls = np.empty(len(grid))
        for i, scale in enumerate(grid):
            beta, ll_win = fit_win(win, kernel(shape, scale, win.age))
            ratio, ll_open = fit_open(opening, bin_kernel(shape, scale, n_bins))
            lls[i] = ll_win + ll_open
            if best is None or lls[i] > best.log_likelihood:
                best = KernelFit(shape, float(scale), (0.0, 0.0), beta, ratio, float(lls[i]))
        profiles[shape] = lls
    assert best is not None
    within = grid[profiles[best.shape] >= best.log_likelihood - CHI2_95]
    return KernelFit(
        best.shape,
        best.scale,
        (float(within.min()), float(within.max())),
        best.win_log_odds,
        best.open_ratio,
        best.log_likelihood,
    )
