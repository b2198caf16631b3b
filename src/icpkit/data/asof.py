"""Tables as the CRM showed them on a past day (the backtest's split, the PQA check's cut)."""

from __future__ import annotations

from datetime import date

import polars as pl

CLOSED = ("won", "lost")


def deals_as_known_at(deals: pl.DataFrame, cut: date) -> pl.DataFrame:
    """Deals as the CRM showed them on the cut date: later closes are still open."""
    stage = pl.col("stage").cast(pl.Utf8).str.to_lowercase()
    if "closed_at" in deals.columns:
        unknown = stage.is_in(CLOSED) & (
            pl.col("closed_at").is_null() | (pl.col("closed_at") >= cut)
        )
    else:  # no close dates: whether a deal had closed by the cut cannot be known
        unknown = stage.is_in(CLOSED)
    updates = [pl.when(unknown).then(pl.lit("open")).otherwise(pl.col("stage")).alias("stage")]
    if "closed_at" in deals.columns:
        updates.append(
            pl.when(unknown).then(None).otherwise(pl.col("closed_at")).alias("closed_at")
        )
    if "amount" in deals.columns:
        updates.append(pl.when(unknown).then(None).otherwise(pl.col("amount")).alias("amount"))
    return deals.with_columns(updates)
