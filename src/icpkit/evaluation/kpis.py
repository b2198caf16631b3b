"""The measures of a backtest, by group: KPIs with intervals, and the gains and calibration tables.

Groups are the four tiers, ICP (Tier 1 + 2) vs non-ICP, and all accounts. Deal KPIs count the
deals created after the cut; LTV and churn count the accounts with a post-cut subscription; CAC
shares acquisition spend out by tier or by deal source. :func:`icpkit.evaluation.validation.evaluate`
assembles them into a :class:`~icpkit.profile.ValidationSection`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from icpkit.errors import SchemaError
from icpkit.stats import Estimate, mean_interval, median_interval, rate
from icpkit.vocab import ICP_TIERS, TIERS

GROUPS = (*TIERS, "ICP", "Non-ICP", "All")
KPIS = (
    "conversion",
    "win_rate",
    "median_sales_cycle_days",
    "avg_deal_size",
    "ltv",
    "churn_rate",
    "cac",
)


def group_frames(frame: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """(group, rows) for each tier, ICP, Non-ICP and All, from the ``tier`` and ``icp`` columns."""
    parts = [(t, frame.filter(pl.col("tier") == t)) for t in TIERS]
    parts += [("ICP", frame.filter(pl.col("icp"))), ("Non-ICP", frame.filter(~pl.col("icp")))]
    return [*parts, ("All", frame)]


def group_kpis(
    deals: pl.DataFrame,
    scored: pl.DataFrame,
    outcomes: pl.DataFrame | None,
    costs: pl.DataFrame | None,
    rng: np.random.Generator,
) -> list[Estimate]:
    """Every KPI of every group, ordered as :data:`GROUPS` × :data:`KPIS`.

    Parameters
    ----------
    deals : pl.DataFrame
        Post-cut deals with ``tier``, ``icp``, ``_won`` (null when open), ``_cycle``,
        ``_amount`` and ``_source``.
    scored : pl.DataFrame
        Scored accounts (``account_id``, ``tier``, ``icp``).
    outcomes : pl.DataFrame, optional
        Post-cut account outcomes; with ``ltv`` and ``churned`` they give LTV and churn rate.
    costs : pl.DataFrame, optional
        Acquisition spend; gives CAC.
    rng : np.random.Generator
        Drives the bootstrap of the median sales cycle.
    """
    kpis: list[Estimate] = []
    for group, part in group_frames(deals):
        kpis += _deal_kpis(group, part, rng)
    if outcomes is not None and "churned" in outcomes.columns:
        accounts = scored.join(outcomes.select("account_id", "ltv", "churned"), on="account_id")
        accounts = accounts.filter(pl.col("churned").is_not_null())
        for group, part in group_frames(accounts):
            kpis.append(mean_interval(group, "ltv", part["ltv"].drop_nulls().to_numpy()))
            churned = part["churned"].cast(pl.Int64)
            kpis.append(rate(group, "churn_rate", int(churned.sum()), part.height))
    if costs is not None:
        kpis += _cac(deals, costs)
    order = {g: i for i, g in enumerate(GROUPS)}
    return sorted(kpis, key=lambda k: (order[k.group], KPIS.index(k.kpi)))


def _deal_kpis(group: str, part: pl.DataFrame, rng: np.random.Generator) -> list[Estimate]:
    won = part.filter(pl.col("_won").fill_null(False))
    n_closed = part["_won"].drop_nulls().len()
    return [
        rate(group, "conversion", won.height, part.height),
        rate(group, "win_rate", won.height, n_closed),
        median_interval(
            group, "median_sales_cycle_days", won["_cycle"].drop_nulls().to_numpy(), rng
        ),
        mean_interval(group, "avg_deal_size", won["_amount"].drop_nulls().to_numpy()),
    ]


def _cac(deals: pl.DataFrame, costs: pl.DataFrame) -> list[Estimate]:
    """Spend ÷ new customers (accounts with a won deal after the cut) per group."""
    key = "tier" if "tier" in costs.columns else "source" if "source" in costs.columns else None
    if key is None or "spend" not in costs.columns:
        raise SchemaError(
            f"cost table: expected columns spend and tier or source; found {costs.columns}"
        )
    spend_by_group: dict[str, float] = {}
    for group, part in group_frames(deals):
        spend_by_group[group] = _group_spend(group, part, deals, costs, key)
    out = []
    for group, part in group_frames(deals):
        customers = part.filter(pl.col("_won").fill_null(False))["account_id"].n_unique()
        value = spend_by_group[group] / customers if customers else None
        out.append(Estimate(group, "cac", value, customers, None, None))
    return out


def _group_spend(
    group: str, part: pl.DataFrame, deals: pl.DataFrame, costs: pl.DataFrame, key: str
) -> float:
    spend = costs.select(pl.col(key).cast(pl.Utf8), pl.col("spend").cast(pl.Float64))
    if key == "tier":
        members = {"ICP": ICP_TIERS, "Non-ICP": ("Tier 3", "Non-fit"), "All": TIERS}.get(
            group, (group,)
        )
        direct = spend.filter(pl.col("tier") == group)["spend"].sum()
        if direct:
            return float(direct)
        return float(spend.filter(pl.col("tier").is_in(members))["spend"].sum())
    # Channel spend is shared out by the group's share of that channel's deals.
    share = (
        part.group_by("_source").len("n").join(deals.group_by("_source").len("total"), on="_source")
    )
    joined = spend.join(share, left_on="source", right_on="_source", how="inner")
    return float((joined["spend"] * joined["n"] / joined["total"]).sum())


def gains_table(scores: np.ndarray, won: np.ndarray) -> list[dict[str, Any]]:
    """Closed deals in deciles of fit score (best first): win rate, lift, cumulative gains."""
    if won.size < 10 or won.sum() == 0:
        return []
    order = np.lexsort((np.arange(scores.size), -scores))  # stable: ties keep deal order
    ranked = won[order]
    base = ranked.mean()
    rows, cum_won, cum_n = [], 0, 0
    for decile, chunk in enumerate(np.array_split(ranked, 10), start=1):
        cum_won += int(chunk.sum())
        cum_n += chunk.size
        win_rate = float(chunk.mean()) if chunk.size else float("nan")
        rows.append(
            {
                "decile": decile,
                "n_deals": int(chunk.size),
                "n_won": int(chunk.sum()),
                "win_rate": win_rate,
                "lift": win_rate / base,
                "cum_share_of_deals": cum_n / ranked.size,
                "cum_share_of_wins": cum_won / ranked.sum(),
                "cum_lift": (cum_won / cum_n) / base,
            }
        )
    return rows


def calibration_table(closed: pl.DataFrame) -> tuple[float | None, list[dict[str, Any]]]:
    """Brier score of fit_probability against won/lost, and a ten-bin reliability table.

    fit_probability is the scorecard's probability of its own target (best customer, or won);
    against deal outcomes it measures how well that probability ranks and scales to wins.
    """
    if "fit_probability" not in closed.columns or closed.height == 0:
        return None, []
    frame = closed.filter(pl.col("fit_probability").is_not_null())
    p = frame["fit_probability"].to_numpy().astype(float)
    y = frame["_won"].to_numpy().astype(float)
    if p.size == 0:
        return None, []
    brier = float(np.mean((p - y) ** 2))
    bins = np.clip((p * 10).astype(int), 0, 9)
    table = []
    for b in range(10):
        inside = bins == b
        if inside.any():
            table.append(
                {
                    "bin": f"[{b / 10:.1f}, {(b + 1) / 10:.1f})",
                    "n": int(inside.sum()),
                    "mean_predicted": float(p[inside].mean()),
                    "observed_win_rate": float(y[inside].mean()),
                }
            )
    return brier, table
