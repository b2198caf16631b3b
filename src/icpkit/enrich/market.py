"""The size of the market in a company universe: expected wins and revenue potential, with intervals.

Every universe company has a tier (scored with a version's ICP). The CRM says how often each tier
wins: the won and lost deals of its accounts in that tier, with the accounts resampled by the
Bayesian bootstrap (Dirichlet weights: deals of one account are not independent), each draw the
Beta(1 + won, 1 + lost) posterior mean of the reweighted counts; its won deals' amounts give the average contract value (ACV), whose
uncertainty is drawn by bootstrap (a tier with fewer than three won deals borrows the pooled ACV).
Each Monte Carlo draw takes one win rate and one ACV per tier; a segment's (a tier, a country, an
industry) expected wins are Σ over tiers of its companies in the tier × the tier's win rate, its
revenue potential those wins × the tier's ACV. A segment's own companies differ around their tier's rate (the
between-account variance of win rates, beyond binomial noise, estimated from the CRM), so their sum
gets that spread too. The 80% interval is the 10th–90th percentile of the draws. Penetration is the share of the segment's companies already customers (matched to an
account with a won deal).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from icpkit.profile import MarketEstimate, MarketRow, MarketSize
from icpkit.vocab import TIERS

_LOW, _HIGH = 10, 90
_MIN_ACV_DEALS = 3
_TOP_VALUES = 15  # countries / industries listed (the rest as 'other')


def _estimate(draws: np.ndarray) -> MarketEstimate:
    return MarketEstimate(
        mean=float(draws.mean()),
        low=float(np.percentile(draws, _LOW)),
        high=float(np.percentile(draws, _HIGH)),
    )


def tier_draws(
    crm_tiers: pl.DataFrame, deals: pl.DataFrame, tiers: list[str], draws: int, seed: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Per draw and tier: a win rate (accounts bootstrapped, then a Beta posterior) and an ACV
    (bootstrap), shape (draws, tiers); and per tier the variance of win rates between companies.

    ``crm_tiers`` has ``account_id`` and ``tier``; ``deals`` ``account_id``, ``stage`` and
    optionally ``amount``. The ACV array is None when no won deal has an amount.
    """
    rng = np.random.default_rng(seed)
    closed = (
        deals.filter(pl.col("stage").is_in(["won", "lost"]))
        .with_columns(pl.col("account_id").cast(pl.Utf8))
        .join(crm_tiers.with_columns(pl.col("account_id").cast(pl.Utf8)), on="account_id")
    )
    rates = np.empty((draws, len(tiers)))
    spread = np.zeros(len(tiers))
    for k, tier in enumerate(tiers):
        per_account = (
            closed.filter(pl.col("tier") == tier)
            .group_by("account_id")
            .agg((pl.col("stage") == "won").sum().alias("won"), pl.len().alias("deals"))
        )
        won = per_account["won"].to_numpy().astype(float)
        n = per_account["deals"].to_numpy().astype(float)
        if won.size == 0:
            rates[:, k] = rng.beta(1, 1, size=draws)
            continue
        # accounts resampled with Dirichlet weights (the Bayesian bootstrap: a deal's outcome is
        # not independent of its account's other deals), the rate the posterior mean of a
        # Beta(1 + won, 1 + lost) on the reweighted counts
        weights = rng.dirichlet(np.ones(won.size), size=draws) * won.size
        w_won, w_all = weights @ won, weights @ n
        rates[:, k] = (1 + w_won) / (2 + w_all)
        # how much companies of one tier differ in win rate (beyond binomial noise)
        theta = won.sum() / n.sum()
        spread[k] = max(0.0, float(np.var(won / n) - np.mean(theta * (1 - theta) / n)))
    rates_spread = spread
    if "amount" not in closed.columns:
        return rates, None, rates_spread
    won_amounts = closed.filter((pl.col("stage") == "won") & pl.col("amount").is_not_null())
    pooled = won_amounts["amount"].cast(pl.Float64).to_numpy()
    if pooled.size == 0:
        return rates, None, rates_spread
    acv = np.empty((draws, len(tiers)))
    for k, tier in enumerate(tiers):
        own = won_amounts.filter(pl.col("tier") == tier)["amount"].cast(pl.Float64).to_numpy()
        values = own if own.size >= _MIN_ACV_DEALS else pooled
        picks = rng.integers(0, values.size, size=(draws, values.size))
        acv[:, k] = values[picks].mean(axis=1)
    return rates, acv, rates_spread


