"""A seeded lead list with planted leakage, harmless look-alikes and a modest real fit signal.

The ground truth of the leakage guard's tests (``tests/test_guard_design.py``). Each lead has one
closed deal (won or lost, closed 20–120 days after it was created). The outcome follows a modest
fit signal only: the industry and the company size. Alongside, columns of every class the guard
must catch — and columns that look like them but are harmless:

planted leaks (the guard's check that must fire, see :attr:`TrustLeads.leaks`)
    ``tags`` free-text status tags in several languages ("Lost to competitor", "Pas intéressé",
    "Llamar más tarde", "Gewonnen" …), written after contact; ``lead_quality`` a staff rating;
    ``activity_score`` a staff-assigned score; ``last_activity`` the last contact step;
    ``last_activity_date`` after the outcome; ``account_manager`` the rep's code; ``quote_amount``
    filled almost only for won leads; ``record_no`` a record number with gaps that rises with the
    creation date (rows are shuffled, so the file order says nothing).
harmless (must stay low or medium risk)
    ``do_not_call`` a yes/no flag with two "yes"; ``newsletter`` 97 % "no"; ``hq_country`` one
    dominant level; ``campaign_code`` an id-like categorical with hundreds of levels; ``region``;
    ``has_partner`` a 0/1 flag with a handful of ones.
fit (must stay and carry the signal)
    ``industry``, ``employees``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

INDUSTRIES = ["Software", "Fintech", "Retail", "Logistics", "Health", "Education", "Media"]
# Modest fit: Software and Fintech convert more, as do companies of 50–500 people.
INDUSTRY_LIFT = {"Software": 0.9, "Fintech": 0.6}
WON_TAGS = [
    "Closed won",
    "Will revert after reading the email",
    "Interested",
    "Gewonnen",
    "Interessato",
    "Reunión agendada",
    "Meeting booked",
]
LOST_TAGS = [
    "Lost to competitor",
    "No answer",
    "Pas intéressé",
    "Llamar más tarde",
    "Ringing",
    "Kein Interesse",
    "Não atende",
    "Niet bereikbaar",
    "Call back later",
]
QUALITY = ["High in Relevance", "Might be", "Not Sure", "Low in Relevance", "Worst"]
ACTIVITY_WON = ["Had a Phone Conversation", "SMS Sent", "Email Link Clicked"]
ACTIVITY_LOST = ["Email Opened", "Email Bounced", "Unreachable", "Unsubscribed"]


@dataclass(frozen=True)
class TrustLeads:
    """The generated tables and their planted truth."""

    accounts: pl.DataFrame
    deals: pl.DataFrame
    leaks: dict[str, str] = field(default_factory=dict)  # column → check that must fire
    harmless: tuple[str, ...] = ()
    fit: tuple[str, ...] = ()

    def frames(self) -> dict[str, pl.DataFrame]:
        return {"accounts": self.accounts, "deals": self.deals}


def _noisy(rng: np.random.Generator, won: np.ndarray, hit: float) -> np.ndarray:
    """True where a leak 'tells the truth' for this lead (share ``hit``), else a coin flip."""
    return np.where(rng.random(len(won)) < hit, won, rng.random(len(won)) < won.mean())


def make_trust_leads(n: int = 3000, seed: int = 0) -> TrustLeads:
    """Draw ``n`` leads (see the module docstring); the same seed gives the same tables."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(INDUSTRIES, n, p=[0.2, 0.1, 0.2, 0.15, 0.15, 0.1, 0.1])
    employees = np.round(np.exp(rng.normal(4.5, 1.4, n))).astype(np.int64) + 1
    logit = -1.6 + np.vectorize(lambda i: INDUSTRY_LIFT.get(i, 0.0))(industry)
    logit = logit + np.where((employees >= 50) & (employees <= 500), 0.7, 0.0)
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    created = np.array([date(2023, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 600, n)])
    closed = np.array(
        [c + timedelta(days=int(d)) for c, d in zip(created, rng.integers(20, 120, n), strict=True)]
    )
    order = np.argsort([c.toordinal() * 10_000 + i for i, c in enumerate(created)])
    record_no = np.empty(n, dtype=np.int64)
    record_no[order] = 50_000 + np.cumsum(rng.integers(1, 7, n))  # gaps: never consecutive

    truthful = _noisy(rng, won, 0.8)
    tags = np.where(truthful, rng.choice(WON_TAGS, n), rng.choice(LOST_TAGS, n)).astype(object)
    tags[rng.random(n) < 0.3] = None
    rank = np.clip(
        np.where(_noisy(rng, won, 0.6), rng.integers(0, 2, n), rng.integers(2, 5, n)), 0, 4
    )
    quality = np.array(QUALITY, dtype=object)[rank]
    quality[rng.random(n) < 0.4] = None
    score = np.clip(np.round(rng.normal(np.where(_noisy(rng, won, 0.7), 70, 40), 12)), 0, 100)
    activity = np.where(
        _noisy(rng, won, 0.6), rng.choice(ACTIVITY_WON, n), rng.choice(ACTIVITY_LOST, n)
    )
    late = np.array(
        [c + timedelta(days=int(d)) for c, d in zip(closed, rng.integers(1, 60, n), strict=True)]
    )
    manager = rng.choice([f"AM-{i:02d}" for i in range(1, 13)], n)
    quote = np.where(
        np.where(won, rng.random(n) < 0.9, rng.random(n) < 0.1),
        np.round(rng.lognormal(9, 0.8, n)),
        np.nan,
    )
    do_not_call = np.array(["No"] * n, dtype=object)
    do_not_call[rng.choice(n, 2, replace=False)] = "Yes"
    partner = np.zeros(n, dtype=np.int64)
    partner[rng.choice(n, 6, replace=False)] = 1
    accounts = pl.DataFrame(
        {
            "account_id": [f"L{seed}-{i:05d}" for i in rng.permutation(n)],
            "industry": industry,
            "employees": employees,
            "region": rng.choice(["North", "South", "East", "West"], n),
            "hq_country": rng.choice(["DE", "AT", "CH"], n, p=[0.96, 0.03, 0.01]),
            "do_not_call": do_not_call.tolist(),
            "newsletter": rng.choice(["no", "yes"], n, p=[0.97, 0.03]),
            "has_partner": partner,
            "campaign_code": [f"CMP-{c:04d}" for c in rng.integers(0, 400, n)],
            "tags": pl.Series(tags.tolist(), dtype=pl.Utf8),
            "lead_quality": pl.Series(quality.tolist(), dtype=pl.Utf8),
            "activity_score": score,
            "last_activity": activity,
            "last_activity_date": late.tolist(),
            "account_manager": manager,
            "quote_amount": quote,
            "record_no": record_no,
            "created_on": created.tolist(),
        },
        strict=False,
    ).with_columns(pl.col("quote_amount").fill_nan(None))
    deals = pl.DataFrame(
        {
            "deal_id": [f"D{seed}-{i:05d}" for i in range(n)],
            "account_id": accounts["account_id"],
            "stage": np.where(won, "won", "lost"),
            "created_at": created.tolist(),
            "closed_at": closed.tolist(),
            "amount": np.where(won, 12_000.0, 0.0),
        }
    )
    shuffle = rng.permutation(n)
    return TrustLeads(
        accounts=accounts[shuffle],
        deals=deals[shuffle],
        leaks={
            "tags": "sales process",
            "lead_quality": "sales process",
            "activity_score": "sales process",
            "last_activity": "sales process",
            "last_activity_date": "recorded after the outcome",
            "account_manager": "sales process: assigned person",
            "quote_amount": "filled mostly for one outcome",
            "record_no": "sequence number",
        },
        harmless=(
            "region",
            "hq_country",
            "do_not_call",
            "newsletter",
            "has_partner",
            "campaign_code",
        ),
        fit=("industry", "employees"),
    )
