"""Product-qualified accounts: which open, free or trial accounts to work, and the held-out check.

The PQA score is a learned likelihood to buy, fit × usage on the odds scale: a logistic
regression of "converts within ``horizon_days``" on the account's fit (``logit(fit)``, the ICP
fit probability of its firmographics) and its product usage, so the weight of fit against usage
is learned rather than fixed. The usage part is modelled the way MadKudu describes its
likelihood-to-buy models:

- **a weight per event**: every event name (ignored events and bots left out; the
  ``MAX_EVENTS`` most frequent) enters as its own feature;
- **a learned decay**: each event counts ``exp(-age of the event / τ)``; the half-life ``τ`` (and
  the regularisation) is chosen on a time-split validation (:data:`DECAYS`);
- **exposure**: a trial three days old cannot have thirty days of events, so each decayed count
  is divided by the decayed exposure ``∫ exp(-s/τ) ds`` over the account's age — a decayed rate
  per day —, and time to value enters as a censored quantity: "first value within *d* days" for
  *d* ≤ ``MIN_AGE_DAYS``, known for every scored account, plus the account's age in weekly bins;
- breadth (distinct key features so far), distinct users and integrations connected.

It is fitted on the accounts that were open at ``TRAIN_CUTS`` weekly cuts ending one horizon
before the scoring date, whose outcome is therefore known by then: no event, deal or fit after
the scoring date is read. ``usage`` is the same model at an average fit; ``pqa`` the probability.

Open accounts are ranked and banded as MadKudu publishes its likelihood-to-buy segments: the
top ``pqa_very_high`` (1 %) "very high", down to ``pqa_high`` (10 %) "high", down to
``pqa_medium`` (30 %) "medium", the rest "low".

The held-out check (:func:`pqa_check`) scores the accounts open at a cut on what was known then
and counts their conversions in the following horizon: the share of conversions held by the top
30 % (MadKudu's bar: ≥ 60 %), and the conversion rate of the top band over the low band (bar:
≥ 10×) — both for the published top band alone ("very high", 1 %) and for the top 10 % ("very
high" + "high"), each with a 95 % confidence interval (Wilson per band, MOVER-R over the Wilson
intervals for the ratio),
beside fit alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

from icpkit.config import UsageConfig
from icpkit.data.asof import deals_as_known_at
from icpkit.data.model import CrmData
from icpkit.errors import InsufficientDataError
from icpkit.profile import PqaBand, PqaCheck
from icpkit.stats import Z95, wilson_bounds
from icpkit.usage.features import bot_users, matches

BANDS = ("very high", "high", "medium", "low")
HORIZON_DAYS = 60
MIN_AGE_DAYS = 14  # an account is scored once it has two weeks of usage to judge
TRAIN_CUTS = 8  # weekly training snapshots, the newest one horizon before the scoring date
TRAIN_STEP_DAYS = 7
DECAYS = (3.0, 7.0, 14.0, 30.0, math.inf)  # candidate decay constants τ (days); inf: no decay
PENALTIES = (0.1, 1.0)  # candidate inverse regularisation strengths C
MAX_EVENTS = 40
VALUE_WITHIN = (1, 3, 7, 14)  # "first value within d days": d ≤ MIN_AGE_DAYS, never censored
AGE_BINS = (21, 28, 35, 42, 49, 56, 90)


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def open_accounts(crm: CrmData, at: date) -> pl.DataFrame:
    """Accounts whose first event is at least ``MIN_AGE_DAYS`` before ``at`` and that have no
    closed deal or subscription before it: ``account_id``, ``first`` (their first event)."""
    assert crm.usage is not None
    moment = _moment(at)
    seen = (
        crm.usage.lazy()
        .filter(pl.col("account_id").is_not_null() & (pl.col("timestamp") < moment))
        .group_by("account_id")
        .agg(pl.col("timestamp").min().alias("first"))
        .filter(pl.col("first") <= moment - timedelta(days=MIN_AGE_DAYS))
        .collect(engine="streaming")
    )
    decided: list[pl.DataFrame] = []
    if crm.deals is not None:
        decided.append(
            crm.deals.filter(
                pl.col("stage").is_in(["won", "lost"]) & (pl.col("closed_at") < at)
            ).select(pl.col("account_id").cast(pl.Utf8))
        )
    if crm.subscriptions is not None:
        decided.append(
            crm.subscriptions.filter(pl.col("start") < at).select(
                pl.col("account_id").cast(pl.Utf8)
            )
        )
    for frame in decided:
        seen = seen.join(frame, on="account_id", how="anti")
    return seen.sort("account_id")


def known_on(crm: CrmData, day: date) -> CrmData:
    """The CRM as it stood on ``day``: later events, notes and signals gone, deals created later
    gone, deals closed later (or closed with no date) still open with no amount — the backtest's
    :func:`icpkit.data.asof.deals_as_known_at` — subscriptions started later gone and
    ended later still running. The held-out check builds the fit it compares with on this, so no
    later outcome reaches it."""
    moment = _moment(day)
    deals = crm.deals
    if deals is not None:  # as the backtest sees them: later closes still open, no amount
        deals = deals_as_known_at(
            deals.filter(pl.col("created_at").is_null() | (pl.col("created_at") < day)), day
        )
    subscriptions = crm.subscriptions
    if subscriptions is not None:
        subscriptions = subscriptions.filter(
            pl.col("start").is_null() | (pl.col("start") < day)
        ).with_columns(
            pl.when(pl.col("end") >= day).then(None).otherwise(pl.col("end")).alias("end")
        )
    dated = {
        name: frame.filter(pl.col("date").is_null() | (pl.col("date") < day))
        for name in ("notes", "signals")
        if (frame := getattr(crm, name)) is not None and "date" in frame.columns
    }
    usage = crm.usage
    if usage is not None:
        usage = usage.lazy().filter(pl.col("timestamp") < moment)
    return dataclasses.replace(crm, deals=deals, subscriptions=subscriptions, usage=usage, **dated)


def conversions(crm: CrmData, start: date, days: int) -> pl.DataFrame:
    """Accounts with a won deal closed in [start, start + days)."""
    if crm.deals is None:
        return pl.DataFrame(schema={"account_id": pl.Utf8})
    end = start + timedelta(days=days)
    return (
        crm.deals.filter(
            (pl.col("stage") == "won")
            & (pl.col("closed_at") >= start)
            & (pl.col("closed_at") < end)
        )
        .select(pl.col("account_id").cast(pl.Utf8))
        .unique()
    )


def _activity(crm: CrmData, settings: UsageConfig, before: date, ids: pl.Series) -> pl.DataFrame:
    """The events before ``before`` of the accounts ``ids``: bots and ignored events left out."""
    assert crm.usage is not None
    events = crm.usage.lazy().filter(
        pl.col("account_id").is_not_null() & (pl.col("timestamp") < _moment(before))
    )
    bots = bot_users(events, settings.bot_events_per_minute).select("user_id")
    keep = pl.DataFrame({"account_id": ids.cast(pl.Utf8)}).unique().lazy()
    return (
        events.join(keep, on="account_id", how="semi")
        .join(bots, on="user_id", how="anti")
        .filter(~matches(settings.ignore_events))
        .select("account_id", "user_id", "timestamp", "event", "integration")
        .collect(engine="streaming")
    )


@dataclass(frozen=True)
class Snapshot:
    """The accounts open at ``at``: their usage before it and (for training) their outcome."""

    at: date
    accounts: pl.DataFrame  # account_id, first, age (days), converted
    events: pl.DataFrame  # their events before ``at``


def snapshot(
    crm: CrmData, settings: UsageConfig, at: date, days: int, *, label: bool = True
) -> Snapshot:
    """Open accounts at ``at`` with their events before it; ``converted`` (won in the next
    ``days``) only when ``label`` — the scored snapshot is never labelled from the future."""
    population = open_accounts(crm, at)
    moment = _moment(at)
    frame = population.with_columns(
        ((pl.lit(moment) - pl.col("first")).dt.total_seconds() / 86400).alias("age")
    )
    if label:
        won = conversions(crm, at, days).with_columns(pl.lit(True).alias("converted"))
        frame = frame.join(won, on="account_id", how="left").with_columns(
            pl.col("converted").fill_null(False)
        )
    else:
        frame = frame.with_columns(pl.lit(None, pl.Boolean).alias("converted"))
    events = _activity(crm, settings, at, frame["account_id"])
    return Snapshot(at=at, accounts=frame, events=events)


def _features(
    snap: Snapshot, settings: UsageConfig, names: list[str], tau: float
) -> tuple[pl.DataFrame, list[str]]:
    """One row per open account of ``snap``: the model's usage features (module docstring)."""
    moment = _moment(snap.at)
    ev = snap.events.with_columns(
        ((pl.lit(moment) - pl.col("timestamp")).dt.total_seconds() / 86400).alias("_ago")
    )
    weight = (-pl.col("_ago") / tau).exp() if math.isfinite(tau) else pl.lit(1.0)
    ev = ev.with_columns(weight.alias("_w"))
    per_event = (
        ev.filter(pl.col("event").is_in(names))
        .group_by("account_id", "event")
        .agg(pl.col("_w").sum())
        .pivot(on="event", index="account_id", values="_w")
    )
    rename = {n: f"rate_{i}" for i, n in enumerate(names)}
    per_event = per_event.rename({k: v for k, v in rename.items() if k in per_event.columns})
    first_value = (
        ev.filter(matches(settings.value_events))
        .group_by("account_id")
        .agg(pl.col("timestamp").min().alias("_value_at"))
    )
    other = ev.group_by("account_id").agg(
        pl.when(matches(settings.key_events))
        .then(pl.col("event"))
        .drop_nulls()
        .n_unique()
        .alias("breadth"),
        pl.col("user_id").n_unique().alias("users"),
        pl.when(matches(settings.integration_events))
        .then(pl.coalesce(pl.col("integration"), pl.col("event")))
        .drop_nulls()
        .n_unique()
        .alias("integrations"),
    )
    frame = (
        snap.accounts.select("account_id", "first", "age")
        .join(per_event, on="account_id", how="left")
        .join(first_value, on="account_id", how="left")
        .join(other, on="account_id", how="left")
    )
    age = pl.col("age")
    exposure = tau * (1 - (-age / tau).exp()) if math.isfinite(tau) else age
    rates = [f"rate_{i}" for i in range(len(names))]
    for column in rates:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(0.0).alias(column))
    to_value = (pl.col("_value_at") - pl.col("first")).dt.total_seconds() / 86400
    frame = frame.with_columns(
        *((pl.col(c).fill_null(0.0) / exposure).log1p().alias(c) for c in rates),
        *(
            (to_value < d).fill_null(False).cast(pl.Float64).alias(f"value_{d}d")
            for d in VALUE_WITHIN
        ),
        pl.col("_value_at").is_not_null().cast(pl.Float64).alias("value_yet"),
        pl.col("breadth").fill_null(0).cast(pl.Float64).log1p().alias("breadth"),
        (pl.col("breadth").fill_null(0).cast(pl.Float64) / age.log1p()).alias(
            "breadth_per_log_day"
        ),
        pl.col("users").fill_null(0).cast(pl.Float64).log1p().alias("users"),
        pl.col("integrations").fill_null(0).cast(pl.Float64).log1p().alias("integrations"),
        *(
            ((age >= lo) & (age < hi)).cast(pl.Float64).alias(f"age_{lo}")
            for lo, hi in zip(AGE_BINS, (*AGE_BINS[1:], math.inf), strict=True)
        ),
    )
    columns = [
        *rates,
        *(f"value_{d}d" for d in VALUE_WITHIN),
        "value_yet",
        "breadth",
        "breadth_per_log_day",
        "users",
        "integrations",
        *(f"age_{lo}" for lo in AGE_BINS),
    ]
    return frame.select("account_id", *columns), columns