def market_size(
    universe: pl.DataFrame,
    crm_tiers: pl.DataFrame,
    deals: pl.DataFrame,
    *,
    universe_name: str,
    version: int,
    currency: str,
    draws: int = 2000,
    seed: int = 0,
) -> MarketSize:
    """The market in ``universe`` (columns ``tier``, optional ``country``, ``industry`` and a
    boolean ``is_customer``), with the CRM's tiers (``crm_tiers``) and ``deals`` giving the rates."""
    tiers = [
        t
        for t in TIERS
        if t
        in set(universe["tier"].drop_nulls().to_list())
        | set(crm_tiers["tier"].drop_nulls().to_list())
    ]
    rates, acv, spread = tier_draws(crm_tiers, deals, tiers, draws, seed)
    noise = np.random.default_rng([seed, 1]).standard_normal((draws, len(tiers)))
    frame = universe.with_columns(
        pl.col("tier").cast(pl.Utf8),
        (pl.col("is_customer") if "is_customer" in universe.columns else pl.lit(False)).alias(
            "_cust"
        ),
    )
    rows: list[MarketRow] = []
    warnings: list[str] = []
    if acv is None:
        warnings.append("no won deal has an amount: revenue potential is not estimated")
    groups: list[tuple[str, str, pl.DataFrame]] = [("all", "all companies", frame)]
    groups += [("tier", t, frame.filter(pl.col("tier") == t)) for t in tiers]
    for by in ("country", "industry"):
        if by not in frame.columns:
            continue
        counts = frame[by].fill_null("(blank)").value_counts(sort=True)
        top = counts[by].head(_TOP_VALUES).to_list()
        for value in top:
            groups.append((by, str(value), frame.filter(pl.col(by).fill_null("(blank)") == value)))
    for by, value, part in groups:
        n_tier = np.array([int((part["tier"] == t).sum()) for t in tiers], dtype=float)
        # the segment's own companies differ around their tier's rate: their sum varies too
        wins = rates @ n_tier + (noise * np.sqrt(spread * n_tier)).sum(axis=1)
        companies = part.height
        share = n_tier / n_tier.sum() if n_tier.sum() else n_tier
        revenue = None
        mean_acv = None
        if acv is not None:
            revenue = _estimate((rates * acv) @ n_tier)
            mean_acv = _estimate((acv * rates) @ share / np.maximum(rates @ share, 1e-12))
        customers = int(part["_cust"].sum())
        rows.append(
            MarketRow(
                by=by,
                value=value,
                companies=companies,
                customers=customers,
                penetration=customers / companies if companies else 0.0,
                win_rate=_estimate(rates @ share if companies else np.zeros(draws)),
                expected_wins=_estimate(wins),
                acv=mean_acv,
                revenue_potential=revenue,
            )
        )
    method = (
        f"{draws:,} Monte Carlo draws: each tier's win rate from a Beta(1 + won, 1 + lost) "
        "posterior mean of the CRM's closed deals, accounts Bayesian-bootstrapped, plus the spread of win "
        "rates between companies; its ACV a bootstrap mean of its won deals' amounts; "
        "intervals are the 10th–90th percentiles (80%)."
    )
    return MarketSize(
        universe=universe_name, version=version, companies=frame.height, currency=currency,
        draws=draws, method=method, rows=rows, warnings=warnings,
    )  # fmt: skip
