"""Estimates with their n and a 95% interval, and the tests behind icpkit's evidence.

Every figure icpkit reports about a group carries its n and a confidence interval, so small
groups read as uncertain rather than as findings: Wilson intervals for rates (sound at small n
and near 0 or 1), t intervals for means, seeded percentile-bootstrap intervals for medians,
Hanley–McNeil intervals for an AUC, a one-sided Fisher exact test for a rate that fell, and
Benjamini–Hochberg q-values over a family of tests.
This module imports nothing from icpkit, so every layer may use it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None and numpy scalars as Python ones (for JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


@dataclass(frozen=True)
class Estimate:
    """A KPI value for one group with its n and a 95% confidence interval (None when undefined)."""

    group: str
    kpi: str
    value: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN and infinities become None)."""
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimate:
        """Read back :meth:`to_dict` output."""
        return cls(**data)

    def text(self, *, percent: bool = False) -> str:
        """``42% [35%, 49%] n=180`` (or ``n/a n=0``)."""
        if self.value is None:
            return f"n/a n={self.n}"

        def fmt(x: float | None) -> str:
            if x is None:
                return "?"
            return f"{x:.0%}" if percent else f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"

        interval = "" if self.ci_low is None else f" [{fmt(self.ci_low)}, {fmt(self.ci_high)}]"
        return f"{fmt(self.value)}{interval} n={self.n}"


Z95 = 1.959963984540054


