"""A single-table export with an outcome column: one row per lead or account, 0/1 "Converted".

``[sources.accounts] outcome_column = "Converted"`` turns that column into a deals table — one
closed deal per row, won or lost — so outcomes, discovery, the scorecard and the backtest work as
with a CRM's deals. The column itself is never an attribute (it is the answer). Values read as:

- won: 1, true, yes, won, converted, customer, closed won, success, purchased, paid, signed …
- lost: 0, false, no, lost, not converted, closed lost, disqualified, rejected, churned …
- anything else goes through the deal-stage vocabulary (open, in progress → open), and
  ``stage_values`` on the source overrides any value.

A column named for a bad outcome — ``CHURN``, ``churned``, ``attrition``, ``cancelled``,
``exited`` — says "yes" when the customer was lost: there the flags (yes/no, 1/0, true/false) read
the other way round, and the outcome note says so.

Rows without a closed outcome (blank, open) are open deals — no outcome, left out of the ranking —
unless ``outcome_missing_is_lost = true``, which counts them as lost and says so.
``outcome_date_column`` dates each row's deal (created and closed) for the out-of-time backtest.
"""

from __future__ import annotations

import polars as pl

from icpkit.config import SourceConfig
from icpkit.data.dates import parse_dates
from icpkit.data.mapping import ROW, snake_name
from icpkit.data.normalize import clean_text, normalise_stages, stage_key
from icpkit.errors import Problem

WON = frozenset(
    [
        "1",
        "1.0",
        "true",
        "yes",
        "y",
        "t",
        "won",
        "win",
        "converted",
        "convert",
        "customer",
        "closedwon",
        "success",
        "successful",
        "purchased",
        "purchase",
        "paid",
        "signed",
        "booked",
        "positive",
        "client",
        "sale",
        "sold",
        "acquired",  # startup lists: acquired = success
    ]
)
LOST = frozenset(
    [
        "0",
        "0.0",
        "false",
        "no",
        "n",
        "f",
        "lost",
        "lose",
        "loss",
        "notconverted",
        "nonconverted",
        "unconverted",
        "closedlost",
        "unsuccessful",
        "failed",
        "fail",
        "disqualified",
        "rejected",
        "churned",
        "dead",
        "negative",
        "nosale",
        "notsold",
        "closed",  # a lead or company status 'Closed' (closed won is 'closedwon')
        "bankrupt",
        "shutdown",
    ]
)
# Flag values that flip in a column named for a bad outcome ("CHURN" = Yes: the customer left).
FLAGS_WON = frozenset(["1", "1.0", "true", "yes", "y", "t"])
FLAGS_LOST = frozenset(["0", "0.0", "false", "no", "n", "f"])
NEGATIVE_NAME = frozenset(
    ["churn", "churned", "churner", "attrition", "cancelled", "canceled", "cancellation",
     "exited", "left", "lost", "is_lost", "closed_lost", "defected", "unsubscribed", "lapsed"]
)  # fmt: skip


def negative_outcome(column: str) -> bool:
    """Whether a column's name says its "yes" is a bad outcome (``CHURN``, ``has_churned``)."""
    words = snake_name(column).split("_")
    return any(w in NEGATIVE_NAME for w in words) or snake_name(column) in NEGATIVE_NAME


def flipped_flags(values: pl.Series) -> dict[str, str]:
    """{value: stage} for the yes/no flags of a bad-outcome column: yes → lost, no → won."""
    out = {}
    for raw in clean_text(values.cast(pl.Utf8)).drop_nulls().unique().sort().to_list():
        key = stage_key(raw)
        if key in FLAGS_WON or raw.strip().lower() in FLAGS_WON:
            out[raw] = "lost"
        elif key in FLAGS_LOST or raw.strip().lower() in FLAGS_LOST:
            out[raw] = "won"
    return out


OUTCOME_NAME = (
    "converted",
    "conversion",
    "is_won",
    "won",
    "outcome",
    "result",
    "status",
    "lead_status",
    "closed_won",
    "is_customer",
    "customer",
    "purchased",
    "target",
    "label",
    "deal_stage",
    "stage",
)


