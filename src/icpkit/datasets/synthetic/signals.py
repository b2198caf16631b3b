"""Synthetic buying signals with planted, known effects on deal openings and wins, and their decay.

Each :class:`PlantedSignal` says how often a signal type occurs (more often for in-ICP accounts,
so fit confounds a naive comparison, as in real data), how likely one is to open a new deal, and
how much it raises the win odds of deals opened after it, through a decay kernel: exponential
with a half-life, or a flat window after which the effect is gone. Types with no effect are
planted too, so a learner can be checked for false findings. :class:`SignalTruth` keeps, per
deal, the win log-odds with and without each type's effect and which signal opened it, so the
planted lift of any window can be computed exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from icpkit.datasets.synthetic.activity import (
    MEDIAN_DEAL,
    OPEN_STALL_DAYS,
    DealDraws,
    Membership,
    Period,
    by_status,
)
from icpkit.datasets.synthetic.spec import PlantedIcp

YEAR = 365.25


@dataclass(frozen=True)
class PlantedSignal:
    """One signal type's planted frequency and effect.

    Parameters
    ----------
    type
        The signal type (``funding``, ``hiring``, …).
    rate
        Signals per account per year for an account outside the ICP.
    icp_rate_multiplier
        Factor on ``rate`` for in-ICP accounts (fit confounds the crude association).
    win_odds_ratio
        Odds ratio on winning for a deal opened right after the signal (decaying with the kernel).
    open_probability
        Chance that the signal opens a new deal, at a delay drawn from the kernel.
    half_life_days, window_days
        The decay: exponential with this half-life, or flat for this many days (one of the two,
        or neither for a type with no effect).
    """

    type: str
    rate: float
    icp_rate_multiplier: float = 1.0
    win_odds_ratio: float = 1.0
    open_probability: float = 0.0
    half_life_days: float | None = None
    window_days: float | None = None

    def kernel(self, delta: np.ndarray) -> np.ndarray:
        """Effect weight (1 at day 0) of a signal ``delta`` days earlier; 0 for NaN or negative."""
        delta = np.asarray(delta, dtype=float)
        valid = np.isfinite(delta) & (delta >= 0)
        safe = np.where(valid, delta, 0.0)
        if self.half_life_days is not None:
            weight = np.exp(-safe * math.log(2) / self.half_life_days)
        elif self.window_days is not None:
            weight = (safe <= self.window_days).astype(float)
        else:
            weight = np.zeros(len(safe))
        return np.where(valid, weight, 0.0)

    def delays(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Days from a signal to the deal it opens, distributed like the kernel."""
        if self.half_life_days is not None:
            return rng.exponential(self.half_life_days / math.log(2), size)
        return rng.random(size) * float(self.window_days or 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# Funding raises win odds with a 30-day half-life; a leadership change for a flat 60 days; hiring,
# tech adoption and web visits have no effect at all (but follow fit, as the triggers do).
DEFAULT_SIGNALS: tuple[PlantedSignal, ...] = (
    PlantedSignal("funding", 0.25, 2.0, win_odds_ratio=3.0, open_probability=0.4,
                  half_life_days=30.0),
    PlantedSignal("leadership_change", 0.25, 2.0, win_odds_ratio=2.5, open_probability=0.3,
                  window_days=60.0),
    PlantedSignal("hiring", 0.6, 2.0),
    PlantedSignal("tech_adoption", 0.3, 1.5),
    PlantedSignal("web_visit", 1.0, 1.5),
)  # fmt: skip


def later_deal_signals(
    half_lives: tuple[float, ...] = (14.0, 31.0, 60.0),
    win_odds_ratio: float = 3.0,
    yearly_rate_days: float = 28.0,
) -> tuple[PlantedSignal, ...]:
    """Signals that open no deal themselves but raise the win odds of deals opened after them.

    The second mode of the generator (the default types both open deals and shift their odds):
    deals open at the account's ordinary rate, for reasons of their own, and a deal that happens
    to open ``u`` days after a signal has its win odds multiplied by ``win_odds_ratio ** 2^(-u/h)``.
    The only trace of the decay is then in which deals win, never in when deals open. One type
    ``later_<h>d`` per half-life ``h``, occurring ``yearly_rate_days / h`` times a year (twice as
    often in the ICP): a short effect needs more signals for the same number of deals inside it.
    A type ``later_null`` with the same frequency as the middle one has no effect at all.
    """
    planted = tuple(
        PlantedSignal(f"later_{h:g}d", yearly_rate_days / h, 2.0, win_odds_ratio=win_odds_ratio,
                      half_life_days=float(h))
        for h in half_lives
    )  # fmt: skip
    middle = sorted(half_lives)[len(half_lives) // 2]
    return (*planted, PlantedSignal("later_null", yearly_rate_days / middle, 2.0))


@dataclass(frozen=True)
class SignalDraws:
    """Generated signals as arrays, sorted by account then day; ``kind`` indexes the specs."""

    specs: tuple[PlantedSignal, ...]
    account: np.ndarray
    day: np.ndarray
    kind: np.ndarray


@dataclass(frozen=True)
class SignalTruth:
    """Per deal (rows aligned with the deals table): what the planted signals did to it.

    ``logit_base`` is the win log-odds without any signal; ``shift[type]`` the log-odds each
    effective type added; ``opened_by`` the type whose signal opened the deal ('' for none).
    """

    specs: tuple[PlantedSignal, ...]
    logit_base: np.ndarray
    shift: dict[str, np.ndarray]
    opened_by: np.ndarray

    def spec(self, signal_type: str) -> PlantedSignal:
        return next(s for s in self.specs if s.type == signal_type)

    def win_lift(self, signal_type: str, exposed: np.ndarray) -> float:
        """Planted win-rate ratio of the ``exposed`` deals with vs without the type's effect."""
        total = self.logit_base + sum(self.shift.values(), np.zeros(len(self.logit_base)))
        without = total - self.shift.get(signal_type, 0.0)
        with_effect = _sigmoid(total[exposed]).sum()
        return float(with_effect / max(_sigmoid(without[exposed]).sum(), 1e-12))

    def to_dict(self) -> dict[str, Any]:
        return {"signals": [s.to_dict() for s in self.specs]}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def draw_signals(
    member: Membership,
    specs: tuple[PlantedSignal, ...],
    period: Period,
    rng: np.random.Generator,
) -> SignalDraws:
    """Signals of every type for every account, uniform over the period."""
    n = len(member.in_icp)
    years = period.days / YEAR
    accounts, days, kinds = [], [], []
    for index, spec in enumerate(specs):
        rate = spec.rate * years * np.where(member.in_icp, spec.icp_rate_multiplier, 1.0)
        account = np.repeat(np.arange(n), rng.poisson(rate))
        accounts.append(account)
        days.append(np.floor(rng.random(len(account)) * period.days))
        kinds.append(np.full(len(account), index))
    account, day, kind = (np.concatenate(a) for a in (accounts, days, kinds))
    order = np.lexsort((kind, day, account))
    return SignalDraws(specs, account[order], day[order], kind[order])


def follow_signals(
    draws: DealDraws,
    signals: SignalDraws,
    employees: np.ndarray,
    member: Membership,
    icp: PlantedIcp,
    period: Period,
    rng: np.random.Generator,
) -> tuple[DealDraws, SignalTruth]:
    """Add the deals signals open and shift every deal's win odds by the signals before it."""
    extra, opened_by = _opened_deals(signals, employees, member, icp, period, rng)
    merged = _concat(draws, extra)
    origin = np.concatenate([np.full(len(draws.account), -1), opened_by])
    order = np.lexsort((merged.created, merged.account))
    merged = _take(merged, order)
    origin = origin[order]
    p_base = by_status(icp.base_win, icp.icp_win, icp.disqualified_win)[merged.status]
    p_base = np.clip(p_base, 1e-6, 1 - 1e-6)
    logit_base = np.log(p_base / (1 - p_base))
    shift: dict[str, np.ndarray] = {}
    for index, spec in enumerate(signals.specs):
        if spec.win_odds_ratio == 1.0:
            continue
        delta = days_since_last(merged.account, merged.created, *_of_kind(signals, index))
        shift[spec.type] = math.log(spec.win_odds_ratio) * spec.kernel(delta)
    total = sum(shift.values(), np.zeros(len(p_base)))
    won = _redraw_won(merged, p_base, _sigmoid(logit_base + total), rng)
    names = np.array(["", *(s.type for s in signals.specs)], dtype=object)
    truth = SignalTruth(signals.specs, logit_base, shift, names[origin + 1].astype(str))
    return replace(merged, won=won), truth


def _of_kind(signals: SignalDraws, index: int) -> tuple[np.ndarray, np.ndarray]:
    keep = signals.kind == index
    return signals.account[keep], signals.day[keep]


def days_since_last(
    account: np.ndarray, day: np.ndarray, signal_account: np.ndarray, signal_day: np.ndarray
) -> np.ndarray:
    """Days from each (account, day) back to the latest signal of that account before it (NaN)."""
    horizon = float(max(day.max(initial=0), signal_day.max(initial=0))) + 1.0
    keys = signal_account * horizon + signal_day
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    query = account * horizon + day
    pos = np.searchsorted(keys, query, side="left") - 1  # strictly before the day
    found = pos >= 0
    safe = np.where(found, pos, 0)
    same = found & (signal_account[order][safe] == account)
    return np.where(same, day - signal_day[order][safe], np.nan)


def _opened_deals(
    signals: SignalDraws,
    employees: np.ndarray,
    member: Membership,
    icp: PlantedIcp,
    period: Period,
    rng: np.random.Generator,
) -> tuple[DealDraws, np.ndarray]:
    """Deals opened by signals, sized and timed like ordinary deals of the same account."""
    chance = np.array([s.open_probability for s in signals.specs])[signals.kind]
    opens = np.flatnonzero(rng.random(len(signals.kind)) < chance)
    delay = np.zeros(len(opens))
    for index, spec in enumerate(signals.specs):
        mine = signals.kind[opens] == index
        delay[mine] = np.floor(spec.delays(rng, int(mine.sum())))
    created = signals.day[opens] + delay + 1  # a deal opens the day after at the earliest
    keep = created < period.days
    opens, created = opens[keep], created[keep]
    account = signals.account[opens]
    size = employees[account] / 40.0
    noise = rng.normal(0, 0.6, len(account))
    cycle = np.exp(np.log(40) + 0.25 * icp.size_effect * np.log(size) + noise)
    closed = created + np.clip(np.round(cycle), 14, 200)
    stalled = (created > period.days - OPEN_STALL_DAYS) & (rng.random(len(account)) < 0.45)
    is_open = (closed > period.days) | stalled
    status = member.status(account, period.shifted(created))
    multiplier = by_status(1.0, icp.icp_deal_multiplier, icp.disqualified_deal_multiplier)
    amount = MEDIAN_DEAL * size ** (0.3 * icp.size_effect) * multiplier[status]
    amount = np.maximum(np.round(amount * np.exp(rng.normal(0, 0.8, len(account))), -2), 500.0)
    p_win = by_status(icp.base_win, icp.icp_win, icp.disqualified_win)[status]
    deals = DealDraws(
        account=account,
        created=created,
        closed=np.where(is_open, np.nan, closed),
        won=~is_open & (rng.random(len(account)) < p_win),
        open=is_open,
        status=status,
        amount=amount,
    )
    return deals, signals.kind[opens]


def _concat(a: DealDraws, b: DealDraws) -> DealDraws:
    return DealDraws(
        **{
            name: np.concatenate([getattr(a, name), getattr(b, name)])
            for name in DealDraws.__dataclass_fields__
        }
    )


def _take(draws: DealDraws, order: np.ndarray) -> DealDraws:
    return DealDraws(
        **{name: getattr(draws, name)[order] for name in DealDraws.__dataclass_fields__}
    )


def _redraw_won(
    draws: DealDraws, p_base: np.ndarray, p_new: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Closed deals won with probability ``p_new``, keeping draws where the signal changed nothing.

    Existing outcomes are drawn at ``p_base``: a raised chance turns a loss into a win with
    probability (p_new - p_base) / (1 - p_base), which makes every deal's win chance p_new.
    """
    u = rng.random(len(p_base))
    up = ~draws.won & (u < (p_new - p_base) / (1 - p_base))
    down = draws.won & (u >= p_new / p_base)
    fresh = draws.won | up
    won = np.where(p_new >= p_base, fresh, draws.won & ~down)
    return np.asarray(won & ~draws.open)


_ROLES = ("Data Engineer", "Account Executive", "RevOps Analyst", "Sales Manager", "SDR")
_VALUES: dict[str, tuple[str, ...]] = {
    "funding": tuple(
        f"{stage} ${amount}M"
        for stage, amounts in (("Seed", (2, 4)), ("Series A", (8, 15)), ("Series B", (25, 40)),
                               ("Series C", (60, 120)))
        for amount in amounts
    ),
    "hiring": tuple(f"{role} (+{k} open roles)" for role in _ROLES for k in (2, 5, 10)),
    "leadership_change": ("new VP Sales", "new CRO", "new CTO", "new Head of RevOps", "new CFO"),
    "tech_adoption": ("Snowflake", "Salesforce", "HubSpot", "Databricks", "dbt", "Looker"),
    "web_visit": ("pricing page", "case studies", "integrations page", "docs", "demo request"),
}  # fmt: skip


def signal_values(signals: SignalDraws, rng: np.random.Generator) -> pl.Series:
    """A value drawn from each signal type's vocabulary (null for a type without one)."""
    values = np.full(len(signals.kind), None, dtype=object)
    for index, spec in enumerate(signals.specs):
        vocabulary = _VALUES.get(spec.type)
        rows = np.flatnonzero(signals.kind == index)
        if vocabulary is not None and len(rows):
            values[rows] = np.array(vocabulary, dtype=object)[
                rng.integers(0, len(vocabulary), len(rows))
            ]
    return pl.Series(values, dtype=pl.Utf8)
