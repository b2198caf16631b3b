"""The statistics behind every reported trait and segment: intervals, tests, multiple testing.

- Wilson score interval for a share (icpkit.stats.wilson_bounds: honest at small counts, in [0, 1]).
- Lift = precision ÷ base rate; its interval is the Wilson interval of the precision divided by the
  base rate (the base rate of the whole population is known far better than a segment's share).
- Two-sided test of a single trait: Fisher's exact test while any expected cell count is below 5 or
  the population is at most 5,000 accounts, else Pearson's chi-square (fast, and accurate there).
- One-sided test of a segment on held-out accounts: the hypergeometric tail (Fisher's exact test,
  one-sided), i.e. the chance of at least this many target accounts in a random set of this size.
- Benjamini–Hochberg q-values over the tested family (icpkit.stats.bh_q_values).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special._ufuncs as _ufuncs  # scipy's own hypergeometric tail (boost)
from scipy import stats

from icpkit.stats import wilson_bounds

_FISHER_MAX_N = 5000


def lift_interval(
    positives: np.ndarray, size: np.ndarray, base_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """95 % interval of the lift (precision ÷ base rate)."""
    lo, hi = wilson_bounds(positives, size)
    base = max(base_rate, 1e-12)
    return lo / base, hi / base


def two_sided_p(in_target: int, size: int, n_target: int, n_total: int) -> float:
    """Two-sided p-value that a trait's target share differs from the rest (2×2 table)."""
    table = np.array(
        [
            [in_target, size - in_target],
            [n_target - in_target, n_total - size - n_target + in_target],
        ]
    )
    if table.min() < 0 or size in (0, n_total) or n_target in (0, n_total):
        return 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n_total
    if n_total <= _FISHER_MAX_N or expected.min() < 5:
        return fisher_two_sided(table)
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def fisher_two_sided(table: np.ndarray) -> float:
    """``scipy.stats.fisher_exact(table).pvalue`` of a 2×2 table of non-negative integers, by
    scipy's own steps (the mode, the binary search for the other tail) and its boost functions,
    without ``rv_discrete``'s argument handling around each of the ~10 pmf/cdf/sf calls (~0.2 ms
    each; single traits test a few hundred tables per build). Bit-identical to scipy
    (``tests/test_discovery_fisher.py``).
    """
    c = np.asarray(table, dtype=np.int64)
    if 0 in c.sum(axis=0) or 0 in c.sum(axis=1):
        return 1.0
    n1 = c[0, 0] + c[0, 1]
    n2 = c[1, 0] + c[1, 1]
    n = c[0, 0] + c[1, 0]
    total = n1 + n2
    low, high = max(n - n2, 0), min(n1, n)  # hypergeom(total, n1, n)'s support

    def pmf(x: Any) -> Any:
        if x < low or x > high:
            return 0.0
        return np.clip(_ufuncs._hypergeom_pmf(x, n1, n, total), 0, 1)

    def cdf(x: Any) -> Any:
        if x >= high:
            return 1.0
        if x < low:
            return 0.0
        return np.clip(_ufuncs._hypergeom_cdf(x, n1, n, total), 0, 1)

    def sf(x: Any) -> Any:
        if x < low:
            return 1.0
        if x >= high:
            return 0.0
        return np.clip(_ufuncs._hypergeom_sf(x, n1, n, total), 0, 1)

    mode = int((n + 1) * (n1 + 1) / (n1 + n2 + 2))
    pexact = pmf(c[0, 0])
    pmode = pmf(mode)
    epsilon = 1e-14
    gamma = 1 + epsilon
    if np.abs(pexact - pmode) / np.maximum(pexact, pmode) <= epsilon:
        return 1.0
    if c[0, 0] < mode:
        plower = cdf(c[0, 0])
        if pmf(n) > pexact * gamma:
            return float(plower)
        guess = _binary_search(lambda x: -pmf(x), -pexact * gamma, mode, n)
        pvalue = plower + sf(guess)
    else:
        pupper = sf(c[0, 0] - 1)
        if pmf(0) > pexact * gamma:
            return float(pupper)
        guess = _binary_search(pmf, pexact * gamma, 0, mode)
        pvalue = pupper + cdf(guess)
    return float(min(pvalue, 1.0))


def _binary_search(a: Any, d: float, lo: int, hi: int) -> int:
    """scipy's ``_binary_search_for_binom_tst``: i in [lo, hi] with a(i) <= d < a(i + 1)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        midval = a(mid)
        if midval < d:
            lo = mid + 1
        elif midval > d:
            hi = mid - 1
        else:
            return mid
    return lo if a(lo) <= d else lo - 1


def enrichment_p(
    in_target: np.ndarray, size: np.ndarray, n_target: int, n_total: int
) -> np.ndarray:
    """One-sided p of at least ``in_target`` target accounts among ``size`` (hypergeometric)."""
    k = np.asarray(in_target)
    draws = np.asarray(size)
    fast = _hypergeom_sf(k - 1, n_total, n_target, draws)
    if fast is not None:
        return fast
    return np.clip(stats.hypergeom.sf(k - 1, n_total, n_target, draws), 0.0, 1.0)


def _hypergeom_sf(k: Any, total: Any, good: Any, draws: Any) -> np.ndarray | None:
    """``scipy.stats.hypergeom.sf(k, total, good, draws)`` for whole-number counts, through the
    same boost function scipy's ``hypergeom._sf`` calls, without the generic distribution
    machinery (argument parsing and broadcasting cost ~0.2 ms a call; discovery's refinement makes
    thousands of them). Outside the support it is 1 below and 0 above, as scipy's ``sf``; None
    for anything but integer arrays of valid counts, for scipy to answer."""
    k, total, good, draws = np.broadcast_arrays(k, total, good, draws)
    if k.ndim != 1 or any(a.dtype.kind not in "iu" for a in (k, total, good, draws)):
        return None
    if k.size and (
        good.min() < 0 or draws.min() < 0 or np.any(good > total) or np.any(draws > total)
    ):
        return None
    low = np.maximum(draws - (total - good), 0)
    inside = (k >= low) & (k < np.minimum(good, draws))
    out = (k < low).astype(np.float64)
    if inside.any():
        values = _ufuncs._hypergeom_sf(k[inside], good[inside], draws[inside], total[inside])
        out[inside] = np.clip(values, 0.0, 1.0)
    return out


def mean_shift_p(values: np.ndarray, covered: np.ndarray) -> float:
    """One-sided Welch t-test p-value that the covered accounts have a higher mean value."""
    inside, outside = values[covered], values[~covered]
    if inside.size < 2 or outside.size < 2:
        return 1.0
    result = stats.ttest_ind(inside, outside, equal_var=False, alternative="greater")
    p = float(result.pvalue)
    return p if np.isfinite(p) else 1.0
