"""Proof in production: a randomised holdout of ICP-routed accounts, read out so that peeking is safe.

``icpkit experiment start --holdout 0.1`` takes the Tier 1/2 accounts the live profile gives (by
default only those that are not customers yet: routing is about winning them), and within each
tier marks a random share as the **holdout**. The holdout is written back with the tier, so routing
rules treat those accounts as business as usual while the rest are **routed** the ICP way. Before
anything is stored, a power calculation says how many weeks the experiment needs to detect a given
relative lift in conversion.

``icpkit experiment report`` later reads the deals created on or after the start day and compares
the two arms per account: pipeline (deals and amount created), conversion (a won deal), revenue
(won amount) and the win rate of closed deals. The effect is the stratified difference in means
(routed − holdout within each tier, weighted by the tier's share of the experiment), its variance
the stratified Neyman variance (each arm's variance floored at the tier's pooled variance, so a
small holdout with no win yet does not look certain).

**Why the interval is safe to read every week.** A fixed-horizon 95% interval read every week
claims an effect that is not there far more often than 5% of the time. The intervals here are
*confidence sequences*: Robbins' normal-mixture boundary for a martingale with variance process V,
``|S| <= sqrt((V + rho) * log((V + rho) / (rho * alpha**2)))``, which holds at every look at once
with probability ``1 - alpha`` (Howard, Ramdas, McAuliffe & Sekhon 2021; asymptotically, with the
variance estimated, Waudby-Smith et al. 2021). ``rho`` decides when the sequence is tightest; it is
fixed at start for each metric from the history (the variance the metric had over a window as long
as the planned horizon), so no look at the experiment's own data tunes it.

Files: ``<workspace>/.icpkit/experiment/plan.json`` (the plan) and ``assignments.parquet``
(account id, tier, arm), both written atomically; a second ``start`` while one runs is refused.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from scipy import optimize, stats

from icpkit.atomic import atomic_path, write_text_atomic
from icpkit.errors import ConfigError, InsufficientDataError, StoreError
from icpkit.vocab import ICP_TIERS, TIERS

EXPERIMENT_DIR = Path(".icpkit") / "experiment"
PLAN_FILE = "plan.json"
ASSIGNMENTS_FILE = "assignments.parquet"
ARMS = ("routed", "holdout")
Arm = Literal["routed", "holdout"]
MetricName = Literal["conversion", "pipeline_deals", "pipeline_amount", "revenue", "win_rate"]
METRICS: tuple[MetricName, ...] = (
    "conversion",
    "pipeline_deals",
    "pipeline_amount",
    "revenue",
    "win_rate",
)
PRIMARY: MetricName = "conversion"
METRIC_WORDS: dict[str, str] = {
    "conversion": "accounts won (share with a won deal)",
    "pipeline_deals": "deals created per account",
    "pipeline_amount": "pipeline created per account",
    "revenue": "won revenue per account",
    "win_rate": "win rate of closed deals",
}
MAX_WEEKS = 104
HISTORY_DAYS = 365
_FROZEN = ConfigDict(frozen=True, extra="forbid")


# ----------------------------------------------------------------------------- typed results


class StratumPlan(BaseModel):
    """One tier's accounts in the experiment."""

    model_config = _FROZEN
    tier: str
    accounts: int
    holdout: int


