"""Behavioural features per account, as of a date per account (never an event on or after it).

Every feature is measured on the events *before* each account's cut: a global as-of date, or a
date per account (``cuts``: its first outcome, so discovery never sees behaviour that followed
the outcome it explains — the leakage guard of the behavioural traits). Bot users and ignored
events (``[usage] ignore_events``) never count. The columns (all prefixed ``usage_``):

- ``active_users``: distinct users in the last ``recent_weeks`` weeks;
- ``seat_share``: active users ÷ seats (accounts' ``seats_column``), else ÷ the account's contacts;
- ``breadth``: distinct key features (``key_events``) ever used;
- ``events_per_user`` (depth): events in the recent weeks per active user;
- ``active_days_per_week`` (frequency): days with an event in the recent weeks ÷ those weeks;
- ``trend``: events per week in the recent weeks ÷ events per week in the ``baseline_weeks``
  before them (+1 each; blank when the account is younger than both windows together);
- ``days_to_value``: days from the start (first event, or first won deal) to the first
  ``value_events`` event (blank when none yet);
- ``integrations``: distinct integrations connected in the first ``early_days`` days;
- ``count_<name>``: events matching each ``counts`` pattern.

The aggregation is one lazy group-by over the events, run by polars' streaming engine, so a file
of 10 million events is never held in memory as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from icpkit.config import UsageConfig

PREFIX = "usage_"
FEATURES = (
    "usage_active_users",
    "usage_seat_share",
    "usage_breadth",
    "usage_events_per_user",
    "usage_active_days_per_week",
    "usage_trend",
    "usage_days_to_value",
    "usage_integrations",
)
# features that are counts: zero (not blank) for an account without events
ZERO_FILLED = ("usage_active_users", "usage_breadth", "usage_integrations", "usage_events")


def glob_regex(patterns: list[str]) -> str:
    """Event-name globs (* any text, ? one character, case-insensitive) as one anchored regex."""
    parts = []
    for pattern in patterns:
        escaped = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        parts.append(f"^{escaped}$")
    return "(?i)" + "|".join(parts) if parts else "^$a"  # "^$a" matches nothing


def matches(patterns: list[str]) -> pl.Expr:
    return pl.col("event").str.contains(glob_regex(patterns))


def bot_users(events: pl.LazyFrame, per_minute: int) -> pl.LazyFrame:
    """Users with at least ``per_minute`` events within one calendar minute, and their peak.

    Only users with at least ``per_minute`` events in all are counted by minute: one key per
    (user, minute) for every user would hold nearly one key per event of a large export. That
    pre-filter counts events per 64-bit hash of the user id (three times faster than per string
    over 10M events): a collision only adds two users' counts, so it keeps every heavy user and
    at most a few more, which the exact per-(user, minute) count then judges."""
    key = pl.col("user_id").hash().alias("_user_hash")
    events = events.filter(pl.col("user_id").is_not_null())  # as the join on user_id did
    heavy = (
        events.group_by(key)
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= per_minute)
        .select("_user_hash")
    )
    return (
        events.with_columns(key)
        .join(heavy, on="_user_hash", how="semi")
        .group_by("user_id", pl.col("timestamp").dt.truncate("1m").alias("minute"))
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= per_minute)
        .group_by("user_id")
        .agg(pl.col("n").max().alias("peak_per_minute"))
    )


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


@dataclass(frozen=True)
class UsageFeatures:
    """One row per account with the ``usage_`` features, and what was left out, in words."""

    frame: pl.DataFrame
    notes: tuple[str, ...] = ()
    n_bots: int = 0
    columns: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_accounts": self.frame.height,
            "columns": list(self.columns),
            "n_bots": self.n_bots,
            "notes": list(self.notes),
        }


def usage_features(
    events: pl.LazyFrame,
    settings: UsageConfig,
    *,
    as_of: date | datetime | None = None,
    cuts: pl.DataFrame | None = None,
    starts: pl.DataFrame | None = None,
    seats: pl.DataFrame | None = None,
    accounts: pl.Series | None = None,
    exclude_bots: bool = True,
) -> UsageFeatures:
    """Behavioural features per account (see the module docstring).

    Parameters
    ----------
    events : mapped canonical events (``account_id``, ``user_id``, ``timestamp``, ``event``,
        ``value``, ``integration``), lazy.
    settings : the ``[usage]`` section.
    as_of : events on or after this moment never count (default: after the last event).
    cuts : optional ``account_id``, ``cut`` (date or datetime): a per-account as-of, earlier
        than ``as_of`` (an account without a cut uses ``as_of``).
    starts : optional ``account_id``, ``start``: the account's clock start when
        ``settings.start == "deal_close"`` (else its first event).
    seats : optional ``account_id``, ``seats`` (seats or contacts per account).
    accounts : optional account ids: every one gets a row (zero counts when it has no events).
    """
    events = events.filter(pl.col("account_id").is_not_null() & pl.col("timestamp").is_not_null())
    notes: list[str] = []
    n_bots = 0
    if exclude_bots:
        bots = bot_users(events, settings.bot_events_per_minute).collect(engine="streaming")
        n_bots = bots.height
        if n_bots:
            events = events.join(bots.lazy().select("user_id"), on="user_id", how="anti")
            notes.append(
                f"{n_bots:,} bot users (≥ {settings.bot_events_per_minute:,} events in a "
                "minute) left out of the features"
            )
    events = events.filter(~matches(settings.ignore_events))
    end = _as_datetime(as_of) if as_of is not None else None
    if cuts is not None and cuts.height:
        cut_frame = cuts.select(
            pl.col("account_id").cast(pl.Utf8), pl.col("cut").cast(pl.Datetime("us"))
        )
        events = events.join(cut_frame.lazy(), on="account_id", how="left")
        fallback = pl.lit(end, pl.Datetime("us")) if end is not None else pl.lit(None)
        cut_expr = pl.coalesce(pl.col("cut"), fallback)
        if end is not None:
            cut_expr = pl.min_horizontal(cut_expr, pl.lit(end, pl.Datetime("us")))
        events = events.with_columns(cut_expr.alias("cut"))
    else:
        events = events.with_columns(pl.lit(end, pl.Datetime("us")).alias("cut"))
    if end is None:  # no global as-of: after the last event (per account when no cut either)
        last = pl.col("timestamp").max().over("account_id") + pl.duration(microseconds=1)
        events = events.with_columns(pl.coalesce(pl.col("cut"), last).alias("cut"))
    events = events.filter(pl.col("timestamp") < pl.col("cut"))
    if settings.start == "deal_close" and starts is not None:
        start_frame = starts.select(
            pl.col("account_id").cast(pl.Utf8), pl.col("start").cast(pl.Datetime("us"))
        )
        events = events.join(start_frame.lazy(), on="account_id", how="left")
        start = pl.coalesce(pl.col("start").min(), pl.col("timestamp").min())
    else:
        start = pl.col("timestamp").min()
    # Without common-subplan elimination: the integrations' group-by and the main one read the
    # same events, and a shared subplan is materialised whole (10M rows) to feed both; two
    # streamed reads of the events hold far less.
    frame = _aggregate(events, settings, start).collect(
        engine="streaming", optimizations=pl.QueryOptFlags(comm_subplan_elim=False)
    )
    frame = _derived(frame, settings, seats)
    if accounts is not None:
        ids = pl.DataFrame({"account_id": accounts.cast(pl.Utf8)}).unique(maintain_order=True)
        frame = ids.join(frame, on="account_id", how="left").with_columns(
            pl.col(c).fill_null(0) for c in frame.columns if c in ZERO_FILLED or "_count_" in c
        )
    internal = ("usage_events", "usage_start", "usage_as_of")
    columns = tuple(c for c in frame.columns if c.startswith(PREFIX) and c not in internal)
    return UsageFeatures(frame=frame, notes=tuple(notes), n_bots=n_bots, columns=columns)


def _aggregate(events: pl.LazyFrame, settings: UsageConfig, start: pl.Expr) -> pl.LazyFrame:
    """One group-by of plain aggregations over row-level flags (a filter inside an aggregation, or
    an expression mixing a row with its group's minimum, makes polars evaluate group by group).
    The integrations connected in the first ``early_days`` need each account's start, so they are
    a second, small group-by over the integration events only, joined on."""
    cut = pl.col("cut")
    ts = pl.col("timestamp")
    recent_start = cut - pl.duration(weeks=settings.recent_weeks)
    base_start = recent_start - pl.duration(weeks=settings.baseline_weeks)
    counts = {f"usage_count_{_snake(n)}": p for n, p in settings.counts.items()}
    flagged = events.with_columns(
        (ts >= recent_start).alias("_recent"),
        ((ts >= base_start) & (ts < recent_start)).alias("_baseline"),
        matches(settings.key_events).alias("_key"),
        matches(settings.value_events).alias("_value"),
        matches(settings.integration_events).alias("_connects"),
        *(matches([p]).alias(f"_{c}") for c, p in counts.items()),
    )
    recent = pl.col("_recent")
    main = flagged.group_by("account_id").agg(
        pl.len().alias("usage_events"),
        start.alias("_start"),
        cut.first().alias("_cut"),
        pl.when(recent).then(pl.col("user_id")).drop_nulls().n_unique().alias("usage_active_users"),
        recent.sum().alias("_recent_events"),
        pl.col("_baseline").sum().alias("_baseline_events"),
        pl.when(recent).then(ts.dt.date()).drop_nulls().n_unique().alias("_active_days"),
        # distinct names of a few dozen events: counted as categories (exact, and far faster
        # than distinct strings per group)
        pl.when(pl.col("_key"))
        .then(pl.col("event").cast(pl.Categorical))
        .drop_nulls()
        .n_unique()
        .alias("usage_breadth"),
        pl.when(pl.col("_value")).then(ts).min().alias("_first_value"),
        *(pl.col(f"_{c}").sum().alias(c) for c in counts),
    )
    connections = (
        flagged.filter(pl.col("_connects"))
        .with_columns(pl.coalesce(pl.col("integration"), pl.col("event")).alias("_name"))
        .group_by("account_id", "_name")
        .agg(ts.min().alias("_first"))
    )
    early = (
        connections.join(main.select("account_id", "_start"), on="account_id", how="inner")
        .filter(pl.col("_first") < pl.col("_start") + pl.duration(days=settings.early_days))
        .group_by("account_id")
        .agg(pl.len().cast(pl.UInt32).alias("usage_integrations"))
    )
    return main.join(early, on="account_id", how="left").with_columns(
        pl.col("usage_integrations").fill_null(0)
    )


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "x"


def _derived(
    frame: pl.DataFrame, settings: UsageConfig, seats: pl.DataFrame | None
) -> pl.DataFrame:
    weeks = settings.recent_weeks
    frame = frame.with_columns(
        pl.when(pl.col("usage_active_users") > 0)
        .then(pl.col("_recent_events") / pl.col("usage_active_users"))
        .otherwise(0.0)
        .alias("usage_events_per_user"),
        (pl.col("_active_days") / weeks).alias("usage_active_days_per_week"),
        pl.when(
            pl.col("_start") <= pl.col("_cut") - pl.duration(weeks=weeks + settings.baseline_weeks)
        )
        .then(
            (pl.col("_recent_events") / weeks + 1)
            / (pl.col("_baseline_events") / settings.baseline_weeks + 1)
        )
        .alias("usage_trend"),
        ((pl.col("_first_value") - pl.col("_start")).dt.total_seconds() / 86400)
        .clip(lower_bound=0)
        .alias("usage_days_to_value"),
    )
    if seats is not None and seats.height:
        frame = frame.join(
            seats.select(pl.col("account_id").cast(pl.Utf8), pl.col("seats").cast(pl.Float64)),
            on="account_id",
            how="left",
        ).with_columns(
            pl.when(pl.col("seats") > 0)
            .then(pl.col("usage_active_users") / pl.col("seats"))
            .alias("usage_seat_share")
        )
    else:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias("usage_seat_share"))
    counts = [c for c in frame.columns if c.startswith("usage_count_")]
    return frame.select(
        "account_id",
        *FEATURES,
        *counts,
        "usage_events",
        pl.col("_start").alias("usage_start"),
        pl.col("_cut").alias("usage_as_of"),
    )


def seats_of(
    accounts: pl.DataFrame, contacts: pl.DataFrame | None, settings: UsageConfig
) -> pl.DataFrame | None:
    """Seats per account: the configured accounts column, else the number of contacts."""
    column = settings.seats_column
    if column in accounts.columns and accounts.schema[column].is_numeric():
        return accounts.select("account_id", pl.col(column).alias("seats"))
    if contacts is not None and contacts.height:
        return contacts.group_by("account_id").agg(pl.len().cast(pl.Float64).alias("seats"))
    return None


def outcome_cuts(deals: pl.DataFrame | None, subscriptions: pl.DataFrame | None) -> pl.DataFrame:
    """Each account's first outcome date: its first closed deal, else its first subscription.

    Features of an account are measured strictly before this day, so behaviour that followed the
    outcome (using the paid product, billing pages) can never explain it.
    """
    parts = []
    if deals is not None and "closed_at" in deals.columns:
        parts.append(
            deals.filter(pl.col("stage").is_in(["won", "lost"]) & pl.col("closed_at").is_not_null())
            .group_by("account_id")
            .agg(pl.col("closed_at").min().alias("cut"))
        )
    if subscriptions is not None and "start" in subscriptions.columns:
        parts.append(
            subscriptions.filter(pl.col("start").is_not_null())
            .group_by("account_id")
            .agg(pl.col("start").min().alias("cut"))
        )
    if not parts:
        return pl.DataFrame(schema={"account_id": pl.Utf8, "cut": pl.Date})
    both = pl.concat([p.with_columns(pl.col("cut").cast(pl.Date)) for p in parts])
    return both.group_by("account_id").agg(pl.col("cut").min())


def deal_starts(deals: pl.DataFrame | None) -> pl.DataFrame | None:
    """Each account's first won deal's close date (``[usage] start = "deal_close"``)."""
    if deals is None or "closed_at" not in deals.columns:
        return None
    return (
        deals.filter((pl.col("stage") == "won") & pl.col("closed_at").is_not_null())
        .group_by("account_id")
        .agg(pl.col("closed_at").min().alias("start"))
    )


def after(moment: date | datetime, days: int) -> datetime:
    return _as_datetime(moment) + timedelta(days=days)
