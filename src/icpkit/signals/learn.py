"""What each signal type is worth, learned from the CRM's own history, with its decay.

For every type: a decay kernel (exponential half-life or flat window, with a 95% interval) fitted
jointly to deal openings and wins (:mod:`icpkit.signals.decay`); then, within fit tiers
(Mantel–Haenszel), the lift of deal openings in the window after the signal and the lift of the
win rate of deals opened in it, each with a 95% interval. Significance is tested in windows fixed
in advance (``signals.test_window_days`` and a third of it, :func:`tested_windows`) so the data do
not choose the window they are tested in; the four tests of a type are Bonferroni-combined and
the types BH-adjusted. A type that is not
significant is reported as having no effect and weighs nothing in the intent score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy.stats import false_discovery_control

from icpkit.config import SignalsConfig
from icpkit.profile import (
    SignalRatioIntervals,
    SignalRatios,
    SignalTypeEvidence,
    SignalValueEvidence,
)
from icpkit.signals.decay import KernelFit, cannot_tell, effect_window, fit_kernel
from icpkit.signals.sources import SignalEvents
from icpkit.signals.stratified import Ratio, rate_ratio, risk_ratio
from icpkit.signals.timeline import (
    Timeline,
    ages,
    follow_up,
    opening_data,
    win_data,
)


@dataclass(frozen=True)
class TypeTest:
    """One signal type before multiple-testing adjustment."""

    type: str
    n_signals: int
    fit: KernelFit
    window_days: int
    opening: Ratio
    winning: Ratio
    tested: tuple[Ratio, Ratio]  # (opening, winning) in the fixed test window
    p_value: float
    by_value: tuple[SignalValueEvidence, ...]


def half_life_grid(lookback: int) -> np.ndarray:
    """Candidate half-lives and windows: 2 days to the lookback, evenly on a log scale."""
    return np.unique(np.round(np.geomspace(2.0, float(lookback), 56), 1))


def learn_effects(
    events: SignalEvents, timeline: Timeline, config: SignalsConfig
) -> list[SignalTypeEvidence]:
    """Every signal type's effect, decay and evidence (types too rare to test are listed too)."""
    frame = events.frame.with_columns(code=pl.lit(0), day=pl.col("date").cast(pl.Int64)).filter(
        (pl.col("day") > timeline.start) & (pl.col("day") <= timeline.end)
    )
    frame = frame.with_columns(code=pl.Series(timeline.codes(frame["account_id"])))
    frame = frame.filter(pl.col("code") >= 0)
    tests: list[TypeTest] = []
    rare: list[SignalTypeEvidence] = []
    grid = half_life_grid(config.lookback_days)
    for signal_type in events.types:
        mine = frame.filter(pl.col("type") == signal_type)
        if mine.height < config.min_signals:
            rare.append(_too_rare(signal_type, mine.height))
            continue
        tests.append(_test_type(signal_type, mine, timeline, config, grid))
    q_values = false_discovery_control([t.p_value for t in tests]) if tests else []
    judged = [_evidence(t, float(q), config) for t, q in zip(tests, q_values, strict=True)]
    return sorted(judged, key=lambda e: (not e.significant, e.q_value)) + rare


def _test_type(
    signal_type: str,
    mine: pl.DataFrame,
    timeline: Timeline,
    config: SignalsConfig,
    grid: np.ndarray,
) -> TypeTest:
    account = mine["code"].to_numpy()
    day = mine["day"].to_numpy().astype(float)
    opening, age = opening_data(timeline, account, day, config.lookback_days)
    fit = fit_kernel(win_data(timeline, age), opening, grid)
    window = max(1, effect_window(fit.shape, fit.scale))
    span = follow_up(account, day, timeline.end, config.lookback_days)
    opened, won = _lifts(timeline, account, day, span, age, window)
    tests = [_lifts(timeline, account, day, span, age, w) for w in tested_windows(config)]
    test_open, test_win = tests[-1]
    p_value = min(1.0, 2 * len(tests) * min(r.p_value for pair in tests for r in pair))
    by_value = _by_value(mine, timeline, window, config)
    return TypeTest(
        signal_type,
        mine.height,
        fit,
        window,
        opened,
        won,
        (test_open, test_win),
        p_value,
        by_value,
    )


