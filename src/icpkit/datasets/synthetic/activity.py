"""Synthetic deals and subscriptions driven by each account's planted fit.

Every deal carries a *fit status* decided when it was created: ordinary, in the ICP (according
to the segments in force on that date, so a planted shift takes effect) or disqualified. The
status sets the win probability and the deal-size multiplier; for won accounts it also sets the
churn hazard and the yearly expansion of the subscription. Everything is vectorised over deals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from icpkit.datasets.synthetic.firmographics import draw_categorical
from icpkit.datasets.synthetic.spec import PlantedIcp

ORDINARY, IN_ICP, DISQUALIFIED = 0, 1, 2
PRODUCTS = ("Starter", "Professional", "Enterprise", "Add-on")
# Product logits: intercept and slope on log10(employees); big companies buy Enterprise.
_PRODUCT_LOGITS = np.array([[1.2, -0.8], [0.8, 0.0], [-2.0, 1.0], [-0.5, 0.1]])
SOURCES = ("inbound", "outbound", "partner", "referral", "event")
_SOURCE_SHARES = np.array([0.35, 0.3, 0.15, 0.1, 0.1])
MEDIAN_DEAL = 12_000.0
OPEN_STALL_DAYS = 120  # deals created this close to the end are often still being worked


@dataclass(frozen=True)
class Membership:
    """Per-account fit, from the planted rules evaluated on the true attribute values."""

    in_icp: np.ndarray
    disqualified: np.ndarray
    in_icp_after_shift: np.ndarray  # equal to in_icp when no shift is planted

    def status(self, account: np.ndarray, shifted: np.ndarray) -> np.ndarray:
        """Fit status of the given accounts, using the shifted segments where ``shifted``."""
        fits = np.where(shifted, self.in_icp_after_shift[account], self.in_icp[account])
        return np.where(self.disqualified[account], DISQUALIFIED, np.where(fits, IN_ICP, ORDINARY))


@dataclass(frozen=True)
class Period:
    """The CRM period in days since ``start``; ``shift_day`` is None without a planted shift."""

    start: date
    days: int
    shift_day: int | None

    def to_date(self, day: np.ndarray) -> pl.Series:
        """Day offsets (NaN = null) → a polars Date series."""
        epoch = (self.start - date(1970, 1, 1)).days
        offsets = pl.Series(np.asarray(day, dtype=float), nan_to_null=True)
        return (offsets + epoch).cast(pl.Int32).cast(pl.Date)

    def shifted(self, day: np.ndarray) -> np.ndarray:
        if self.shift_day is None:
            return np.zeros(len(day), dtype=bool)
        return np.asarray(day >= self.shift_day)


@dataclass(frozen=True)
class DealDraws:
    """The generated deals as arrays (sorted by account, then creation day)."""

    account: np.ndarray
    created: np.ndarray
    closed: np.ndarray  # NaN for open deals
    won: np.ndarray
    open: np.ndarray
    status: np.ndarray
    amount: np.ndarray


def by_status(ordinary: float, in_icp: float, disqualified: float) -> np.ndarray:
    """A lookup array indexed by fit status (ORDINARY, IN_ICP, DISQUALIFIED)."""
    return np.array([ordinary, in_icp, disqualified], dtype=float)


def draw_deals(
    employees: np.ndarray,
    member: Membership,
    icp: PlantedIcp,
    period: Period,
    rng: np.random.Generator,
) -> DealDraws:
    """Opportunities for every account: 0-N each (more for big accounts), over the period."""
    size = employees / 40.0
    rate = 1.4 * size ** (0.12 * icp.size_effect)
    account = np.repeat(np.arange(len(employees)), np.minimum(rng.poisson(rate), 25))
    # Deal volume grows over time (density rising towards the end), as in a growing company.
    created = np.floor(period.days * rng.random(len(account)) ** (1 / 1.4))
    order = np.lexsort((created, account))
    account, created = account[order], created[order]
    deal_size = size[account]
    cycle = np.exp(
        np.log(40) + 0.25 * icp.size_effect * np.log(deal_size) + rng.normal(0, 0.6, len(account))
    )
    closed = created + np.clip(np.round(cycle), 14, 200)
    stalled = (created > period.days - OPEN_STALL_DAYS) & (rng.random(len(account)) < 0.45)
    is_open = (closed > period.days) | stalled
    status = member.status(account, period.shifted(created))
    p_win = by_status(icp.base_win, icp.icp_win, icp.disqualified_win)[status]
    won = ~is_open & (rng.random(len(account)) < p_win)
    multiplier = by_status(1.0, icp.icp_deal_multiplier, icp.disqualified_deal_multiplier)
    amount = MEDIAN_DEAL * deal_size ** (0.3 * icp.size_effect) * multiplier[status]
    amount = np.maximum(np.round(amount * np.exp(rng.normal(0, 0.8, len(account))), -2), 500.0)
    return DealDraws(
        account=account,
        created=created,
        closed=np.where(is_open, np.nan, closed),
        won=won,
        open=is_open,
        status=status,
        amount=amount,
    )


def deals_frame(
    draws: DealDraws,
    account_ids: pl.Series,
    employees: np.ndarray,
    period: Period,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """The deals table in the canonical schema."""
    n = len(draws.account)
    stage = np.where(draws.open, 2, np.where(draws.won, 0, 1))
    log_size = np.log10(employees[draws.account])
    product = draw_categorical(
        rng, _PRODUCT_LOGITS[:, 0] + np.outer(log_size, _PRODUCT_LOGITS[:, 1])
    )
    source = rng.choice(len(SOURCES), size=n, p=_SOURCE_SHARES)
    width = max(7, len(str(n)))
    return pl.DataFrame(
        {
            "deal_id": pl.select(
                pl.lit("D") + pl.int_range(1, n + 1).cast(pl.Utf8).str.zfill(width)
            ).to_series(),
            "account_id": account_ids.gather(draws.account),
            "created_at": period.to_date(draws.created),
            "closed_at": period.to_date(draws.closed),
            "stage": pl.Series(["won", "lost", "open"]).gather(stage),
            "amount": draws.amount,
            "currency": pl.repeat("USD", n, eager=True),
            "product": pl.Series(PRODUCTS).gather(product),
            "source": pl.Series(SOURCES).gather(source),
        }
    )


@dataclass(frozen=True)
class FirstWins:
    """Per won account: its index, the day of its first win, that deal's amount and fit status."""

    account: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    status: np.ndarray