class PowerPlan(BaseModel):
    """How long the experiment must run to detect ``min_lift``, computed before it starts."""

    model_config = _FROZEN
    weekly_conversion_rate: float = Field(
        description="Per-account weekly hazard of a first win, from the year before the start."
    )
    history_accounts: int = Field(description="Accounts the rate was measured on.")
    history_wins: int = Field(description="First wins among them in that year.")
    min_lift: float = Field(description="Relative lift in conversion to detect (0.2 = +20%).")
    alpha: float
    power: float
    weeks_needed: int | None = Field(
        description="Weeks until the sequential test detects min_lift with the given power "
        f"(None: not within {MAX_WEEKS} weeks at this size)."
    )
    fixed_horizon_weeks: int | None = Field(
        description="What a single-look test would need (shorter, but only valid if read once)."
    )
    expected_wins_routed: float | None = None
    expected_wins_holdout: float | None = None
    planned_weeks: int = Field(description="The horizon the confidence sequences are tuned for.")
    mixture: dict[str, float] = Field(
        description="rho per metric: the normal-mixture parameter of its confidence sequence."
    )

    def sentence(self) -> str:
        lift = f"{self.min_lift:+.0%}"
        if self.weeks_needed is None:
            return (
                f"Not enough accounts to detect a {lift} lift in conversion within {MAX_WEEKS} "
                f"weeks (weekly conversion {self.weekly_conversion_rate:.2%} per account); "
                "add accounts, raise the holdout share or aim for a larger lift."
            )
        fixed = (
            f" (a single-look test would need {self.fixed_horizon_weeks}, but could not be "
            "read before then)"
            if self.fixed_horizon_weeks is not None
            else ""
        )
        return (
            f"Needs about {self.weeks_needed} weeks to detect a {lift} lift in conversion with "
            f"{self.power:.0%} power at alpha {self.alpha:g}{fixed}; the result may be read any "
            "week without inflating false alarms."
        )


class ExperimentPlan(BaseModel):
    """What ``experiment start`` stored."""

    model_config = _FROZEN
    experiment_id: str
    started_on: date
    version: int | None
    holdout_share: float
    seed: int
    tiers: tuple[str, ...]
    include_customers: bool
    alpha: float
    strata: tuple[StratumPlan, ...]
    power: PowerPlan
    status: Literal["running", "stopped"] = "running"
    stopped_on: date | None = None

    @property
    def accounts(self) -> int:
        return sum(s.accounts for s in self.strata)

    @property
    def holdout(self) -> int:
        return sum(s.holdout for s in self.strata)


class ArmSummary(BaseModel):
    """One arm's totals over the experiment window."""

    model_config = _FROZEN
    arm: str
    accounts: int
    deals_created: int
    pipeline_amount: float
    deals_closed: int
    deals_won: int
    accounts_won: int
    revenue: float

    @property
    def conversion(self) -> float:
        return self.accounts_won / self.accounts if self.accounts else math.nan

    @property
    def win_rate(self) -> float:
        return self.deals_won / self.deals_closed if self.deals_closed else math.nan


class MetricEffect(BaseModel):
    """The effect of ICP routing on one metric: routed − holdout, with its confidence sequence."""

    model_config = _FROZEN
    metric: str
    words: str
    routed: float
    holdout: float
    effect: float = Field(description="Routed − holdout (per account; for win_rate, per deal).")
    low: float
    high: float
    relative_lift: float | None
    incremental_total: float | None = Field(
        description="effect × routed accounts: what routing added over business as usual "
        "(None for win_rate)."
    )
    verdict: Literal["higher", "lower", "no effect detected"]


class ExperimentReport(BaseModel):
    """``experiment report``: both arms, every metric, and the verdict in words."""

    model_config = _FROZEN
    experiment_id: str
    started_on: date
    as_of: date
    weeks: float
    planned_weeks: int
    alpha: float
    arms: tuple[ArmSummary, ...]
    effects: tuple[MetricEffect, ...]
    primary: str
    verdict: str

    def effect(self, metric: str) -> MetricEffect:
        for item in self.effects:
            if item.metric == metric:
                return item
        raise KeyError(metric)

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json")


# ----------------------------------------------------------------------------- statistics


