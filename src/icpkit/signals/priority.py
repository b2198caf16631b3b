"""Who to work this week: fit tier crossed with intent, as a matrix, never one blended number.

Fit says *whether* an account is worth winning; intent says *whether now* is the time. Blending
them into one score would let a hot account that never fits outrank a fitting one, or bury a
Tier 1 account in a busy week. The matrix keeps both visible: Tier 1 x hot = work now;
Non-fit x hot = do not chase, however hot.
"""

from __future__ import annotations

import polars as pl

from icpkit.vocab import TIERS

BANDS = ("hot", "warm", "cold")
# The actions, in the order they are worked.
ACTIONS = ("work now", "work this week", "nurture", "watch", "do not chase")
MATRIX: dict[tuple[str, str], str] = {
    ("Tier 1", "hot"): "work now",
    ("Tier 1", "warm"): "work this week",
    ("Tier 1", "cold"): "nurture",
    ("Tier 2", "hot"): "work this week",
    ("Tier 2", "warm"): "nurture",
    ("Tier 2", "cold"): "nurture",
    ("Tier 3", "hot"): "watch",
    ("Tier 3", "warm"): "watch",
    ("Tier 3", "cold"): "watch",
    ("Non-fit", "hot"): "do not chase",
    ("Non-fit", "warm"): "do not chase",
    ("Non-fit", "cold"): "do not chase",
}
PRIORITY_COLUMNS = (
    "account_id", "fit_score", "tier", "intent_score", "intent", "priority", "why_now",
)  # fmt: skip


def matrix_frame() -> pl.DataFrame:
    """The priority matrix as a table: one row per tier, one column per intent band."""
    return pl.DataFrame(
        [{"tier": tier, **{band: MATRIX[(tier, band)] for band in BANDS}} for tier in TIERS]
    )


def prioritize(fit: pl.DataFrame, intent: pl.DataFrame, top: int | None = None) -> pl.DataFrame:
    """The ranked account list: action first, then intent, then fit.

    Parameters
    ----------
    fit
        ``account_id``, ``fit_score`` and ``tier`` (from scoring).
    intent
        ``account_id``, ``intent_score``, ``intent`` and ``why_now`` (accounts without a row
        are cold).
    top
        Keep the first ``top`` rows (default: all).
    """
    keys = list(MATRIX)
    table = pl.DataFrame(
        {
            "tier": [k[0] for k in keys],
            "intent": [k[1] for k in keys],
            "priority": [MATRIX[k] for k in keys],
        }
    )
    ranked = (
        fit.select(pl.col("account_id").cast(pl.Utf8), "fit_score", pl.col("tier").cast(pl.Utf8))
        .join(
            intent.select("account_id", "intent_score", "intent", "why_now"),
            on="account_id",
            how="left",
        )
        .with_columns(
            pl.col("intent_score").fill_null(0.0),
            pl.col("intent").fill_null("cold"),
            pl.col("why_now").fill_null(""),
        )
        .join(table, on=["tier", "intent"], how="left")
        .with_columns(pl.col("priority").fill_null("watch"))
        .with_columns(
            rank=pl.col("priority").replace_strict(
                list(ACTIONS), list(range(len(ACTIONS))), return_dtype=pl.Int32
            )
        )
        .sort(["rank", "intent_score", "fit_score"], descending=[False, True, True])
        .select(PRIORITY_COLUMNS)
    )
    return ranked if top is None else ranked.head(top)