def wilson_bounds(
    successes: np.ndarray | float, trials: np.ndarray | float, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of successes/trials, element-wise; (0, 1) where trials is 0.

    The one implementation of the formula: scalar callers use ``wilson_interval``.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    safe_n = np.maximum(n, 1.0)
    p = k / safe_n
    denom = 1.0 + z * z / safe_n
    centre = (p + z * z / (2 * safe_n)) / denom
    half = z * np.sqrt(p * (1 - p) / safe_n + z * z / (4 * safe_n * safe_n)) / denom
    # exact at the edges (0 successes: 0, all: 1), where rounding would leave 1e-17
    lo = np.where((n > 0) & (k > 0), np.clip(centre - half, 0.0, 1.0), 0.0)
    hi = np.where((n > 0) & (k < n), np.clip(centre + half, 0.0, 1.0), 1.0)
    return lo, hi


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion k/n (good at small n and rates near 0 or 1)."""
    if n <= 0:
        return None, None
    lo, hi = wilson_bounds(k, n, z)
    return float(lo), float(hi)


def rate(group: str, kpi: str, k: int, n: int) -> Estimate:
    """A proportion with its Wilson interval."""
    lo, hi = wilson_interval(k, n)
    return Estimate(group, kpi, k / n if n else None, n, lo, hi)


def mean_interval(group: str, kpi: str, values: np.ndarray) -> Estimate:
    """A mean with its t interval."""
    from scipy.stats import t as student_t

    values = np.asarray(values, dtype=float)
    n = int(values.size)
    if n == 0:
        return Estimate(group, kpi, None, 0)
    mean = float(values.mean())
    if n < 2:
        return Estimate(group, kpi, mean, n)
    half = float(student_t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return Estimate(group, kpi, mean, n, mean - half, mean + half)


def median_interval(
    group: str, kpi: str, values: np.ndarray, rng: np.random.Generator, reps: int = 1000
) -> Estimate:
    """A median with a seeded percentile-bootstrap interval."""
    values = np.asarray(values, dtype=float)
    n = int(values.size)
    if n == 0:
        return Estimate(group, kpi, None, 0)
    median = float(np.median(values))
    if n < 2:
        return Estimate(group, kpi, median, n)
    reps = max(200, min(reps, 5_000_000 // n))  # bound memory on large groups
    draws = np.median(values[rng.integers(0, n, size=(reps, n))], axis=1)
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return Estimate(group, kpi, median, n, float(lo), float(hi))


def auc_with_ci(scores: np.ndarray, won: np.ndarray) -> Estimate | None:
    """AUC of the score for won vs lost (ties count half), Hanley–McNeil 95% interval."""
    from scipy.stats import rankdata

    n_pos, n_neg = int(won.sum()), int((~won).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    auc = float((ranks[won].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)
    se = math.sqrt(max(var, 0.0) / (n_pos * n_neg))
    return Estimate(
        "All", "auc", auc, n_pos + n_neg, max(0.0, auc - 1.96 * se), min(1.0, auc + 1.96 * se)
    )


def fisher_lower_p(k: int, n: int, k_ref: int, n_ref: int) -> float:
    """One-sided Fisher exact p-value that the rate k/n is lower than the reference k_ref/n_ref.

    Exact at any n, so it holds for the few dozen closed deals a top tier often has.
    """
    from scipy.stats import fisher_exact

    table = [[k, n - k], [k_ref, n_ref - k_ref]]
    return float(fisher_exact(table, alternative="less").pvalue)


def bh_q_values(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order.

    scipy's ``false_discovery_control``; a NaN p-value (a test that could not be run) stays NaN
    and is left out of the family, as R's ``p.adjust`` does, instead of making every q NaN.
    """
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, dtype=np.float64)
    q = np.full_like(p, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        q[tested] = false_discovery_control(np.clip(p[tested], 0.0, 1.0), method="bh")
    return q


@dataclass(frozen=True)
class StratifiedOddsRatio:
    """Mantel–Haenszel common odds ratios, one per row of 2×2 tables across strata.

    Arrays are aligned with the rows (e.g. personas); NaN where a row has no informative stratum.
    """

    odds_ratio: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray


def mantel_haenszel(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, z: float = Z95
) -> StratifiedOddsRatio:
    """Common odds ratio of rows × strata 2×2 tables, with its 95% interval and CMH test.

    For each row (e.g. a persona) and stratum (e.g. a fit tier): ``a`` exposed with the outcome,
    ``b`` exposed without it, ``c`` unexposed with it, ``d`` unexposed without it. The estimate is
    Mantel–Haenszel's, its interval uses the Robins–Breslow–Greenland variance of the log odds
    ratio, and the p-value is the two-sided Cochran–Mantel–Haenszel test with continuity
    correction. Comparing like with like inside each stratum keeps a confounder (an exposure
    that merely marks big accounts) from being credited.
    """
    from scipy.stats import chi2

    a, b, c, d = (np.atleast_2d(np.asarray(x, dtype=np.float64)) for x in (a, b, c, d))
    n = a + b + c + d
    safe = np.where(n > 0, n, 1.0)
    r, s = a * d / safe, b * c / safe
    p_, q_ = (a + d) / safe, (b + c) / safe
    sr, ss = r.sum(axis=1), s.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = sr / ss
        var = (
            (p_ * r).sum(axis=1) / (2 * sr**2)
            + (p_ * s + q_ * r).sum(axis=1) / (2 * sr * ss)
            + (q_ * s).sum(axis=1) / (2 * ss**2)
        )
        half = z * np.sqrt(var)
        low, high = np.exp(np.log(ratio) - half), np.exp(np.log(ratio) + half)
        informative = n > 1
        expected = np.where(informative, (a + b) * (a + c) / safe, 0.0)
        variance = np.where(
            informative, (a + b) * (c + d) * (a + c) * (b + d) / (safe**2 * (safe - 1)), 0.0
        )
        observed = np.where(informative, a, 0.0).sum(axis=1)
        total_var = variance.sum(axis=1)
        statistic = np.maximum(np.abs(observed - expected.sum(axis=1)) - 0.5, 0.0) ** 2 / total_var
    p_value = np.where(total_var > 0, chi2.sf(np.nan_to_num(statistic), 1), 1.0)
    undefined = (sr == 0) & (ss == 0)
    ratio = np.where(undefined, np.nan, ratio)
    return StratifiedOddsRatio(ratio, low, high, p_value)