def mixture_factor(alpha: float) -> tuple[float, float]:
    """The k that makes the normal-mixture boundary tightest where V = v*, with rho = k·v*.

    At V = v* the half-width is ``sqrt(v*) · m`` with ``m = sqrt((1+k) log((1+k)/(k α²)))``;
    returns ``(k, m)``.
    """

    def width(log_k: float) -> float:
        k = math.exp(log_k)
        return (1 + k) * math.log((1 + k) / (k * alpha * alpha))

    best = optimize.minimize_scalar(width, bounds=(-12.0, 6.0), method="bounded")
    k = math.exp(float(best.x))
    return k, math.sqrt(width(float(best.x)))


def sequence_halfwidth(variance: float, rho: float, alpha: float) -> float:
    """Half-width of the (1 − alpha) normal-mixture confidence sequence at estimated variance V.

    Valid at every look at once: P(some look excludes the truth) <= alpha.
    """
    if not math.isfinite(variance) or variance < 0 or rho <= 0:
        return math.inf
    total = variance + rho
    return math.sqrt(total * math.log(total / (rho * alpha * alpha)))


def _stratified(
    values: np.ndarray, routed: np.ndarray, strata: np.ndarray
) -> tuple[float, float, float, float]:
    """Stratified difference in means and its Neyman variance; also both arms' weighted means."""
    effect = variance = mean_r = mean_h = 0.0
    total = 0
    parts = []
    for stratum in np.unique(strata):
        inside = strata == stratum
        r = values[inside & routed]
        h = values[inside & ~routed]
        if len(r) == 0 or len(h) == 0:
            continue  # a tier with one arm only carries no comparison
        parts.append((int(inside.sum()), r, h))
        total += int(inside.sum())
    if not parts:
        return math.nan, math.nan, math.nan, math.nan
    for size, r, h in parts:
        weight = size / total
        effect += weight * (r.mean() - h.mean())
        mean_r += weight * r.mean()
        mean_h += weight * h.mean()
        # Each arm's variance is at least the tier's pooled one: a small holdout with no win yet
        # has a sample variance of 0, which would make an interval far too sure of itself.
        pooled = np.concatenate([r, h]).var(ddof=1)
        var_r = max(r.var(ddof=1) if len(r) > 1 else 0.0, pooled)
        var_h = max(h.var(ddof=1) if len(h) > 1 else 0.0, pooled)
        variance += weight**2 * (var_r / len(r) + var_h / len(h))
    return effect, variance, mean_r, mean_h


def _ratio(won: np.ndarray, closed: np.ndarray) -> tuple[float, float]:
    """A ratio of sums (won deals / closed deals) and its delta-method variance, per account."""
    n = len(won)
    if n == 0 or closed.sum() == 0:
        return math.nan, math.nan
    rate = won.sum() / closed.sum()
    residual = won - rate * closed
    mean_closed = closed.mean()
    var = residual.var(ddof=1) / (n * mean_closed**2) if n > 1 else math.nan
    return float(rate), float(var)


# ----------------------------------------------------------------------------- outcomes per account


def account_outcomes(
    accounts: Sequence[str] | pl.Series,
    deals: pl.DataFrame | None,
    start: date,
    end: date,
) -> pl.DataFrame:
    """Per-account outcomes of the deals created in ``[start, end]``.

    Columns: account_id, pipeline_deals, pipeline_amount, deals_closed, deals_won, conversion (0/1: a won deal),
    revenue. A deal counts as closed (and won) only when it closed by ``end``.
    """
    ids = pl.DataFrame({"account_id": pl.Series(list(accounts), dtype=pl.Utf8)})
    zero = {
        "pipeline_deals": 0.0,
        "pipeline_amount": 0.0,
        "deals_closed": 0.0,
        "deals_won": 0.0,
        "revenue": 0.0,
    }
    if deals is None or deals.height == 0:
        return ids.with_columns(
            *[pl.lit(v).alias(k) for k, v in zero.items()], pl.lit(0.0).alias("conversion")
        )
    stage = pl.col("stage").cast(pl.Utf8).str.to_lowercase()
    closed = pl.col("closed_at").is_not_null() & (pl.col("closed_at") <= end)
    window = deals.filter(
        pl.col("created_at").is_not_null()
        & (pl.col("created_at") >= start)
        & (pl.col("created_at") <= end)
    )
    amount = pl.col("amount").cast(pl.Float64).fill_null(0.0)
    per = window.group_by("account_id").agg(
        pl.len().cast(pl.Float64).alias("pipeline_deals"),
        amount.sum().alias("pipeline_amount"),
        (closed & stage.is_in(["won", "lost"])).sum().cast(pl.Float64).alias("deals_closed"),
        (closed & (stage == "won")).sum().cast(pl.Float64).alias("deals_won"),
        pl.when(closed & (stage == "won")).then(amount).otherwise(0.0).sum().alias("revenue"),
    )
    return (
        ids.join(per, on="account_id", how="left")
        .with_columns(pl.col(list(zero)).fill_null(0.0))
        .with_columns((pl.col("deals_won") > 0).cast(pl.Float64).alias("conversion"))
    )


