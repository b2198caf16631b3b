"""Usage surges and drops as signal types, so the signals machinery learns their lift and decay.

For each account, weekly event counts are compared window by window: the last
``signal_window_days`` against the same length before. A ratio ≥ ``surge_ratio`` is a
``usage_surge``, ≤ ``drop_ratio`` a ``usage_drop`` (with at least ``signal_min_events`` events in
the two windows). The value reads "3× in 2 weeks", so ``prioritize`` can say "usage up 3× in 2
weeks 5 days ago". One signal per account and type per two windows: a long surge is one event.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from icpkit.config import UsageConfig
from icpkit.usage.features import matches

SIGNAL_TYPES = ("usage_surge", "usage_drop")


def usage_signals(
    events: pl.LazyFrame, settings: UsageConfig, as_of: date | datetime | None = None
) -> pl.DataFrame:
    """Signal rows (``account_id``, ``domain``, ``date``, ``type``, ``value``) from mapped events."""
    weeks = max(settings.signal_window_days // 7, 1)
    events = events.filter(pl.col("account_id").is_not_null() & ~matches(settings.ignore_events))
    if as_of is not None:
        events = events.filter(pl.col("timestamp") < pl.lit(as_of).cast(pl.Datetime("us")))
    weekly = (
        events.group_by("account_id", pl.col("timestamp").dt.truncate("1w").dt.date().alias("week"))
        .agg(pl.len().alias("n"))
        .collect(engine="streaming")
    )
    empty = pl.DataFrame(
        schema={
            "account_id": pl.Utf8,
            "domain": pl.Utf8,
            "date": pl.Date,
            "type": pl.Utf8,
            "value": pl.Utf8,
        }
    )
    if weekly.height == 0:
        return empty
    span = weekly.group_by("account_id").agg(
        pl.date_ranges(pl.col("week").min(), pl.col("week").max(), "1w").first().alias("week")
    )
    grid = span.explode("week").join(weekly, on=["account_id", "week"], how="left")
    grid = grid.with_columns(pl.col("n").fill_null(0)).sort("account_id", "week")
    recent = pl.col("n").rolling_sum(weeks).over("account_id")
    grid = grid.with_columns(recent.alias("recent")).with_columns(
        pl.col("recent").shift(weeks).over("account_id").alias("before")
    )
    ratio = (pl.col("recent") + 1) / (pl.col("before") + 1)
    enough = (pl.col("recent") + pl.col("before")) >= settings.signal_min_events
    kind = (
        pl.when(enough & (ratio >= settings.surge_ratio))
        .then(pl.lit("usage_surge"))
        .when(enough & (ratio <= settings.drop_ratio))
        .then(pl.lit("usage_drop"))
    )
    flagged = grid.with_columns(kind.alias("type"), ratio.alias("ratio")).filter(
        pl.col("type").is_not_null()
    )
    # one signal per run: drop a flag when the same type fired within the last two windows
    flagged = flagged.sort("account_id", "week").with_columns(
        (pl.col("week") - pl.col("week").shift(1).over("account_id", "type"))
        .dt.total_days()
        .alias("gap")
    )
    flagged = flagged.filter(pl.col("gap").is_null() | (pl.col("gap") > 14 * weeks))
    multiple = (
        pl.when(pl.col("type") == "usage_surge")
        .then(pl.col("ratio"))
        .otherwise(1 / pl.col("ratio"))
    )
    return flagged.select(
        pl.col("account_id").cast(pl.Utf8),
        pl.lit(None, pl.Utf8).alias("domain"),
        (pl.col("week") + pl.duration(days=7)).alias("date"),  # known at the end of the week
        pl.col("type"),
        pl.concat_str(
            multiple.round(0).cast(pl.Int64).clip(lower_bound=2).cast(pl.Utf8),
            pl.lit(f"× in {weeks} week{'s' if weeks != 1 else ''}"),
        ).alias("value"),
    ).cast(empty.schema)
