"""Per-account outcomes, the composite success score, and the best / worst / rest labels.

Each account gets the outcome metrics its data allows (deals → win rate, won revenue, ACV, sales
cycle; subscriptions → tenure, churn, realised LTV, expansion; notes → NPS). The success criteria
in the config (metrics, weights, direction) turn them into one score: a weighted mean of
percentile ranks, so long-tailed revenue cannot drown a rate. Accounts with no outcome at all are
'unranked' (prospects). Churned and lost-only accounts are 'worst' whatever their score; the top of
the ranking is 'best', the bottom 'worst'. Every label comes with the metrics that drove it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from icpkit.config import SuccessConfig, SuccessMetric
from icpkit.data.model import CrmData
from icpkit.errors import ConfigError, InsufficientDataError
from icpkit.vocab import LABELS

# Built-in metrics: name → (table that provides it, human label, default direction).
METRICS: dict[str, tuple[str, str, str]] = {
    "n_deals": ("deals", "deals", "higher"),
    "n_won": ("deals", "won deals", "higher"),
    "win_rate": ("deals", "win rate", "higher"),
    "win_rate_shrunk": ("deals", "win rate (shrunk)", "higher"),
    "won_revenue": ("deals", "won revenue", "higher"),
    "acv": ("deals", "average won deal", "higher"),
    "sales_cycle_days": ("deals", "median sales cycle (days)", "lower"),
    "tenure_days": ("subscriptions", "tenure (days)", "higher"),
    "ltv": ("subscriptions", "realised LTV", "higher"),
    "expansion": ("subscriptions", "expansion", "higher"),
    "nps": ("notes", "NPS/CSAT", "higher"),
    "referrals": ("accounts", "referrals", "higher"),
}


@dataclass(frozen=True)
class Outcomes:
    """Outcome metrics, success score, rank and label per account.

    :meth:`to_frame` has one row per account (in the order of ``crm.accounts``) with ``account_id``, the
    metrics, ``success_score`` (0–1, null when unranked), ``rank`` (1 = best), ``label`` and
    ``reason``. ``metrics`` are the success metrics actually used, with weights and directions.
    """

    _frame: pl.DataFrame
    metrics: tuple[SuccessMetric, ...]
    as_of: date
    settings: SuccessConfig
    notes: tuple[str, ...] = field(default=())

    def labels_for(self, accounts: pl.DataFrame) -> np.ndarray:
        """Labels aligned with the rows of ``accounts`` ('unranked' for unknown accounts)."""
        joined = accounts.select("account_id").join(
            self._frame.select("account_id", "label"),
            on="account_id",
            how="left",
            maintain_order="left",
        )
        return joined["label"].fill_null("unranked").to_numpy().astype(str)

    def group(self, label: str) -> pl.DataFrame:
        """The accounts with one label, best ranked first."""
        return self._frame.filter(pl.col("label") == label).sort(
            ["rank", "account_id"], nulls_last=True
        )

    def counts(self) -> dict[str, int]:
        got = dict(self._frame.group_by("label").len().iter_rows())
        return {label: int(got.get(label, 0)) for label in LABELS}

    def definition(self) -> dict[str, Any]:
        """The success definition as plain data (stored in the profile)."""
        return {
            "metrics": [m.model_dump() for m in self.metrics],
            "best_share": self.settings.best_share,
            "worst_share": self.settings.worst_share,
            "churned_is_worst": self.settings.churned_is_worst,
            "lost_only_is_worst": self.settings.lost_only_is_worst,
            "as_of": self.as_of.isoformat(),
            "counts": self.counts(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"definition": self.definition(), "notes": list(self.notes)}

    def to_frame(self) -> pl.DataFrame:
        """One row per account (in the order of ``crm.accounts``): account_id and the account's
        name and size columns, each outcome metric the data allows (n_deals, n_won, n_lost,
        win_rate, win_rate_shrunk, won_revenue, acv, sales_cycle_days from deals; tenure_days,
        churned, ltv, expansion from subscriptions; nps from notes; referrals), then
        success_score, rank, label ('best' | 'worst' | 'rest' | 'unranked') and reason."""
        return self._frame


def compute_outcomes(
    crm: CrmData, success: SuccessConfig | None = None, as_of: date | None = None
) -> Outcomes:
    """Compute every outcome metric the data allows, the success score and the labels.

    Parameters
    ----------
    crm
        The loaded CRM; only ``accounts`` is required, but without deals, subscriptions or an
        account-level success column there is nothing to rank and InsufficientDataError is raised.
    success
        The success criteria (metrics, weights, directions, group shares). Empty metrics: a default
        chosen from the tables present (see ``default_metrics``).
    as_of
        The date outcomes are measured at (tenure, churn). Default: the latest date in the data,
        so that results do not depend on the day they are computed.
    """
    success = success or SuccessConfig()
    as_of = as_of or _latest_date(crm)
    frame = _metric_frame(crm, as_of, success.shrinkage_prior)
    metrics = tuple(success.metrics) or default_metrics(crm, frame)
    _check_metrics(metrics, frame)
    frame = _score(frame, metrics)
    frame = _label(frame, success)
    frame = frame.with_columns(_reasons(frame, metrics))
    frame = frame.drop([c for c in frame.columns if c.startswith("_")])
    notes = _notes(crm, metrics)
    return Outcomes(_frame=frame, metrics=metrics, as_of=as_of, settings=success, notes=notes)


def default_metrics(crm: CrmData, frame: pl.DataFrame) -> tuple[SuccessMetric, ...]:
    """A sensible success definition for the tables present.

    Deals: won revenue and the shrunk win rate (never "ever won": on data where every account has
    a win that separates nothing). Subscriptions add realised LTV and expansion; notes with scores
    add NPS; a ``referrals`` column adds referrals.
    """
    chosen: list[SuccessMetric] = []
    if crm.deals is not None:
        chosen += [
            SuccessMetric(name="won_revenue", weight=1.0),
            SuccessMetric(name="win_rate_shrunk", weight=1.0),
        ]
    if crm.subscriptions is not None:
        chosen += [
            SuccessMetric(name="ltv", weight=1.0),
            SuccessMetric(name="expansion", weight=0.5),
        ]
    if "nps" in frame.columns and frame["nps"].drop_nulls().len() > 0:
        chosen.append(SuccessMetric(name="nps", weight=0.5))
    if "referrals" in frame.columns:
        chosen.append(SuccessMetric(name="referrals", weight=0.5))
    if not chosen:
        raise InsufficientDataError(
            "no outcome data: add a deals or subscriptions source, or name a numeric accounts "
            'column as a success metric in icpkit.toml ([[success.metrics]] name = "…")'
        )
    return tuple(chosen)


# ----------------------------------------------------------------------------- metrics


def _latest_date(crm: CrmData) -> date:
    candidates: list[date] = []
    for table, cols in (
        ("deals", ("created_at", "closed_at")),
        ("subscriptions", ("start", "end")),
        ("notes", ("date",)),
    ):
        frame = crm.table(table)
        if frame is None:
            continue
        for col in cols:
            if col in frame.columns and frame.schema[col] == pl.Date:
                value = frame[col].max()
                if isinstance(value, date):
                    candidates.append(value)
    return max(candidates) if candidates else date.today()


def _metric_frame(crm: CrmData, as_of: date, prior: float) -> pl.DataFrame:
    # The name travels with the outcomes so lists of customers read as companies, not ids.
    frame = crm.accounts.select("account_id", *(["name"] if "name" in crm.accounts.columns else []))
    extras = [c for c, t in crm.accounts.schema.items() if c != "account_id" and t.is_numeric()]
    frame = frame.join(
        crm.accounts.select("account_id", *extras),
        on="account_id",
        how="left",
        maintain_order="left",
    )
    if crm.deals is not None:
        frame = frame.join(
            _deal_metrics(crm.deals), on="account_id", how="left", maintain_order="left"
        )
        frame = _shrink_win_rate(frame, crm.deals, prior)
    if crm.subscriptions is not None:
        frame = frame.join(
            _subscription_metrics(crm.subscriptions, as_of),
            on="account_id",
            how="left",
            maintain_order="left",
        )
    if crm.notes is not None and "score" in crm.notes.columns:
        nps = crm.notes.group_by("account_id").agg(pl.col("score").mean().alias("nps"))
        frame = frame.join(nps, on="account_id", how="left", maintain_order="left")
    return frame


def _deal_metrics(deals: pl.DataFrame) -> pl.DataFrame:
    won = pl.col("stage") == "won"
    lost = pl.col("stage") == "lost"
    amount = pl.col("amount") if "amount" in deals.columns else pl.lit(None, pl.Float64)
    cycle = (
        (pl.col("closed_at") - pl.col("created_at")).dt.total_days()
        if {"closed_at", "created_at"} <= set(deals.columns)
        else pl.lit(None, pl.Int64)
    )
    extra_numeric = [c for c in deals.columns if deals.schema[c].is_numeric() and c != "amount"]
    return (
        deals.group_by("account_id")
        .agg(
            pl.len().alias("n_deals"),
            won.sum().alias("n_won"),
            lost.sum().alias("n_lost"),
            (won.sum() / (won.sum() + lost.sum())).alias("win_rate"),
            amount.filter(won).sum().alias("won_revenue"),
            amount.filter(won).mean().alias("acv"),
            cycle.filter(won).median().cast(pl.Float64).alias("sales_cycle_days"),
            *[pl.col(c).filter(won).sum().alias(f"won_{c}") for c in extra_numeric],
        )
        .with_columns(pl.col("win_rate").fill_nan(None))
    )


def _shrink_win_rate(frame: pl.DataFrame, deals: pl.DataFrame, prior: float) -> pl.DataFrame:
    """Beta-binomial shrinkage towards the global win rate, so 1 of 1 does not beat 40 of 50."""
    closed = deals.filter(pl.col("stage").is_in(["won", "lost"]))
    n_won = int((closed["stage"] == "won").sum())
    global_rate = n_won / closed.height if closed.height else 0.0
    return frame.with_columns(
        (
            (pl.col("n_won") + prior * global_rate) / (pl.col("n_won") + pl.col("n_lost") + prior)
        ).alias("win_rate_shrunk")
    )


def _subscription_metrics(subs: pl.DataFrame, as_of: date) -> pl.DataFrame:
    end = pl.col("end").fill_null(pl.lit(as_of)).clip(upper_bound=pl.lit(as_of))
    days = (end - pl.col("start")).dt.total_days().clip(lower_bound=0)
    monthly = pl.col("mrr") if "mrr" in subs.columns else pl.col("arr") / 12.0
    ordered = subs.with_columns(monthly.alias("_mrr")).sort("start")
    return (
        ordered.group_by("account_id")
        .agg(
            # Contracts renew as consecutive rows: tenure runs from the first start to the last end.
            (end.max() - pl.col("start").min())
            .dt.total_days()
            .cast(pl.Float64)
            .alias("tenure_days"),
            (pl.col("end").is_not_null() & (pl.col("end") <= as_of)).all().alias("churned"),
            (pl.col("_mrr") * days / 30.4375).sum().alias("ltv"),
            (pl.col("_mrr").max() / pl.col("_mrr").first() - 1.0).alias("expansion"),
        )
        .with_columns(pl.col("expansion").fill_nan(None))
    )


def _check_metrics(metrics: tuple[SuccessMetric, ...], frame: pl.DataFrame) -> None:
    unknown = [m.name for m in metrics if m.name not in frame.columns]
    if unknown:
        available = sorted(c for c in frame.columns if c != "account_id")
        raise ConfigError(
            f"success metric(s) {', '.join(unknown)} not available from the loaded tables "
            f"(expected one of: {', '.join(available)})"
        )
    for m in metrics:
        if not frame.schema[m.name].is_numeric() and frame.schema[m.name] != pl.Boolean:
            raise ConfigError(f"success metric {m.name} is not numeric ({frame.schema[m.name]})")


# ----------------------------------------------------------------------------- score and labels


def _has_outcome(frame: pl.DataFrame, metrics: tuple[SuccessMetric, ...]) -> pl.Expr:
    parts = [pl.col(m.name).is_not_null() for m in metrics]
    if "n_won" in frame.columns:
        parts.append((pl.col("n_won") + pl.col("n_lost")).fill_null(0) > 0)
    if "churned" in frame.columns:
        parts.append(pl.col("churned").is_not_null())
    if "n_won" in frame.columns:
        # A deal table exists: an account is ranked only when it has a closed deal or a subscription.
        closed = (pl.col("n_won") + pl.col("n_lost")).fill_null(0) > 0
        sub = pl.col("churned").is_not_null() if "churned" in frame.columns else pl.lit(False)
        return closed | sub
    return pl.any_horizontal(parts)


def _score(frame: pl.DataFrame, metrics: tuple[SuccessMetric, ...]) -> pl.DataFrame:
    """Weighted mean of per-metric percentile ranks among ranked accounts (missing → reweighted)."""
    frame = frame.with_columns(_has_outcome(frame, metrics).alias("_ranked"))
    ranked = pl.col("_ranked")
    pct_cols = []
    for m in metrics:
        value = pl.col(m.name).cast(pl.Float64)
        if m.name in ("won_revenue", "ltv", "n_won") or m.name.startswith("won_"):
            value = value.fill_null(0.0)  # no won deal / subscription = nothing earned
        value = pl.when(ranked).then(value)
        sign = 1.0 if m.direction == "higher" else -1.0
        pct = ((value * sign).rank("average") - 1) / ((value * sign).count() - 1).clip(
            lower_bound=1
        )
        pct_cols.append(pct.alias(f"_pct_{m.name}"))
    frame = frame.with_columns(pct_cols)
    weights = [(f"_pct_{m.name}", m.weight) for m in metrics]
    num = pl.sum_horizontal([pl.col(c).fill_null(0) * w for c, w in weights])
    den = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Float64) * w for c, w in weights])
    score = pl.when(ranked & (den > 0)).then(num / den)
    frame = frame.with_columns(score.alias("success_score"))
    # Equal scores share a rank (1 = best): position in the file never decides.
    return frame.with_columns(
        pl.col("success_score").rank("min", descending=True).cast(pl.Int64).alias("rank")
    )


def _label(frame: pl.DataFrame, s: SuccessConfig) -> pl.DataFrame:
    """best / worst / rest / unranked by *value*: accounts with equal success scores get one label.

    The best are the eligible accounts whose score is at least a threshold; the threshold is the
    score of the ``best_share`` quantile, and the group of accounts tied exactly at it is taken
    whole or left out whole, whichever brings the count closer to the target (see
    :func:`tie_aware_count`). A binary outcome (0/1, converted or not) therefore labels every
    converter best and no one else whenever converters are rarer than about twice
    ``best_share``; no tie is ever broken by row order. The worst are chosen the same way from
    the bottom.
    """
    n_ranked = int(frame["success_score"].is_not_null().sum())
    if n_ranked == 0:
        raise InsufficientDataError(
            "no account has an outcome yet (no closed deal, subscription or success value): "
            "there is no best or worst customer to learn from"
        )
    n_best = max(1, round(s.best_share * n_ranked))
    n_worst = max(1, round(s.worst_share * n_ranked))
    forced = pl.lit(False)
    if s.churned_is_worst and "churned" in frame.columns:
        forced = forced | pl.col("churned").fill_null(False)
    if s.lost_only_is_worst and "n_won" in frame.columns:
        forced = forced | (
            (pl.col("n_won").fill_null(0) == 0)
            & (pl.col("n_lost").fill_null(0) >= s.lost_only_min_deals)
        )
    eligible_best = ~forced
    if "n_won" in frame.columns:
        eligible_best = eligible_best & (pl.col("n_won").fill_null(0) > 0)
    frame = frame.with_columns(forced.alias("_forced_worst"), eligible_best.alias("_eligible"))
    score = frame["success_score"]
    eligible = frame["_eligible"] & score.is_not_null()
    best_cut = _value_cut(score.filter(eligible).to_numpy(), n_best, descending=True)
    is_best = eligible & (score >= best_cut) if best_cut is not None else eligible & False
    candidates = score.is_not_null() & ~is_best.fill_null(False)
    worst_cut = _value_cut(score.filter(candidates).to_numpy(), n_worst, descending=False)
    is_worst = candidates & (score <= worst_cut) if worst_cut is not None else candidates & False
    frame = frame.with_columns(
        is_best.fill_null(False).alias("_best"), is_worst.fill_null(False).alias("_worst")
    )
    label = (
        pl.when(pl.col("success_score").is_null())
        .then(pl.lit("unranked"))
        .when(pl.col("_forced_worst"))
        .then(pl.lit("worst"))
        .when(pl.col("_best"))
        .then(pl.lit("best"))
        .when(pl.col("_worst"))
        .then(pl.lit("worst"))
        .otherwise(pl.lit("rest"))
    )
    return frame.with_columns(label.alias("label"))


def tie_aware_count(sorted_values: np.ndarray, target: int) -> int:
    """How many of the leading ``sorted_values`` to take so that no tie is split.

    The group of values equal to the one at position ``target`` is taken whole or not at all,
    whichever count is closer to ``target`` (taking it on a tie in distance); an empty choice is
    never made when the whole group fits. Returns 0 only for an empty input.
    """
    n = len(sorted_values)
    if n == 0 or target <= 0:
        return 0
    if target >= n:
        return n
    edge = sorted_values[target - 1]
    without = int(np.count_nonzero(sorted_values[:target] != edge))
    with_group = without + int(np.count_nonzero(sorted_values == edge))
    if without == 0:
        return with_group
    return without if (target - without) < (with_group - target) else with_group


def _value_cut(values: np.ndarray, target: int, *, descending: bool) -> float | None:
    """The score threshold of a tie-aware top (or bottom) ``target`` group; None for none."""
    values = np.sort(values.astype(float))
    if descending:
        values = values[::-1]
    k = tie_aware_count(values, target)
    if k == 0:
        return None
    return float(values[k - 1])


def _reasons(frame: pl.DataFrame, metrics: tuple[SuccessMetric, ...]) -> pl.Expr:
    """One readable sentence per account: why it has its label (the metrics that drove it)."""
    n_ranked = max(1, int(frame["success_score"].is_not_null().sum()))
    parts = []
    for m in metrics:
        label = METRICS.get(m.name, (None, m.name.replace("_", " "), None))[1]
        pct = pl.col(f"_pct_{m.name}")
        # Position as a share of ranked accounts: the best of 10 is "top 10%", not "top 0%".
        top = (((1.0 - pct) * (n_ranked - 1) + 1) * 100 / n_ranked).ceil().cast(pl.Int64)
        bottom = ((pct * (n_ranked - 1) + 1) * 100 / n_ranked).ceil().cast(pl.Int64)
        where = (
            pl.when(pct >= 0.5)
            .then(pl.format("top {}%", top))
            .otherwise(pl.format("bottom {}%", bottom))
        )
        parts.append(
            pl.when(pl.col(m.name).is_not_null() & pct.is_not_null()).then(
                pl.format("{} {} ({})", pl.lit(label), _fmt(pl.col(m.name), m.name), where)
            )
        )
    drivers = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    position = pl.format("rank {} of {}", pl.col("rank"), pl.lit(n_ranked))
    churned = pl.col("churned").fill_null(False) if "churned" in frame.columns else pl.lit(False)
    lost_only = (
        (pl.col("n_won").fill_null(0) == 0) & (pl.col("n_lost").fill_null(0) > 0)
        if "n_won" in frame.columns
        else pl.lit(False)
    )
    lost_text = (
        pl.when(pl.col("n_lost") == 1)
        .then(pl.lit("lost its only closed deal"))
        .otherwise(pl.format("lost all {} closed deals", pl.col("n_lost")))
        if "n_lost" in frame.columns
        else pl.lit("")
    )
    return (
        pl.when(pl.col("label") == "unranked")
        .then(pl.lit("no closed deal or subscription yet"))
        .when((pl.col("label") == "worst") & churned)
        .then(pl.format("churned; {}; {}", position, drivers))
        .when((pl.col("label") == "worst") & lost_only)
        .then(pl.format("{}; {}", lost_text, position))
        .otherwise(pl.format("{}; {}", position, drivers))
        .alias("reason")
    )


def _fmt(value: pl.Expr, name: str) -> pl.Expr:
    if name in ("win_rate", "win_rate_shrunk", "expansion"):
        return pl.format("{}%", (value * 100).round(0).cast(pl.Int64))
    if name in ("won_revenue", "acv", "ltv") or name.startswith("won_"):
        return _compact(value)
    return value.round(1).cast(pl.Utf8).str.replace(r"\.0$", "")


def _compact(value: pl.Expr) -> pl.Expr:
    """Amounts as a person reads them: 950, 18k, 183k, 1.2M, 3.4B."""
    size = value.abs()
    return (
        pl.when(size >= 1e9)
        .then(pl.format("{}B", (value / 1e9).round(1)))
        .when(size >= 1e6)
        .then(pl.format("{}M", (value / 1e6).round(1)))
        .when(size >= 1e4)
        .then(pl.format("{}k", (value / 1e3).round(0).cast(pl.Int64)))
        .when(size >= 1e3)
        .then(pl.format("{}k", (value / 1e3).round(1)))
        .otherwise(value.round(0).cast(pl.Int64).cast(pl.Utf8))
    )


def _notes(crm: CrmData, metrics: tuple[SuccessMetric, ...]) -> tuple[str, ...]:
    notes = [
        f"{table} missing: no {what}"
        for table, what in crm.missing().items()
        if table in ("deals", "subscriptions")
    ]
    names = ", ".join(f"{m.name} (×{m.weight:g}, {m.direction} is better)" for m in metrics)
    return (f"success score = weighted mean of percentile ranks of: {names}", *notes)