# ----------------------------------------------------------------------------- planning


def _first_wins(deals: pl.DataFrame | None) -> pl.DataFrame:
    if deals is None or deals.height == 0:
        return pl.DataFrame(schema={"account_id": pl.Utf8, "first_win": pl.Date})
    won = deals.filter(
        (pl.col("stage").cast(pl.Utf8).str.to_lowercase() == "won")
        & pl.col("closed_at").is_not_null()
    )
    return won.group_by("account_id").agg(pl.col("closed_at").min().alias("first_win"))


def eligible_accounts(
    scored: pl.DataFrame,
    deals: pl.DataFrame | None,
    start: date,
    tiers: Sequence[str] = ICP_TIERS,
    include_customers: bool = False,
) -> pl.DataFrame:
    """The accounts of ``tiers`` (sorted by id), without customers unless asked.

    A customer is an account with a won deal closed before ``start``.
    """
    for column in ("account_id", "tier"):
        if column not in scored.columns:
            raise ConfigError(f"the scored accounts have no {column} column")
    unknown = sorted(set(tiers) - set(TIERS))
    if unknown:
        raise ConfigError(f"unknown tier {unknown[0]!r}; expected one of {', '.join(TIERS)}")
    frame = (
        scored.select(pl.col("account_id").cast(pl.Utf8), pl.col("tier").cast(pl.Utf8))
        .filter(pl.col("account_id").is_not_null() & pl.col("tier").is_in(list(tiers)))
        .unique("account_id", keep="first")
    )
    if not include_customers:
        wins = _first_wins(deals).filter(pl.col("first_win") < start)
        frame = frame.join(wins, on="account_id", how="anti")
    return frame.sort("account_id")


def assign_arms(eligible: pl.DataFrame, holdout_share: float, seed: int) -> pl.DataFrame:
    """Within each tier, a random ``holdout_share`` of the accounts (rounded) is the holdout.

    The draw depends on the account ids and the seed only, never on the input's row order.
    """
    if not 0 < holdout_share < 1:
        raise ConfigError(f"--holdout must be between 0 and 1 (exclusive); got {holdout_share}")
    rng = np.random.default_rng(seed)
    parts = []
    for tier in sorted(eligible["tier"].unique().to_list()):
        ids = eligible.filter(pl.col("tier") == tier)["account_id"].sort().to_list()
        n_hold = round(len(ids) * holdout_share)
        order = rng.permutation(len(ids))
        arm = np.array(["routed"] * len(ids), dtype=object)
        arm[order[:n_hold]] = "holdout"
        parts.append(pl.DataFrame({"account_id": ids, "tier": [tier] * len(ids), "arm": arm}))
    if not parts:
        return pl.DataFrame(schema={"account_id": pl.Utf8, "tier": pl.Utf8, "arm": pl.Utf8})
    return pl.concat(parts).with_columns(pl.col("arm").cast(pl.Utf8))


