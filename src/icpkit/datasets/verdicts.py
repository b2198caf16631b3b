"""Planted-truth worlds for the held-out verdict: healthy, tiers out of order, a leaked column.

Each world is a lead list (one closed deal per account, dated through 2024) split at a cut date,
seeded, with what page 1 should say about it:

* ``healthy`` — conversion depends moderately on industry and size; a scorecard learned before the
  cut ranks the held-out leads well (AUC well below 0.95) and its tiers meet MadKudu's bar.
* ``leaked`` — the same, plus ``segment_code``, a column the sales team fills after contact: it
  reads the outcome for 97% of leads. Learned on it, the held-out AUC is ~0.97+; page 1 must call
  that too good and name the column.
* ``out_of_order`` / ``blurred`` — a planted scorer whose tiers convert out of order: Tier 2 far
  below Tier 3 (intervals apart: the test fails) or, at the demo's rates (53/31/33/24%), within
  their intervals (amber: not distinguishable). ``scored`` holds the planted scores and tiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import polars as pl

from icpkit.data.model import CrmData

Case = Literal["healthy", "leaked", "out_of_order", "blurred"]
CUT = date(2024, 9, 1)
# planted held-out won rates per tier of the planted scorer (Tier 1, 2, 3, Non-fit)
TIER_RATES: dict[str, tuple[float, float, float, float]] = {
    "out_of_order": (0.55, 0.12, 0.42, 0.08),
    "blurred": (0.53, 0.31, 0.33, 0.24),
}
TIER_SHARES = (0.15, 0.20, 0.30, 0.35)
TIER_BANDS = ((80, 100), (60, 79), (40, 59), (0, 39))


@dataclass(frozen=True)
class VerdictWorld:
    """A seeded world: all data, the cut to split it at, and what the verdict should be."""

    crm: CrmData
    cut: date
    truth: dict[str, Any]
    scored: pl.DataFrame | None = None  # planted scores and tiers (out_of_order, blurred)
    extra: dict[str, Any] = field(default_factory=dict)


def verdict_world(case: Case, n: int = 2400, seed: int = 0) -> VerdictWorld:
    """The world of one case (see the module docstring)."""
    rng = np.random.default_rng(seed)
    ids = [f"A{i:05d}" for i in range(n)]
    industry = rng.choice(["Software", "Finance", "Retail", "Health"], n, p=[0.25, 0.2, 0.3, 0.25])
    employees = np.round(np.exp(rng.normal(4.5, 1.2, n))).astype(int) + 1
    region = rng.choice(["EMEA", "NA", "APAC"], n)
    created = [date(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 366, n)]
    accounts: dict[str, Any] = {
        "account_id": ids,
        "industry": industry,
        "employees": employees,
        "region": region,
    }
    scored = None
    if case in TIER_RATES:
        tier_idx = rng.choice(4, n, p=TIER_SHARES)
        p = np.asarray(TIER_RATES[case])[tier_idx]
        won = rng.random(n) < p
        low = np.array([b[0] for b in TIER_BANDS])[tier_idx]
        high = np.array([b[1] for b in TIER_BANDS])[tier_idx]
        score = rng.integers(low, high + 1)
        tiers = np.array(["Tier 1", "Tier 2", "Tier 3", "Non-fit"])[tier_idx]
        scored = pl.DataFrame(
            {
                "account_id": ids,
                "fit_score": score.astype(np.int64),
                "fit_probability": score / 100 * 0.6,
                "tier": tiers,
            }
        )
        truth: dict[str, Any] = {"status": "fail" if case == "out_of_order" else "warn"}
    else:
        big = employees >= 100
        # graded, so every tier truly converts above the next one
        p = np.select(
            [
                (industry == "Software") & big,
                (industry == "Finance") & big,
                industry == "Software",
                industry == "Finance",
                big,
            ],
            [0.70, 0.30, 0.22, 0.08, 0.04],
            0.012,
        )
        won = rng.random(n) < p
        truth = {"status": "pass" if case == "healthy" else "warn", "planted_p": p}
        if case == "leaked":
            reads = rng.random(n) < 0.97  # the tag tells the outcome for 97% of leads
            said = np.where(won == reads, "closed - onboarding", "no answer - call back")
            accounts["segment_code"] = said
            truth["leak"] = "segment_code"
    deals = pl.DataFrame(
        {
            "deal_id": [f"D{i:05d}" for i in range(n)],
            "account_id": ids,
            "stage": np.where(won, "won", "lost"),
            "created_at": created,
            "closed_at": [d + timedelta(days=30) for d in created],
        }
    )
    crm = CrmData(accounts=pl.DataFrame(accounts), deals=deals)
    return VerdictWorld(crm, CUT, truth, scored)