def outcome_stages(
    values: pl.Series, overrides: dict[str, str], missing_is_lost: bool
) -> tuple[pl.Series, dict[str, str], int]:
    """(won|lost|open per row, guessed {value: stage} to report, rows counted lost by default)."""
    text = clean_text(values)
    keyed = {stage_key(k): v for k, v in overrides.items()}
    mapping: dict[str, str] = {}
    rest: list[str] = []
    for raw in text.drop_nulls().unique().to_list():
        key = stage_key(raw)
        if raw in overrides or key in keyed:
            mapping[raw] = overrides.get(raw, keyed.get(key, "open"))
        elif key in WON or raw.strip().lower() in WON:
            mapping[raw] = "won"
        elif key in LOST or raw.strip().lower() in LOST:
            mapping[raw] = "lost"
        else:
            rest.append(raw)
    guessed: dict[str, str] = {}
    if rest:
        stages, guessed = normalise_stages(pl.Series(rest), overrides)
        mapping.update(zip(rest, stages.to_list(), strict=True))
    stages = text.replace_strict(mapping, default="open", return_dtype=pl.Utf8)
    defaulted = 0
    if missing_is_lost:
        open_rows = stages == "open"
        defaulted = int(open_rows.sum())
        stages = stages.set(open_rows, "lost")
    return stages.alias("stage"), guessed, defaulted


def looks_like_outcome(values: pl.Series) -> float:
    """Share of the filled values that read as won or lost (0 when fewer than two classes)."""
    text = clean_text(values.cast(pl.Utf8)).drop_nulls().head(5000)
    if len(text) == 0:
        return 0.0
    keys = text.map_elements(stage_key, return_dtype=pl.Utf8)
    won, lost = keys.is_in(list(WON)), keys.is_in(list(LOST))
    if not won.any() or not lost.any():
        return 0.0
    return float((won | lost).mean())  # type: ignore[arg-type]


def outcome_deals(
    accounts: pl.DataFrame,
    raw: pl.DataFrame,
    source: SourceConfig,
    file: str,
) -> tuple[pl.DataFrame, list[Problem]]:
    """One deal per source row from the outcome column, and the notes to report.

    ``accounts`` is the normalised accounts frame (with ``__row``); ``raw`` the source as read,
    with ``__row``.
    """
    assert source.outcome_column is not None
    column = source.outcome_column
    problems: list[Problem] = []
    overrides = dict(source.stage_values)
    flipped = flipped_flags(raw[column]) if negative_outcome(column) else {}
    flipped = {v: st for v, st in flipped.items() if v not in overrides}
    stages, guessed, defaulted = outcome_stages(
        raw[column], {**flipped, **overrides}, source.outcome_missing_is_lost
    )
    for value, stage in sorted(guessed.items()):
        problems.append(
            Problem(
                file=file,
                column=column,
                severity="warning",
                code="outcome_guess",
                value=value,
                message=f"outcome value {value!r} read as {stage!r}; set stage_values in "
                "icpkit.toml if that is wrong",
            )
        )
    counts = stages.value_counts()
    by_stage = dict(zip(counts["stage"].to_list(), counts["count"].to_list(), strict=True))
    message = (
        f"outcome column {column!r}: {by_stage.get('won', 0):,} won, "
        f"{by_stage.get('lost', 0):,} lost, {by_stage.get('open', 0):,} without an outcome"
    )
    if flipped:
        said = ", ".join(f"{v!r} = {st}" for v, st in sorted(flipped.items()))
        message += (
            f"; {column!r} names a bad outcome, so its flags read {said} (set stage_values "
            "in icpkit.toml if not)"
        )
    if defaulted:
        message += (
            f"; {defaulted:,} rows without a closed outcome counted as lost "
            "(outcome_missing_is_lost = true)"
        )
    problems.append(
        Problem(file=file, column=column, severity="warning", code="outcome", message=message)
    )
    dated = None
    if source.outcome_date_column is not None:
        parsed = parse_dates(raw[source.outcome_date_column], source.date_format)
        dated = parsed.values
    frame = pl.DataFrame(
        {
            ROW: raw[ROW],
            "stage": stages,
            "closed_at": dated
            if dated is not None
            else pl.Series([None] * raw.height, dtype=pl.Date),
        }
    )
    ids = accounts.select(ROW, "account_id")
    deals = frame.join(ids, on=ROW, how="left").select(
        pl.format("{}-{}", pl.col("account_id"), pl.col(ROW)).alias("deal_id"),
        "account_id",
        pl.col("closed_at").alias("created_at"),
        pl.when(pl.col("stage") != "open").then(pl.col("closed_at")).alias("closed_at"),
        "stage",
        pl.lit(None, dtype=pl.Float64).alias("amount"),
        pl.lit(None, dtype=pl.Utf8).alias("currency"),
        pl.lit(None, dtype=pl.Utf8).alias("product"),
        pl.lit(None, dtype=pl.Utf8).alias("source"),
        ROW,
    )
    return deals, problems
