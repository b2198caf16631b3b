"""Accounts, deals and signals on one day axis: the arrays every signal computation starts from.

Days are integers since 1970-01-01; accounts are integer codes; each account has a fit-tier
stratum (accounts without a tier form their own stratum). A deal's *age* for a signal type is the
number of days from the latest signal of that type strictly before the deal was opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from icpkit.signals.decay import BIN_DAYS, OpenData, WinData

UNSCORED = "unscored"
EPOCH = date(1970, 1, 1)


def day_number(value: date) -> int:
    return (value - EPOCH).days


@dataclass(frozen=True)
class Timeline:
    """Deals and strata of every account, observed from ``start`` to ``end`` (day numbers)."""

    account_ids: pl.Series  # code -> account_id
    stratum: np.ndarray  # per account code
    strata: tuple[str, ...]
    deal_account: np.ndarray
    deal_day: np.ndarray
    deal_closed: np.ndarray  # won or lost
    deal_won: np.ndarray
    start: int
    end: int
    period_days: int = 91

    @property
    def n_periods(self) -> int:
        return max(1, int(np.ceil((self.end - self.start) / self.period_days)))

    @property
    def n_cells(self) -> int:
        return len(self.strata) * self.n_periods

    def cell(self, account: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Comparison cell of an account on a day: its fit tier x the calendar quarter.

        Deal volume changes over time while signals pile up, so time after a signal is later on
        average than time before any: comparing within quarters keeps that from looking like an
        effect.
        """
        period = np.clip((np.asarray(day) - self.start) // self.period_days, 0, self.n_periods - 1)
        return np.asarray(self.stratum[account] * self.n_periods + period.astype(np.int64))

    def account_days(self) -> np.ndarray:
        """Observed account-days per cell."""
        edges = self.start + np.arange(self.n_periods + 1) * self.period_days
        length = np.diff(np.minimum(edges, self.end)).astype(float)
        per_tier = np.bincount(self.stratum, minlength=len(self.strata)).astype(float)
        return np.outer(per_tier, length).ravel()

    def covered_days(self, account: np.ndarray, day: np.ndarray, span: np.ndarray) -> np.ndarray:
        """Account-days per cell inside the intervals [day, day + span) of the given accounts."""
        out = np.zeros(self.n_cells)
        for period in range(self.n_periods):
            lo = self.start + period * self.period_days
            hi = min(lo + self.period_days, self.end)
            inside = np.clip(np.minimum(day + span, hi) - np.maximum(day, lo), 0, None)
            cells = self.stratum[account] * self.n_periods + period
            out += np.bincount(cells, inside, minlength=self.n_cells)
        return out

    def codes(self, account_id: pl.Series) -> np.ndarray:
        """Integer codes of account ids (-1 for ids not in the timeline)."""
        lookup = pl.DataFrame({"account_id": self.account_ids}).with_row_index("code")
        joined = pl.DataFrame({"account_id": account_id.cast(pl.Utf8)}).join(
            lookup, on="account_id", how="left", maintain_order="left"
        )
        return joined["code"].fill_null(-1).cast(pl.Int64).to_numpy()


def build_timeline(
    account_ids: pl.Series,
    tiers: pl.DataFrame | None,
    deals: pl.DataFrame,
    start: date,
    end: date,
) -> Timeline:
    """The timeline of ``deals`` opened in (start, end] for the given accounts and fit tiers."""
    ids = account_ids.cast(pl.Utf8).unique(maintain_order=True)
    frame = pl.DataFrame({"account_id": ids})
    if tiers is not None:
        frame = frame.join(
            tiers.select(pl.col("account_id").cast(pl.Utf8), pl.col("tier").cast(pl.Utf8)),
            on="account_id",
            how="left",
            maintain_order="left",
        )
    else:
        frame = frame.with_columns(tier=pl.lit(None, dtype=pl.Utf8))
    tier = frame["tier"].fill_null(UNSCORED)
    strata = tuple(sorted(set(tier.to_list())))
    stratum = tier.replace_strict(list(strata), list(range(len(strata))), return_dtype=pl.Int64)
    empty = np.empty(0)
    timeline = Timeline(ids, stratum.to_numpy(), strata, empty, empty, empty, empty, 0, 0)
    kept = deals.filter(
        pl.col("created_at").is_not_null()
        & (pl.col("created_at") > start)
        & (pl.col("created_at") <= end)
    )
    code = timeline.codes(kept["account_id"])
    known = code >= 0
    stage = kept["stage"].cast(pl.Utf8).to_numpy()[known]
    return Timeline(
        ids,
        stratum.to_numpy(),
        strata,
        code[known],
        kept["created_at"].cast(pl.Int64).to_numpy()[known],
        np.isin(stage, ["won", "lost"]),
        stage == "won",
        day_number(start),
        day_number(end),
    )


def ages(
    account: np.ndarray, day: np.ndarray, signal_account: np.ndarray, signal_day: np.ndarray
) -> np.ndarray:
    """Days from each (account, day) back to the account's latest signal strictly before it."""
    if not len(signal_account):
        return np.full(len(account), np.nan)
    span = float(max(day.max(initial=0), signal_day.max(initial=0))) + 2.0
    keys = signal_account * span + signal_day
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    pos = np.searchsorted(keys, account * span + day, side="left") - 1
    safe = np.maximum(pos, 0)
    same = (pos >= 0) & (signal_account[order][safe] == account)
    return np.where(same, day - signal_day[order][safe], np.nan)


def follow_up(
    signal_account: np.ndarray, signal_day: np.ndarray, end: int, lookback: int
) -> np.ndarray:
    """Days each signal is the latest of its kind for its account, capped by lookback and end."""
    order = np.lexsort((signal_day, signal_account))
    acc, day = signal_account[order], signal_day[order]
    nxt = np.append(day[1:], np.inf)
    same = np.append(acc[1:] == acc[:-1], False)
    limit = np.minimum(np.where(same, nxt, np.inf), end) - day
    out = np.empty(len(order))
    out[order] = np.clip(np.minimum(limit, lookback), 0, None)
    return out


def opening_data(
    timeline: Timeline, signal_account: np.ndarray, signal_day: np.ndarray, lookback: int
) -> tuple[OpenData, np.ndarray]:
    """Openings and exposure per cell and age bin, and each deal's age (NaN beyond lookback)."""
    n_cells, n_bins = timeline.n_cells, int(np.ceil(lookback / BIN_DAYS))
    span = follow_up(signal_account, signal_day, timeline.end, lookback)
    exposure = np.zeros((n_cells, n_bins))
    for j in range(n_bins):
        days = np.clip(span - j * BIN_DAYS, 0, BIN_DAYS)
        live = days > 0
        if not live.any():
            break
        cell = timeline.cell(signal_account[live], signal_day[live] + j * BIN_DAYS)
        exposure[:, j] = np.bincount(cell, days[live], minlength=n_cells)
    age = ages(timeline.deal_account, timeline.deal_day, signal_account, signal_day)
    age = np.where(age < lookback, age, np.nan)
    hit = np.isfinite(age)
    bins = (age[hit] // BIN_DAYS).astype(np.int64)
    signal_time = timeline.deal_day[hit] - age[hit] + bins * BIN_DAYS
    flat = timeline.cell(timeline.deal_account[hit], signal_time) * n_bins + bins
    # counts of (cell, bin): bincount is np.add.at's sum of ones without its per-item overhead
    events = np.bincount(flat, minlength=n_cells * n_bins).astype(float).reshape(n_cells, n_bins)
    unexposed_time = timeline.account_days() - timeline.covered_days(
        signal_account, signal_day, span
    )
    cells = timeline.cell(timeline.deal_account[~hit], timeline.deal_day[~hit])
    unexposed = np.bincount(cells, minlength=n_cells).astype(float)
    data = OpenData(events, exposure, unexposed, np.maximum(unexposed_time, 0.0))
    return data, age


def win_data(timeline: Timeline, age: np.ndarray) -> WinData:
    closed = timeline.deal_closed
    return WinData(
        timeline.cell(timeline.deal_account[closed], timeline.deal_day[closed]),
        timeline.deal_won[closed],
        age[closed],
    )