def _weekly_rate(
    eligible_ids: pl.Series, deals: pl.DataFrame | None, start: date
) -> tuple[float, int, int]:
    """Weekly hazard of a first win among the accounts that were not customers a year earlier."""
    begin = start - timedelta(days=HISTORY_DAYS)
    wins = _first_wins(deals)
    frame = pl.DataFrame({"account_id": eligible_ids}).join(wins, on="account_id", how="left")
    at_risk = frame.filter(pl.col("first_win").is_null() | (pl.col("first_win") >= begin))
    won = at_risk.filter(pl.col("first_win").is_not_null() & (pl.col("first_win") < start)).height
    n = at_risk.height
    if n == 0:
        return math.nan, 0, 0
    share = won / n
    if share >= 1:
        share = (n - 0.5) / n
    return -math.log1p(-share) / (HISTORY_DAYS / 7), n, won


def _history_variances(
    eligible_ids: pl.Series, deals: pl.DataFrame | None, start: date, weeks: int
) -> dict[str, float]:
    """Each metric's per-account variance over the ``weeks`` before the start (the scale of rho)."""
    begin = start - timedelta(days=7 * weeks)
    past = account_outcomes(eligible_ids, deals, begin, start - timedelta(days=1))
    result: dict[str, float] = {}
    for metric in METRICS:
        if metric == "win_rate":
            _rate, var = _ratio(past["deals_won"].to_numpy(), past["deals_closed"].to_numpy())
            result[metric] = var * len(past) if math.isfinite(var) else math.nan
        else:
            values = past[metric].to_numpy()
            result[metric] = float(values.var(ddof=1)) if len(values) > 1 else math.nan
    return result


def plan_power(
    eligible: pl.DataFrame,
    population: pl.DataFrame,
    deals: pl.DataFrame | None,
    start: date,
    holdout_share: float,
    *,
    min_lift: float = 0.2,
    alpha: float = 0.05,
    power: float = 0.8,
) -> PowerPlan:
    """Weeks needed to detect ``min_lift`` in conversion, and each metric's mixture parameter.

    ``eligible`` are the experiment's accounts; ``population`` the same tiers with the customers,
    whose past year gives the conversion rate (the eligible accounts have, by definition, not
    converted yet) and each metric's variance.
    """
    if min_lift <= 0:
        raise ConfigError(f"--min-lift must be positive; got {min_lift}")
    if not 0 < alpha < 0.5 or not 0.5 <= power < 1:
        raise ConfigError(f"alpha must be in (0, 0.5) and power in [0.5, 1); got {alpha}, {power}")
    ids = population["account_id"]
    rate, history_n, history_wins = _weekly_rate(ids, deals, start)
    if not math.isfinite(rate) or history_wins == 0:
        raise InsufficientDataError(
            f"no first win among these {history_n} accounts in the {HISTORY_DAYS} days before "
            f"{start}: there is no conversion rate to plan the experiment with"
        )
    n = eligible.height
    n_hold = max(1, round(n * holdout_share))
    n_routed = max(1, n - n_hold)
    k, m = mixture_factor(alpha)
    z_power = float(stats.norm.ppf(power))
    z_fixed = float(stats.norm.ppf(1 - alpha / 2))
    weeks_needed = fixed_weeks = None
    for week in range(1, MAX_WEEKS + 1):
        p0 = -math.expm1(-rate * week)
        p1 = min(p0 * (1 + min_lift), 0.999)
        sd = math.sqrt(p1 * (1 - p1) / n_routed + p0 * (1 - p0) / n_hold)
        signal = (p1 - p0) / sd
        if fixed_weeks is None and signal >= z_fixed + z_power:
            fixed_weeks = week
        if signal >= m + z_power:
            weeks_needed = week
            break
    planned = weeks_needed or MAX_WEEKS
    p0 = -math.expm1(-rate * planned)
    variances = _history_variances(ids, deals, start, planned)
    scale = 1 / n_routed + 1 / n_hold
    mixture = {}
    for metric, per_account in variances.items():
        if not math.isfinite(per_account) or per_account <= 0:
            per_account = p0 * (1 - p0) if metric == "conversion" else 1.0
        mixture[metric] = k * per_account * scale
    return PowerPlan(
        weekly_conversion_rate=rate,
        history_accounts=history_n,
        history_wins=history_wins,
        min_lift=min_lift,
        alpha=alpha,
        power=power,
        weeks_needed=weeks_needed,
        fixed_horizon_weeks=fixed_weeks,
        expected_wins_routed=(n_routed * min(p0 * (1 + min_lift), 1.0) if weeks_needed else None),
        expected_wins_holdout=n_hold * p0 if weeks_needed else None,
        planned_weeks=planned,
        mixture=mixture,
    )


