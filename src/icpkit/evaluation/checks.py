"""What page 1's held-out verdict rests on beyond the AUC: tier order, the published bar, too good.

* **Tier order.** Tier 1 ≥ Tier 2 ≥ Tier 3 ≥ Non-fit in held-out success rate. A higher tier below
  a lower one whose 95% intervals do not overlap is a real inversion (the test fails); one whose
  intervals overlap means the tiers are not distinguishable (amber).
* **MadKudu's published bar.** The top tiers (Tier 1+2) are 15–35% of the leads and hold ≥ 60% of
  the conversions, and the top tier converts ≥ 10× the bottom one. Not meeting it is amber.
* **Too good.** A model fitted on CRM data whose held-out AUC is above :data:`TOO_GOOD_AUC` is
  evidence of leakage (a column filled during or after the sale), not of a great ICP: never green.
  The inputs that carry the ranking are named: single-column held-out AUC of each scorecard input's
  points, and each input's share of the scorecard's point range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from icpkit.errors import IcpError
from icpkit.profile import (
    BarCheck,
    ColumnCarrier,
    ScorecardSection,
    TierInversion,
    TierOrderCheck,
    TierRate,
    TooGoodCheck,
)
from icpkit.rules import parse_segment
from icpkit.stats import Z95, auc_with_ci, wilson_interval
from icpkit.vocab import ICP_TIERS, TIERS

TOO_GOOD_AUC = 0.95  # a fit model above this on held-out data is leakage until shown otherwise
BAR_MAX_TOP_SHARE = 0.35  # MadKudu: the top 15–35% of leads…
BAR_MIN_CONVERSION_SHARE = 0.60  # …hold at least 60% of the conversions
BAR_MIN_RATIO = 10.0  # and the top band converts at least 10× the bottom one
MAX_CARRIERS = 3
CARRIER_AUC = 0.9  # besides the strongest, an input is named when it ranks this well alone…
CARRIER_SHARE = 0.3  # …or holds this share of the scorecard's point range

__all__ = [
    "TOO_GOOD_AUC",
    "bar_check",
    "carriers",
    "rate_ratio",
    "tier_order",
    "too_good",
]


def tier_rates(closed: pl.DataFrame) -> list[TierRate]:
    """Each tier's held-out won rate (closed deals with ``tier`` and ``_won``), in tier order."""
    won = closed["_won"].cast(pl.Boolean).to_numpy()
    tier = closed["tier"].cast(pl.Utf8).to_numpy()
    out = []
    for name in TIERS:
        inside = tier == name
        n, k = int(inside.sum()), int((won & inside).sum())
        lo, hi = wilson_interval(k, n)
        out.append(TierRate(tier=name, k=k, n=n, rate=k / n if n else None, ci_low=lo, ci_high=hi))
    return out


def tier_order(rates: list[TierRate]) -> TierOrderCheck:
    """Every pair of tiers (higher, lower) where the higher one converts less often."""
    present = [r for r in rates if r.n > 0 and r.rate is not None]
    inversions = []
    for i, high in enumerate(present):
        for low in present[i + 1 :]:
            if high.rate < low.rate:  # type: ignore[operator]
                distinct = (
                    high.ci_high is not None
                    and low.ci_low is not None
                    and high.ci_high < low.ci_low
                )
                inversions.append(
                    TierInversion(higher=high.tier, lower=low.tier, distinct=distinct)
                )
    return TierOrderCheck(tiers=rates, inversions=inversions, in_order=not inversions)


def rate_ratio(
    k1: int, n1: int, k2: int, n2: int
) -> tuple[float | None, float | None, float | None]:
    """(k1/n1) ÷ (k2/n2) with Katz's 95% log interval; 0.5 is added to every count when one is 0."""
    if n1 <= 0 or n2 <= 0:
        return None, None, None
    if k1 == 0 or k2 == 0 or k1 == n1 or k2 == n2:
        k1, n1, k2, n2 = k1 + 0.5, n1 + 0.5, k2 + 0.5, n2 + 0.5  # type: ignore[assignment]
    ratio = (k1 / n1) / (k2 / n2)
    se = math.sqrt(max(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2, 0.0))
    return ratio, ratio * math.exp(-Z95 * se), ratio * math.exp(Z95 * se)