def tested_windows(config: SignalsConfig) -> list[int]:
    """The windows fixed in advance that a type is tested in: a third of the test window, and it.

    One long window dilutes an effect that fades within days (a two-week half-life tested over
    90 days mixes a few strong weeks with many empty ones); the short one keeps it visible. The
    p-values of both windows and both lifts are Bonferroni-combined.
    """
    return sorted({max(7, config.test_window_days // 3), config.test_window_days})


def _lifts(
    timeline: Timeline, account: np.ndarray, day: np.ndarray, span: np.ndarray,
    age: np.ndarray, window: int,
) -> tuple[Ratio, Ratio]:  # fmt: skip
    """(opening rate ratio, win risk ratio) of the ``window`` days after a signal vs no signal.

    Both compare within cells of fit tier x calendar quarter; deals with a signal of the type
    in the lookback but before the window are in neither group.
    """
    n_cells = timeline.n_cells
    cell = timeline.cell(timeline.deal_account, timeline.deal_day)
    inside = np.isfinite(age) & (age <= window)
    unexposed = ~np.isfinite(age)
    time_in = timeline.covered_days(account, day, np.minimum(span, window))
    time_out = timeline.account_days() - timeline.covered_days(account, day, span)
    opening = rate_ratio(
        np.bincount(cell[inside], minlength=n_cells),
        time_in,
        np.bincount(cell[unexposed], minlength=n_cells),
        np.maximum(time_out, 0.0),
    )
    closed = timeline.deal_closed & (inside | unexposed)
    winning = risk_ratio(cell[closed], inside[closed], timeline.deal_won[closed])
    return opening, winning


def _by_value(
    mine: pl.DataFrame, timeline: Timeline, window: int, config: SignalsConfig
) -> tuple[SignalValueEvidence, ...]:
    """Lifts per value class (a funding round, a role, a tool) where enough deals follow one."""
    classes = mine["value_class"].drop_nulls().value_counts(sort=True)
    if classes.height < 2:
        return ()
    rows = []
    for value_class, count in classes.iter_rows():
        sub = mine.filter(pl.col("value_class") == value_class)
        account = sub["code"].to_numpy()
        day = sub["day"].to_numpy().astype(float)
        age = ages(timeline.deal_account, timeline.deal_day, account, day)
        age = np.where(age < config.lookback_days, age, np.nan)
        span = follow_up(account, day, timeline.end, config.lookback_days)
        opened, won = _lifts(timeline, account, day, span, age, window)
        if won.n_exposed < config.min_class_deals:
            continue
        rows.append(
            SignalValueEvidence(
                value_class=str(value_class),
                n_signals=int(count),
                n_deals=won.n_exposed,
                lift_opening=opened.value,
                lift_winning=won.value,
                lift_winning_ci=won.ci if won.ci else None,
                p_value=min(1.0, 2 * min(opened.p_value, won.p_value)),
            )
        )
    return tuple(rows)


def _evidence(test: TypeTest, q_value: float, config: SignalsConfig) -> SignalTypeEvidence:
    significant = q_value < config.alpha
    level = (
        "strong" if significant and q_value < config.alpha / 10 and test.winning.n_exposed >= 50
        else "moderate" if significant
        else "weak" if test.p_value < config.alpha
        else "none"
    )  # fmt: skip
    exponential = test.fit.shape == "exponential"
    # Without an effect the fitted window means nothing: report the fixed test window instead.
    opening, winning = (test.opening, test.winning) if significant else test.tested
    window = test.window_days if significant else config.test_window_days
    return SignalTypeEvidence(
        type=test.type,
        window_days=window,
        decay=test.fit.shape if significant else "none",
        half_life_days=test.fit.scale if significant and exponential else None,
        half_life_ci=test.fit.scale_ci if significant and exponential else None,
        window_ci=test.fit.scale_ci if significant and not exponential else None,
        lift=SignalRatios(opening=opening.value, winning=winning.value),
        lift_ci=SignalRatioIntervals(opening=opening.ci, winning=winning.ci),
        p_value=test.p_value,
        q_value=q_value,
        significant=significant,
        evidence=level,
        n_signals=test.n_signals,
        n_deals=winning.n_exposed,
        n_openings=opening.events_exposed,
        n_wins=winning.events_exposed,
        peak_opening_ratio=test.fit.open_ratio if significant else 1.0,
        peak_win_odds_ratio=float(np.exp(test.fit.win_log_odds)) if significant else 1.0,
        by_value=list(test.by_value),
        decay_ci_ratio=_ratio(test.fit.scale_ci) if significant else None,
        decay_cannot_tell=not significant or cannot_tell(test.fit.scale_ci),
    )


def _ratio(interval: tuple[float, float]) -> float | None:
    return interval[1] / interval[0] if interval[0] > 0 else None


def _too_rare(signal_type: str, n: int) -> SignalTypeEvidence:
    return SignalTypeEvidence(
        type=signal_type,
        window_days=0,
        decay="none",
        p_value=1.0,
        q_value=1.0,
        significant=False,
        evidence="insufficient",
        n_signals=n,
        n_deals=0,
        decay_cannot_tell=True,
    )


def as_of_default(events: SignalEvents, deals: pl.DataFrame | None) -> date | None:
    """The latest date seen in the signals or the deals' openings."""
    dates = [events.frame["date"].max()]
    if deals is not None and "created_at" in deals.columns:
        dates.append(deals["created_at"].max())
    known = [d for d in dates if isinstance(d, date)]
    return max(known) if known else None