def first_wins(draws: DealDraws) -> FirstWins:
    """The first won deal of every account that won at least one."""
    won = np.flatnonzero(draws.won)
    won = won[np.lexsort((draws.closed[won], draws.account[won]))]
    accounts, first = np.unique(draws.account[won], return_index=True)
    pick = won[first]
    return FirstWins(accounts, draws.closed[pick], draws.amount[pick], draws.status[pick])


def subscriptions_frame(
    wins: FirstWins,
    account_ids: pl.Series,
    icp: PlantedIcp,
    period: Period,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """One row per contract year of each won account, from its first win until churn or today.

    Consecutive rows of an account are contiguous; MRR grows at each renewal (faster in the ICP).
    The last row's ``end`` is the churn date, or null while the customer is still active.
    """
    churn = by_status(icp.base_churn, icp.icp_churn, icp.disqualified_churn)[wins.status]
    hazard = -np.log1p(-np.minimum(churn, 1 - 1e-9))  # per year
    with np.errstate(divide="ignore"):
        lifetime = rng.exponential(1.0, len(wins.day)) * 365.0 / hazard
    churn_day = np.round(wins.day + lifetime)
    churned = churn_day <= period.days
    stop = np.where(churned, churn_day, period.days)
    terms = np.maximum(1, np.ceil((stop - wins.day) / 365.0)).astype(np.int64)
    row_account = np.repeat(np.arange(len(wins.day)), terms)
    term = np.arange(len(row_account)) - np.repeat(np.cumsum(terms) - terms, terms)
    start = wins.day[row_account] + 365.0 * term
    last = term == terms[row_account] - 1
    end = np.where(
        last, np.where(churned[row_account], churn_day[row_account], np.nan), start + 365.0
    )
    growth = by_status(icp.base_expansion, icp.icp_expansion, icp.base_expansion)
    mrr = np.round(
        wins.amount[row_account] / 12.0 * (1 + growth[wins.status[row_account]]) ** term, 2
    )
    return pl.DataFrame(
        {
            "account_id": account_ids.gather(wins.account[row_account]),
            "start": period.to_date(start),
            "end": period.to_date(end),
            "mrr": mrr,
            "arr": np.round(mrr * 12.0, 2),
        }
    )