def start_experiment(
    scored: pl.DataFrame,
    deals: pl.DataFrame | None,
    *,
    start: date,
    holdout_share: float = 0.1,
    seed: int | None = None,
    version: int | None = None,
    tiers: Sequence[str] = ICP_TIERS,
    include_customers: bool = False,
    min_lift: float = 0.2,
    alpha: float = 0.05,
    power: float = 0.8,
) -> tuple[ExperimentPlan, pl.DataFrame]:
    """Plan an experiment and draw its holdout (nothing is stored: see :func:`save_experiment`).

    Parameters
    ----------
    scored : polars.DataFrame
        Accounts with ``account_id`` and ``tier`` (the live profile's scores).
    deals : polars.DataFrame or None
        The CRM's deals (canonical columns), for the customers to leave out and the power plan.
    start : date
        The first day of the experiment.

    Returns
    -------
    (ExperimentPlan, polars.DataFrame)
        The plan and the assignments (account_id, tier, arm).
    """
    eligible = eligible_accounts(scored, deals, start, tiers, include_customers)
    if eligible.height < 20:
        raise InsufficientDataError(
            f"only {eligible.height} {' / '.join(tiers)} accounts are eligible on {start} "
            "(customers left out); an experiment needs at least 20"
        )
    seed = secrets.randbits(32) if seed is None else int(seed)
    assignments = assign_arms(eligible, holdout_share, seed)
    population = eligible_accounts(scored, deals, start, tiers, include_customers=True)
    plan_ = plan_power(
        eligible,
        population,
        deals,
        start,
        holdout_share,
        min_lift=min_lift,
        alpha=alpha,
        power=power,
    )
    strata = tuple(
        StratumPlan(
            tier=tier,
            accounts=int(group.height),
            holdout=int((group["arm"] == "holdout").sum()),
        )
        for (tier,), group in sorted(assignments.group_by(["tier"]), key=lambda g: str(g[0][0]))
    )
    plan = ExperimentPlan(
        experiment_id=f"exp-{start:%Y%m%d}-{seed % 0xFFFF:04x}",
        started_on=start,
        version=version,
        holdout_share=holdout_share,
        seed=seed,
        tiers=tuple(tiers),
        include_customers=include_customers,
        alpha=alpha,
        strata=strata,
        power=plan_,
    )
    return plan, assignments


# ----------------------------------------------------------------------------- the read-out