def _fit_logit(ids: pl.Series, fit: pl.DataFrame | None) -> np.ndarray:
    """logit(fit probability) per account (missing: the median; no fit at all: zeros)."""
    if fit is None:
        return np.zeros(len(ids))
    values = (
        pl.DataFrame({"account_id": ids.cast(pl.Utf8)})
        .join(
            fit.select(pl.col("account_id").cast(pl.Utf8), pl.col("fit_probability")),
            on="account_id",
            how="left",
        )["fit_probability"]
        .cast(pl.Float64)
        .to_numpy()
        .copy()
    )
    if np.isnan(values).all():
        return np.zeros(len(ids))
    values[np.isnan(values)] = np.nanmedian(values)
    p = np.clip(values, 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class UsageModel:
    """The learned PQA model: events by name, the decay τ, the scaler and the regression."""

    names: list[str]
    tau: float
    scaler: StandardScaler
    regression: LogisticRegression
    fit_mean: float

    def matrix(
        self, snap: Snapshot, settings: UsageConfig, fit: pl.DataFrame | None
    ) -> tuple[pl.Series, np.ndarray]:
        frame, columns = _features(snap, settings, self.names, self.tau)
        x = np.column_stack(
            [frame.select(columns).to_numpy(), _fit_logit(frame["account_id"], fit)]
        )
        return frame["account_id"], x


def _train_snapshots(crm: CrmData, settings: UsageConfig, at: date, days: int) -> list[Snapshot]:
    """Open accounts at weekly cuts ending one horizon before ``at`` (outcomes known by ``at``)."""
    snaps = []
    for k in range(TRAIN_CUTS):
        cut = at - timedelta(days=days + TRAIN_STEP_DAYS * k)
        snap = snapshot(crm, settings, cut, days)
        if snap.accounts.height:
            snaps.append(snap)
    return snaps


def _design(
    snaps: list[Snapshot],
    settings: UsageConfig,
    names: list[str],
    tau: float,
    fit: pl.DataFrame | None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for snap in snaps:
        frame, columns = _features(snap, settings, names, tau)
        x = np.column_stack(
            [frame.select(columns).to_numpy(), _fit_logit(frame["account_id"], fit)]
        )
        y = (
            frame.select("account_id")
            .join(snap.accounts.select("account_id", "converted"), on="account_id", how="left")[
                "converted"
            ]
            .to_numpy()
            .astype(bool)
        )
        xs.append(x)
        ys.append(y)
    return xs, ys


def _regression(
    x: np.ndarray, y: np.ndarray, penalty: float
) -> tuple[StandardScaler, LogisticRegression]:
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=penalty, max_iter=2000).fit(scaler.transform(x), y)
    return scaler, model


def fit_usage_model(
    crm: CrmData,
    settings: UsageConfig,
    at: date,
    days: int = HORIZON_DAYS,
    fit: pl.DataFrame | None = None,
) -> UsageModel:
    """The PQA model learned on the accounts open before ``at`` whose outcome ``at`` knows."""
    snaps = _train_snapshots(crm, settings, at, days)
    y_all = (
        np.concatenate([s.accounts["converted"].to_numpy() for s in snaps])
        if snaps
        else np.array([])
    )
    positives = int(y_all.sum()) if len(y_all) else 0
    if len(y_all) < 30 or positives < 5 or len(y_all) - positives < 5:
        raise InsufficientDataError(
            f"the PQA model needs ≥ 30 account-snapshots open between "
            f"{at - timedelta(days=days + TRAIN_STEP_DAYS * (TRAIN_CUTS - 1))} and "
            f"{at - timedelta(days=days)} with ≥ 5 conversions and ≥ 5 non-conversions in the "
            f"next {days} days; found {len(y_all)} with {positives} conversions"
        )
    counts = (
        pl.concat([s.events.select("event") for s in snaps])
        .group_by("event")
        .len()
        .sort(["len", "event"], descending=[True, False])
    )
    names = counts["event"].head(MAX_EVENTS).to_list()
    # decay and regularisation: trained on the older snapshots, judged on the newest one
    best = (math.inf, DECAYS[-1], PENALTIES[-1])
    designs: dict[float, tuple[list[np.ndarray], list[np.ndarray]]] = {}  # by τ, built once
    if len(snaps) >= 3:
        for tau in DECAYS:
            xs, ys = designs[tau] = _design(snaps, settings, names, tau, fit)
            x_old, y_old = np.vstack(xs[2:]), np.concatenate(ys[2:])
            if y_old.sum() < 5 or ys[0].sum() < 1 or (~ys[0]).sum() < 1:
                continue
            for penalty in PENALTIES:
                scaler, model = _regression(x_old, y_old, penalty)
                loss = log_loss(
                    ys[0], model.predict_proba(scaler.transform(xs[0]))[:, 1], labels=[False, True]
                )
                if loss < best[0]:
                    best = (loss, tau, penalty)
    _, tau, penalty = best
    xs, ys = designs[tau] if tau in designs else _design(snaps, settings, names, tau, fit)
    x, y = np.vstack(xs), np.concatenate(ys)
    scaler, model = _regression(x, y, penalty)
    return UsageModel(
        names=names,
        tau=tau,
        scaler=scaler,
        regression=model,
        fit_mean=float(x[:, -1].mean()),
    )


def band_of(rank_share: pl.Expr, settings: UsageConfig) -> pl.Expr:
    return (
        pl.when(rank_share <= settings.pqa_very_high)
        .then(pl.lit("very high"))
        .when(rank_share <= settings.pqa_high)
        .then(pl.lit("high"))
        .when(rank_share <= settings.pqa_medium)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )


def _scored(
    model: UsageModel, snap: Snapshot, settings: UsageConfig, fit: pl.DataFrame | None
) -> pl.DataFrame:
    ids, x = model.matrix(snap, settings, fit)
    z = model.scaler.transform(x)
    logit = model.regression.decision_function(z)
    # usage: the same account at an average fit (the fit term replaced by its training mean)
    fit_coef = model.regression.coef_[0][-1] / model.scaler.scale_[-1]
    usage_logit = logit - fit_coef * (x[:, -1] - model.fit_mean)
    fit_p = 1 / (1 + np.exp(-x[:, -1])) if fit is not None else np.ones(len(ids))
    frame = pl.DataFrame(
        {
            "account_id": ids,
            "fit": fit_p,
            "usage": 1 / (1 + np.exp(-usage_logit)),
            "pqa": 1 / (1 + np.exp(-logit)),
        }
    )
    return frame.join(snap.accounts.select("account_id", "age", "converted"), on="account_id")


def pqa_scores(
    crm: CrmData,
    settings: UsageConfig,
    at: date,
    fit: pl.DataFrame | None = None,
    days: int = HORIZON_DAYS,
) -> pl.DataFrame:
    """Open accounts at ``at`` ranked by PQA, with their band.

    ``fit``: ``account_id``, ``fit_probability`` (absent: usage alone). Columns: account_id,
    fit, usage, pqa, age (days since the first event), rank, band; ``converted`` is blank: the
    scores never read what happened on or after ``at``.
    """
    model = fit_usage_model(crm, settings, at, days, fit)
    snap = snapshot(crm, settings, at, days, label=False)
    return _ranked(_scored(model, snap, settings, fit), "pqa", settings)


def _ranked(frame: pl.DataFrame, score: str, settings: UsageConfig) -> pl.DataFrame:
    n = max(frame.height, 1)
    # ties (fit alone has few distinct values) broken by a hash of the account id: never by
    # row order, nor by the id itself, which may follow sign-up order and so trial age
    ranked = (
        frame.with_columns(pl.col("account_id").hash(seed=28).alias("_tie"))
        .sort([score, "_tie"], descending=[True, False])
        .drop("_tie")
        .with_row_index("rank", offset=1)
    )
    return ranked.with_columns(band_of(pl.col("rank") / n, settings).alias("band"))


def wilson(conversions: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a rate (0, 1 when there are no accounts)."""
    lo, hi = wilson_bounds(conversions, n, z)
    return float(lo), float(hi)


def ratio_interval(a: int, n1: int, c: int, n2: int, z: float = Z95) -> tuple[float, float] | None:
    """95 % interval of the rate ratio (a/n1) ÷ (c/n2) by MOVER-R (Donner & Zou, 2012) over the
    two Wilson intervals; the upper end is ``inf`` when the low band has no conversion. Katz's
    log interval is not used: its variance ``1/a - 1/n1`` is zero when a band of five converts
    five times, which claims a certainty five accounts cannot give. None when a group is empty.
    """
    if n1 == 0 or n2 == 0:
        return None
    p1, p2 = a / n1, c / n2
    l1, u1 = wilson(a, n1, z)
    l2, u2 = wilson(c, n2, z)
    if c == 0:  # MOVER-R is not defined at a zero rate: the plain ratio of the Wilson ends
        return l1 / u2, math.inf
    product = p1 * p2
    lower_den = u2 * (2 * p2 - u2)
    lower = 0.0
    if lower_den != 0:
        lower = (
            product - math.sqrt(max(product**2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2), 0.0))
        ) / lower_den
    upper_den = l2 * (2 * p2 - l2)
    upper = math.inf
    if upper_den > 0:
        upper = (
            product + math.sqrt(max(product**2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2), 0.0))
        ) / upper_den
    return max(lower, 0.0), upper


@dataclass(frozen=True)
class _Summary:
    share: float
    bands: list[PqaBand]
    top10: tuple[float | None, tuple[float, float] | None]
    top1: tuple[float | None, tuple[float, float] | None]


def _ratio(frame: pl.DataFrame, top: list[str]) -> tuple[float | None, tuple[float, float] | None]:
    high = frame.filter(pl.col("band").is_in(top))
    low = frame.filter(pl.col("band") == "low")
    a, n1 = int(high["converted"].sum()), high.height
    c, n2 = int(low["converted"].sum()), low.height
    ratio = (a / n1) / (c / n2) if n1 and n2 and c else None
    return ratio, ratio_interval(a, n1, c, n2)


def _summary(frame: pl.DataFrame) -> _Summary:
    total = int(frame["converted"].sum())
    top30 = frame.filter(pl.col("band") != "low")
    share = int(top30["converted"].sum()) / total if total else 0.0
    bands = []
    for band in BANDS:
        rows = frame.filter(pl.col("band") == band)
        n, c = rows.height, int(rows["converted"].sum())
        lo, hi = wilson(c, n)
        bands.append(
            PqaBand(
                band=band,
                accounts=n,
                conversions=c,
                rate=c / n if n else 0.0,
                rate_low=lo,
                rate_high=hi,
            )
        )
    return _Summary(
        share=share,
        bands=bands,
        top10=_ratio(frame, ["very high", "high"]),
        top1=_ratio(frame, ["very high"]),
    )


def pqa_check(
    crm: CrmData,
    settings: UsageConfig,
    cut: date,
    fit: pl.DataFrame | None = None,
    days: int = HORIZON_DAYS,
) -> PqaCheck:
    """The held-out check at ``cut`` (see the module docstring), PQA beside fit alone.

    The accounts are scored exactly as :func:`pqa_scores` would have scored them on ``cut``;
    only then are their conversions in ``[cut, cut + days)`` joined on.
    """
    scored = pqa_scores(crm, settings, cut, fit, days).drop("converted")
    won = conversions(crm, cut, days).with_columns(pl.lit(True).alias("converted"))
    scored = scored.join(won, on="account_id", how="left").with_columns(
        pl.col("converted").fill_null(False)
    )
    pqa = _summary(scored)
    by_fit = _summary(_ranked(scored.drop("rank", "band"), "fit", settings))
    return PqaCheck(
        cut=cut.isoformat(),
        horizon_days=days,
        accounts=scored.height,
        conversions=int(scored["converted"].sum()),
        top30_share_pqa=pqa.share,
        top30_share_fit=by_fit.share,
        top_vs_bottom_pqa=pqa.top10[0],
        top_vs_bottom_fit=by_fit.top10[0],
        top_vs_bottom_pqa_ci=pqa.top10[1],
        top_vs_bottom_fit_ci=by_fit.top10[1],
        very_high_vs_low_pqa=pqa.top1[0],
        very_high_vs_low_fit=by_fit.top1[0],
        very_high_vs_low_pqa_ci=pqa.top1[1],
        very_high_vs_low_fit_ci=by_fit.top1[1],
        bands=pqa.bands,
        bands_fit=by_fit.bands,
    )
