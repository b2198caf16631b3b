"""Product-qualified accounts: which open, free or trial accounts to work, and the held-out check.

The PQA score is fit × usage: ``fit`` is the ICP fit probability of the account's firmographics
(the profile's scorecard with the behavioural columns blanked, so usage is not counted twice) and
``usage`` the probability that an open account converts within ``horizon_days``, learned from its
behavioural features by a logistic regression on the accounts that were open one horizon
earlier (learned weights per feature, as MadKudu learns a weight per event). Open accounts are
ranked and banded like MadKudu's tiers: the top ``pqa_very_high`` (1 %) "very high", down to
``pqa_high`` (10 %) "high", down to ``pqa_medium`` (30 %) "medium", the rest "low".

The held-out check (:func:`pqa_check`) scores the accounts open at a cut on what was known then
and counts their conversions in the following horizon: the share of conversions held by the top
30 % (MadKudu's bar: ≥ 60 %) and the top band's (very high + high) conversion rate over the low
band's (bar: ≥ 10×), each beside fit alone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from icpkit.config import UsageConfig
from icpkit.data.model import CrmData
from icpkit.errors import InsufficientDataError
from icpkit.profile import PqaBand, PqaCheck
from icpkit.usage.features import FEATURES, seats_of, usage_features

BANDS = ("very high", "high", "medium", "low")
HORIZON_DAYS = 60
MIN_AGE_DAYS = 14  # an account is scored once it has two weeks of usage to judge


def open_accounts(crm: CrmData, at: date) -> pl.DataFrame:
    """Accounts whose first event is at least ``MIN_AGE_DAYS`` before ``at`` and that have no
    closed deal or subscription before it."""
    assert crm.usage is not None
    moment = datetime(at.year, at.month, at.day)
    seen = (
        crm.usage.lazy()
        .filter(pl.col("account_id").is_not_null() & (pl.col("timestamp") < moment))
        .group_by("account_id")
        .agg(pl.col("timestamp").min().alias("first"))
        .filter(pl.col("first") <= moment - timedelta(days=MIN_AGE_DAYS))
        .select("account_id")
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
    return seen


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


def _matrix(frame: pl.DataFrame) -> np.ndarray:
    columns = []
    for name in FEATURES:
        values = frame[name].cast(pl.Float64).to_numpy().copy()
        missing = np.isnan(values)
        if name == "usage_days_to_value":
            values[missing] = 365.0  # never reached value: as late as can be
        else:
            values[missing] = 0.0
        columns.append(np.log1p(np.clip(values, 0, None)))
        columns.append(missing.astype(float))
    return np.column_stack(columns)


def _snapshot(crm: CrmData, settings: UsageConfig, at: date, days: int) -> pl.DataFrame:
    """Open accounts at ``at`` with their features then and whether they converted after."""
    assert crm.usage is not None
    population = open_accounts(crm, at)
    features = usage_features(
        crm.usage.lazy(),
        settings,
        as_of=at,
        seats=seats_of(crm.accounts, crm.contacts, settings),
        accounts=population["account_id"],
    ).frame
    won = conversions(crm, at, days).with_columns(pl.lit(True).alias("converted"))
    return features.join(won, on="account_id", how="left").with_columns(
        pl.col("converted").fill_null(False)
    )


def fit_usage_model(crm: CrmData, settings: UsageConfig, at: date, days: int = HORIZON_DAYS):
    """The usage model learned on the accounts open one horizon before ``at``."""
    train = _snapshot(crm, settings, at - timedelta(days=days), days)
    y = train["converted"].to_numpy()
    if train.height < 30 or y.sum() < 5 or (~y).sum() < 5:
        raise InsufficientDataError(
            f"the PQA usage model needs ≥ 30 accounts open on {at - timedelta(days=days)} with ≥ 5 "
            f"conversions and ≥ 5 non-conversions in the next {days} days; found "
            f"{train.height} accounts, {int(y.sum())} conversions"
        )
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(_matrix(train), y)
    return model


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


def pqa_scores(
    crm: CrmData,
    settings: UsageConfig,
    at: date,
    fit: pl.DataFrame | None = None,
    days: int = HORIZON_DAYS,
) -> pl.DataFrame:
    """Open accounts at ``at`` ranked by PQA = fit × usage, with their band.

    ``fit``: ``account_id``, ``fit_probability`` (absent: 1 for every account, usage alone).
    Columns: account_id, fit, usage, pqa, rank, band, and the features.
    """
    model = fit_usage_model(crm, settings, at, days)
    snap = _snapshot(crm, settings, at, days)
    usage = model.predict_proba(_matrix(snap))[:, 1]
    out = snap.with_columns(pl.Series("usage", usage))
    if fit is not None:
        out = out.join(
            fit.select(pl.col("account_id").cast(pl.Utf8), pl.col("fit_probability").alias("fit")),
            on="account_id",
            how="left",
        ).with_columns(pl.col("fit").fill_null(pl.col("fit").median()).fill_null(1.0))
    else:
        out = out.with_columns(pl.lit(1.0).alias("fit"))
    out = out.with_columns((pl.col("fit") * pl.col("usage")).alias("pqa"))
    return _ranked(out, "pqa", settings)


def _ranked(frame: pl.DataFrame, score: str, settings: UsageConfig) -> pl.DataFrame:
    n = max(frame.height, 1)
    ranked = frame.sort(score, descending=True).with_row_index("rank", offset=1)
    return ranked.with_columns(band_of(pl.col("rank") / n, settings).alias("band"))


def _summary(frame: pl.DataFrame) -> tuple[float, float | None, list[PqaBand]]:
    total = int(frame["converted"].sum())
    top30 = frame.filter(pl.col("band") != "low")
    share = int(top30["converted"].sum()) / total if total else 0.0
    bands = []
    for band in BANDS:
        rows = frame.filter(pl.col("band") == band)
        n, c = rows.height, int(rows["converted"].sum())
        bands.append(PqaBand(band=band, accounts=n, conversions=c, rate=c / n if n else 0.0))
    top = frame.filter(pl.col("band").is_in(["very high", "high"]))
    low = frame.filter(pl.col("band") == "low")
    top_rate = top["converted"].mean() if top.height else None
    low_rate = low["converted"].mean() if low.height else None
    ratio = None
    if isinstance(top_rate, float) and isinstance(low_rate, float) and low_rate > 0:
        ratio = top_rate / low_rate
    return share, ratio, bands


def pqa_check(
    crm: CrmData,
    settings: UsageConfig,
    cut: date,
    fit: pl.DataFrame | None = None,
    days: int = HORIZON_DAYS,
) -> PqaCheck:
    """The held-out check at ``cut`` (see the module docstring), PQA beside fit alone."""
    scored = pqa_scores(crm, settings, cut, fit, days)
    share, ratio, bands = _summary(scored)
    by_fit = _ranked(scored.drop("rank", "band"), "fit", settings)
    fit_share, fit_ratio, _ = _summary(by_fit)
    return PqaCheck(
        cut=cut.isoformat(),
        horizon_days=days,
        accounts=scored.height,
        conversions=int(scored["converted"].sum()),
        top30_share_pqa=share,
        top30_share_fit=fit_share,
        top_vs_bottom_pqa=ratio,
        top_vs_bottom_fit=fit_ratio,
        bands=bands,
    )