def experiment_report(
    plan: ExperimentPlan, assignments: pl.DataFrame, deals: pl.DataFrame | None, as_of: date
) -> ExperimentReport:
    """Both arms' outcomes since the start and the effect of routing on each metric.

    Every interval is a (1 − alpha) confidence sequence: reading the report every week does not
    raise the chance of a false "higher"/"lower" above alpha.
    """
    if as_of < plan.started_on:
        raise ConfigError(f"--as-of {as_of} is before the experiment started ({plan.started_on})")
    outcomes = account_outcomes(assignments["account_id"], deals, plan.started_on, as_of)
    frame = assignments.join(outcomes, on="account_id", how="left")
    routed = (frame["arm"] == "routed").to_numpy()
    strata = frame["tier"].to_numpy()
    arms = tuple(_arm_summary(frame, arm) for arm in ARMS)
    n_routed = int(routed.sum())
    effects = []
    for metric in METRICS:
        rho = plan.power.mixture.get(metric, 1.0)
        if metric == "win_rate":
            won, closed = frame["deals_won"].to_numpy(), frame["deals_closed"].to_numpy()
            rate_r, var_r = _ratio(won[routed], closed[routed])
            rate_h, var_h = _ratio(won[~routed], closed[~routed])
            effect, variance, mean_r, mean_h = rate_r - rate_h, var_r + var_h, rate_r, rate_h
            total = None
        else:
            values = frame[metric].to_numpy().astype(float)
            effect, variance, mean_r, mean_h = _stratified(values, routed, strata)
            total = effect * n_routed if math.isfinite(effect) else None
        half = sequence_halfwidth(variance, rho, plan.alpha)
        low, high = effect - half, effect + half
        verdict: Literal["higher", "lower", "no effect detected"] = (
            "higher" if low > 0 else "lower" if high < 0 else "no effect detected"
        )
        effects.append(
            MetricEffect(
                metric=metric,
                words=METRIC_WORDS[metric],
                routed=_finite(mean_r),
                holdout=_finite(mean_h),
                effect=_finite(effect),
                low=_finite(low, -math.inf),
                high=_finite(high, math.inf),
                relative_lift=(
                    effect / mean_h if math.isfinite(effect) and mean_h and mean_h > 0 else None
                ),
                incremental_total=total,
                verdict=verdict,
            )
        )
    weeks = (as_of - plan.started_on).days / 7
    report = ExperimentReport(
        experiment_id=plan.experiment_id,
        started_on=plan.started_on,
        as_of=as_of,
        weeks=weeks,
        planned_weeks=plan.power.planned_weeks,
        alpha=plan.alpha,
        arms=arms,
        effects=tuple(effects),
        primary=PRIMARY,
        verdict="",
    )
    return report.model_copy(update={"verdict": _verdict(report)})


def _finite(value: float, default: float = math.nan) -> float:
    return float(value) if value is not None and math.isfinite(value) else default


def _arm_summary(frame: pl.DataFrame, arm: str) -> ArmSummary:
    part = frame.filter(pl.col("arm") == arm)
    return ArmSummary(
        arm=arm,
        accounts=part.height,
        deals_created=int(part["pipeline_deals"].sum()),
        pipeline_amount=float(part["pipeline_amount"].sum()),
        deals_closed=int(part["deals_closed"].sum()),
        deals_won=int(part["deals_won"].sum()),
        accounts_won=int(part["conversion"].sum()),
        revenue=float(part["revenue"].sum()),
    )


def _verdict(report: ExperimentReport) -> str:
    main = report.effect(report.primary)
    level = f"{1 - report.alpha:.0%}"
    points = f"{main.effect * 100:+.1f} points [{main.low * 100:+.1f}, {main.high * 100:+.1f}]"
    week = f"week {report.weeks:.0f} of {report.planned_weeks} planned"
    if not math.isfinite(main.effect):
        return f"Nothing to compare yet ({week}): one arm has no accounts."
    if main.verdict == "higher":
        return (
            f"ICP routing wins more accounts: {points} in the share of accounts won, "
            f"{level} confidence sequence, safe to read at any week ({week})."
        )
    if main.verdict == "lower":
        return (
            f"ICP routing wins fewer accounts than business as usual: {points} in the share "
            f"won ({level} confidence sequence, {week}). Review the routing."
        )
    if report.weeks < report.planned_weeks:
        return (
            f"No effect detected yet ({week}): the share of accounts won differs by {points}, "
            "an interval that still includes zero. Keep the experiment running."
        )
    return (
        f"No effect detected ({week}): the share of accounts won differs by {points}; "
        f"effects larger than {main.high * 100:+.1f} points are unlikely."
    )