def bar_check(closed: pl.DataFrame, rates: list[TierRate]) -> BarCheck | None:
    """The held-out tiers against MadKudu's bar; None without a closed deal.

    Leads are the accounts with a held-out closed deal, converted when one of its deals was won;
    the closed deals themselves when accounts have many each (or there is no ``account_id``). The ratio compares deal win rates of
    Tier 1 and of the lowest tier with a held-out deal.
    """
    if closed.height == 0:
        return None
    frame = closed.select(
        pl.col("tier").cast(pl.Utf8),
        pl.col("_won").cast(pl.Boolean),
        *([pl.col("account_id")] if "account_id" in closed.columns else []),
    )
    unit = "deals"
    # a lead list (about one closed deal per account) counts accounts; accounts with many deals
    # each would all read as converted, so their deals are counted instead
    if "account_id" in frame.columns and frame["account_id"].n_unique() >= 0.67 * frame.height:
        unit = "accounts"
        frame = frame.group_by("account_id").agg(pl.col("tier").first(), pl.col("_won").any())
    top = frame["tier"].is_in(ICP_TIERS)
    won = frame["_won"]
    n_leads, n_converted = frame.height, int(won.sum())
    top_leads = float(top.mean())  # type: ignore[arg-type]
    top_conv = float((top & won).sum() / n_converted) if n_converted else None
    by_tier = {r.tier: r for r in rates if r.n > 0}
    bottom = next((t for t in reversed(TIERS) if t in by_tier and t != "Tier 1"), None)
    ratio = lo = hi = None
    if "Tier 1" in by_tier and bottom is not None:
        t1, b = by_tier["Tier 1"], by_tier[bottom]
        ratio, lo, hi = rate_ratio(t1.k, t1.n, b.k, b.n)
    return BarCheck(
        unit=unit,
        n_leads=n_leads,
        n_converted=n_converted,
        top_share_of_leads=top_leads,
        top_share_of_conversions=top_conv,
        bottom_tier=bottom,
        top_bottom_ratio=ratio,
        ratio_ci_low=lo,
        ratio_ci_high=hi,
        max_top_share=BAR_MAX_TOP_SHARE,
        min_conversion_share=BAR_MIN_CONVERSION_SHARE,
        min_ratio=BAR_MIN_RATIO,
        concentration_met=top_conv is not None
        and top_leads <= BAR_MAX_TOP_SHARE
        and top_conv >= BAR_MIN_CONVERSION_SHARE,
        ratio_met=ratio is not None and ratio >= BAR_MIN_RATIO,
    )


def too_good(auc: float | None, found: list[ColumnCarrier] | None = None) -> TooGoodCheck | None:
    """The too-good flag when a fit model's held-out AUC is above :data:`TOO_GOOD_AUC`."""
    if auc is None or auc <= TOO_GOOD_AUC:
        return None
    return TooGoodCheck(auc=auc, threshold=TOO_GOOD_AUC, carriers=list(found or []))


def carriers(
    scorecard: dict[str, Any] | ScorecardSection,
    accounts: pl.DataFrame | None = None,
    closed: pl.DataFrame | None = None,
    limit: int = MAX_CARRIERS,
) -> list[ColumnCarrier]:
    """The scorecard inputs that carry the ranking, most first.

    Each feature's share of the scorecard's point range (max − min points over the sum of them);
    with ``accounts`` and held-out ``closed`` deals (``account_id``, ``_won``), also the AUC of that
    feature's points alone on those deals. Sorted by single-column AUC, then by points share.
    """
    section = (
        scorecard
        if isinstance(scorecard, ScorecardSection)
        else ScorecardSection.model_validate(scorecard)
    )
    features = section.features
    spans = np.array([max(f.points) - min(f.points) if f.points else 0 for f in features], float)
    if spans.sum() <= 0:
        return []
    share = spans / spans.sum()
    aucs = _single_aucs(section, accounts, closed)
    found = [
        ColumnCarrier(
            name=f.name,
            columns=_columns(f),
            auc=aucs[j],
            points_share=float(share[j]),
        )
        for j, f in enumerate(features)
        if spans[j] > 0
    ]
    found.sort(key=lambda c: (-(c.auc if c.auc is not None else 0.0), -(c.points_share or 0.0)))
    # the strongest input, and any other that carries the ranking on its own or most points
    strong = [
        c
        for i, c in enumerate(found)
        if i == 0 or (c.auc or 0.0) >= CARRIER_AUC or (c.points_share or 0.0) >= CARRIER_SHARE
    ]
    return strong[:limit]


def _columns(feature: Any) -> list[str]:
    if feature.column is not None:
        return [feature.column]
    if feature.rule:
        try:
            return list(parse_segment(feature.rule).attrs)
        except IcpError:
            return []
    return []


def _single_aucs(
    section: ScorecardSection, accounts: pl.DataFrame | None, closed: pl.DataFrame | None
) -> list[float | None]:
    """Held-out AUC of each feature's points alone (None where it cannot be measured: no held-out
    rows given, a column missing, or a scorecard this version cannot read)."""
    from icpkit.scoring.card import Scorecard  # scoring is a lower layer; imported when needed

    out: list[float | None] = [None] * len(section.features)
    if accounts is None or closed is None or "account_id" not in closed.columns:
        return out
    try:
        card = Scorecard.from_dict(section)
    except IcpError:
        return out
    rows = closed.select("account_id", pl.col("_won").cast(pl.Boolean)).join(
        accounts, on="account_id", how="inner"
    )
    if not rows.height or not set(card.columns) <= set(rows.columns):
        return out
    points = card.points_matrix(card.codes(rows.select(card.columns).to_arrow()))
    won = rows["_won"].to_numpy().astype(bool)
    for j in range(len(card.features)):
        est = auc_with_ci(points[:, j].astype(float), won)
        out[j] = None if est is None else est.value
    return out
