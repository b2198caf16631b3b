"""Out of time: does fit + intent rank accounts better than fit alone over the next 90 days?

Everything is learned before the cut (the fit model, the signal weights and decays); intent is
scored on the cut date from signals before it; then the accounts are ranked by fit alone and by
fit + intent (``log(fit_probability) + log(intent_lift)``: intent multiplies the fitted chance)
and compared on what happened in the ``horizon_days`` after the cut: was a deal opened, and was a
deal opened then won. Each comparison has its AUC (Hanley–McNeil interval), the AUC gain (paired
bootstrap interval) and the top-decile lift (the top tenth's rate over the overall rate, Wilson
interval).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata

from icpkit.stats import auc_with_ci, json_safe, wilson_interval

BOOTSTRAP_REPS = 300


def outcomes_after(deals: pl.DataFrame, cut: date, horizon_days: int) -> pl.DataFrame:
    """Per account: opened (a deal created in [cut, cut + horizon)) and won (one of them won)."""
    window = deals.filter(
        (pl.col("created_at") >= cut) & (pl.col("created_at") < cut + timedelta(horizon_days))
    )
    return window.group_by(pl.col("account_id").cast(pl.Utf8)).agg(
        opened=pl.lit(True), won=(pl.col("stage") == "won").any()
    )


def _auc(scores: np.ndarray, positive: np.ndarray) -> float:
    ranks = rankdata(scores)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class _ResampledAuc:
    """The AUC of a bootstrap resample from how often it drew each row, without re-ranking.

    A resample is the original rows with multiplicities ``counts``; its AUC (Mann–Whitney, ties
    half) is the count-weighted share of (positive, negative) pairs in order, read off the
    distinct scores sorted once: the same number as ranking the resample (:func:`_auc`), up to
    rounding, at a bincount per resample instead of a sort.
    """

    def __init__(self, scores: np.ndarray, positive: np.ndarray) -> None:
        _, self.group = np.unique(scores, return_inverse=True)
        self.n_groups = int(self.group.max()) + 1 if len(scores) else 0
        self.positive = positive.astype(float)
        self.negative = 1.0 - self.positive

    def __call__(self, counts: np.ndarray) -> float:
        pos = np.bincount(self.group, counts * self.positive, self.n_groups)
        neg = np.bincount(self.group, counts * self.negative, self.n_groups)
        n_pos, n_neg = pos.sum(), neg.sum()
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        below = np.cumsum(neg) - neg  # negatives with a lower score
        return float((pos * (below + 0.5 * neg)).sum() / (n_pos * n_neg))


def _auc_gain(
    base: np.ndarray, better: np.ndarray, positive: np.ndarray, seed: int
) -> dict[str, Any]:
    gain = _auc(better, positive) - _auc(base, positive)
    rng = np.random.default_rng(seed)
    n = len(positive)
    reps = max(100, min(BOOTSTRAP_REPS, 20_000_000 // max(n, 1)))
    auc_better, auc_base = _ResampledAuc(better, positive), _ResampledAuc(base, positive)
    draws = []
    for _ in range(reps):
        counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        draws.append(auc_better(counts) - auc_base(counts))
    lo, hi = np.nanpercentile(draws, [2.5, 97.5])
    return {"value": gain, "ci": [float(lo), float(hi)]}


def _top_decile(scores: np.ndarray, positive: np.ndarray) -> dict[str, Any]:
    n_top = max(1, len(scores) // 10)
    order = np.argsort(-scores, kind="stable")
    top = positive[order[:n_top]]
    overall = positive.mean()
    if overall == 0:
        return {"value": None, "ci": None, "n": n_top}
    lo, hi = wilson_interval(int(top.sum()), n_top)
    ci = None if lo is None or hi is None else [lo / overall, hi / overall]
    return {"value": float(top.mean() / overall), "ci": ci, "n": n_top}


def compare_rankings(
    fit_probability: np.ndarray, intent_lift: np.ndarray, positive: np.ndarray, seed: int = 0
) -> dict[str, Any]:
    """AUC, AUC gain and top-decile lift of fit alone vs fit + intent for one outcome.

    Fit + intent is ``log(fit_probability) + log(intent_lift)``: the lift multiplies the fitted
    chance, so intent reorders accounts of similar fit and cannot lift a non-fit past a fit.
    """
    fit = np.log(np.clip(np.asarray(fit_probability, dtype=float), 1e-6, 1.0))
    both = fit + np.log(np.asarray(intent_lift, dtype=float))
    result: dict[str, Any] = {"n_accounts": len(positive), "n_events": int(positive.sum())}
    for name, scores in (("fit", fit), ("fit_intent", both)):
        auc = auc_with_ci(scores, positive)
        result[name] = {
            "auc": None if auc is None else auc.value,
            "auc_ci": None if auc is None else [auc.ci_low, auc.ci_high],
            "top_decile_lift": _top_decile(scores, positive),
        }
    if 0 < positive.sum() < len(positive):
        result["auc_gain"] = _auc_gain(fit, both, positive, seed)
    return result


def backtest_intent(
    fit: pl.DataFrame,
    intent: pl.DataFrame,
    deals: pl.DataFrame,
    cut: date,
    horizon_days: int,
) -> dict[str, Any]:
    """The backtest of fit + intent vs fit alone on the deals after ``cut``.

    Parameters
    ----------
    fit
        ``account_id`` and ``fit_probability`` from a model built before the cut.
    intent
        ``account_id``, ``intent_lift`` and ``opening_lift`` scored on the cut date (missing
        accounts: 1). Openings are ranked with the opening lift, wins with the whole lift.
    deals
        All deals (those created from the cut on are the outcome).
    """
    frame = (
        fit.select(pl.col("account_id").cast(pl.Utf8), "fit_probability")
        .join(
            intent.select("account_id", "intent_lift", "opening_lift"), on="account_id", how="left"
        )
        .join(outcomes_after(deals, cut, horizon_days), on="account_id", how="left")
        .with_columns(
            pl.col("intent_lift", "opening_lift").fill_null(1.0),
            pl.col("opened").fill_null(False),
            pl.col("won").fill_null(False),
        )
    )
    probability = frame["fit_probability"]
    fit_p = probability.fill_null(probability.median()).to_numpy()
    lift = frame["intent_lift"].to_numpy()
    opening = frame["opening_lift"].to_numpy()
    result = {
        "cut": cut.isoformat(),
        "horizon_days": horizon_days,
        "n_with_intent": int((lift > 1).sum()),
        "opening": compare_rankings(fit_p, opening, frame["opened"].to_numpy()),
        "winning": compare_rankings(fit_p, lift, frame["won"].to_numpy(), seed=1),
    }
    return dict(json_safe(result))