# ----------------------------------------------------------------------------- the workspace files


def experiment_dir(workspace: Path) -> Path:
    return Path(workspace) / EXPERIMENT_DIR


def save_experiment(
    workspace: Path, plan: ExperimentPlan, assignments: pl.DataFrame, *, replace: bool = False
) -> Path:
    """Store the plan and the assignments (atomically; a running experiment is never replaced)."""
    folder = experiment_dir(workspace)
    current = load_plan(workspace)
    if current is not None and current.status == "running" and not replace:
        raise StoreError(
            f"experiment {current.experiment_id} (started {current.started_on}) is still "
            "running; stop it first with `icpkit experiment stop`"
        )
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / ASSIGNMENTS_FILE) as tmp:
        assignments.write_parquet(tmp)
    write_text_atomic(folder / PLAN_FILE, plan.model_dump_json(indent=2))
    return folder


def load_plan(workspace: Path) -> ExperimentPlan | None:
    """The stored plan, or None when no experiment was ever started."""
    path = experiment_dir(workspace) / PLAN_FILE
    if not path.exists():
        return None
    try:
        return ExperimentPlan.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, OSError) as exc:
        raise StoreError(
            f"{EXPERIMENT_DIR / PLAN_FILE} is damaged ({type(exc).__name__}); restore it from a "
            "backup or start a new experiment with --replace"
        ) from None


def load_experiment(workspace: Path) -> tuple[ExperimentPlan, pl.DataFrame]:
    """The stored plan and assignments; a clear error when there is none."""
    plan = load_plan(workspace)
    if plan is None:
        raise ConfigError(
            "no experiment in this workspace; start one with `icpkit experiment start --holdout 0.1`"
        )
    path = experiment_dir(workspace) / ASSIGNMENTS_FILE
    try:
        assignments = pl.read_parquet(path)
    except Exception as exc:  # polars raises several kinds for a damaged file
        raise StoreError(
            f"{EXPERIMENT_DIR / ASSIGNMENTS_FILE} cannot be read ({type(exc).__name__}); "
            "restore it from a backup"
        ) from None
    expected = {"account_id", "tier", "arm"}
    if not expected <= set(assignments.columns):
        raise StoreError(f"{EXPERIMENT_DIR / ASSIGNMENTS_FILE} lacks {sorted(expected)}")
    return plan, assignments


def stop_experiment(workspace: Path, on: date) -> ExperimentPlan:
    """Mark the running experiment stopped (its data stay; ``report`` still works)."""
    plan, _ = load_experiment(workspace)
    if plan.status == "stopped":
        return plan
    stopped = plan.model_copy(update={"status": "stopped", "stopped_on": on})
    write_text_atomic(experiment_dir(workspace) / PLAN_FILE, stopped.model_dump_json(indent=2))
    return stopped


def writeback_frame(assignments: pl.DataFrame, scored: pl.DataFrame | None = None) -> pl.DataFrame:
    """The write-back rows: account id, tier and arm (plus name and domain when scored has them).

    Routing rules read ``icp_experiment_arm``: ``holdout`` accounts are worked as business as
    usual, ``routed`` ones the ICP way.
    """
    frame = assignments.select(
        "account_id", "tier", pl.col("arm").alias("icp_experiment_arm")
    ).sort("account_id")
    if scored is not None:
        extra = [c for c in ("name", "domain") if c in scored.columns]
        if extra:
            frame = frame.join(
                scored.select("account_id", *extra).unique("account_id", keep="first"),
                on="account_id",
                how="left",
            ).select("account_id", *extra, "tier", "icp_experiment_arm")
    return frame
