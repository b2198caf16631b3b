"""Signal events ready to learn from: keyed to accounts, dated, de-duplicated, with parsed values.

The ``signals`` table arrives from any source the data layer reads (CSV, Parquet, SQL), keyed by
``account_id`` or by ``domain``. Domains are matched to accounts with the data layer's domain
normalisation ('https://www.Acme.io/about' → 'acme.io'). What cannot be used is dropped and
counted, never fatal: rows whose domain matches no account, dates that are not dates (their rows
named), events dated after the as-of date, and exact duplicates. Types are open: an unknown type is
kept as its own type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from icpkit.data.normalize import normalise_domains
from icpkit.profile import SignalIntake
from icpkit.signals.values import parse_values

# Rows named in a message about unparseable dates; the rest are counted.
ROWS_NAMED = 10
EVENT_COLUMNS = ("account_id", "date", "type", "value", "value_class", "amount")


def intake_notes(intake: SignalIntake) -> list[str]:
    """The dropped rows in words, one line per reason (nothing when nothing was dropped)."""
    lines = []
    if intake.n_unknown_domain:
        lines.append(
            f"{intake.n_unknown_domain:,} signals name a domain that matches no account (dropped)"
        )
    if intake.n_unmatched:
        lines.append(f"{intake.n_unmatched:,} signals have neither a known account nor a domain")
    if intake.n_bad_date:
        rows = ", ".join(str(r) for r in intake.bad_date_rows)
        more = "" if intake.n_bad_date <= len(intake.bad_date_rows) else ", …"
        lines.append(
            f"{intake.n_bad_date:,} signals have a date that is not a date "
            f"(rows {rows}{more}; expected YYYY-MM-DD; dropped)"
        )
    if intake.n_future:
        lines.append(f"{intake.n_future:,} signals are dated after the as-of date (excluded)")
    if intake.n_duplicate:
        lines.append(f"{intake.n_duplicate:,} duplicated signal events removed")
    if intake.n_negative_amount:
        lines.append(
            f"{intake.n_negative_amount:,} funding signals state a negative amount (such as "
            "'-$5M'); a round cannot raise less than nothing, so the amount is read as "
            "missing (the event is kept)"
        )
    return lines


@dataclass(frozen=True)
class SignalEvents:
    """Usable signal events: account_id, date, type, value, value_class, amount (sorted)."""

    frame: pl.DataFrame
    intake: SignalIntake

    @property
    def types(self) -> list[str]:
        """Signal types, most frequent first."""
        return list(self.intake.types)


def prepare_signals(
    signals: pl.DataFrame, accounts: pl.DataFrame, as_of: date | None = None
) -> SignalEvents:
    """Key every signal to an account, drop and count what cannot be used, parse the values.

    Parameters
    ----------
    signals
        The signals table: ``date``, ``type`` and ``account_id`` and/or ``domain``; ``value``
        optional. Dates may be text (parsed here; rows that fail are named in the intake).
    accounts
        The accounts table (``account_id``, and ``domain`` for matching by domain).
    as_of
        Events after this date are excluded and counted (default: none excluded).
    """
    n_rows = signals.height
    frame = _with_row_numbers(signals)
    frame, n_bad, bad_rows = _parsed_dates(frame)
    frame, n_unknown, n_unmatched = _keyed_to_accounts(frame, accounts)
    n_future = 0
    if as_of is not None:
        future = frame["date"] > as_of
        n_future = int(future.sum())
        frame = frame.filter(~future)
    frame = frame.with_columns(
        pl.col("type")
        .cast(pl.Utf8)
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(r"[\s\-]+", "_"),
        pl.col("value").cast(pl.Utf8).str.strip_chars(),
    ).filter(pl.col("type").is_not_null() & (pl.col("type") != ""))
    before = frame.height
    frame = frame.unique(subset=["account_id", "date", "type", "value"], keep="first")
    n_duplicate = before - frame.height
    frame = parse_values(frame.sort("account_id", "date", "type"))
    n_negative = int(frame["negative_amount"].sum())
    frame = frame.select(EVENT_COLUMNS)
    counts = frame["type"].value_counts(sort=True)
    intake = SignalIntake(
        n_rows=n_rows,
        n_used=frame.height,
        n_unknown_domain=n_unknown,
        n_unmatched=n_unmatched,
        n_bad_date=n_bad,
        bad_date_rows=list(bad_rows),
        n_future=n_future,
        n_duplicate=n_duplicate,
        n_negative_amount=n_negative,
        types={str(t): int(n) for t, n in counts.iter_rows()},
    )
    return SignalEvents(frame, intake.model_copy(update={"notes": intake_notes(intake)}))


def _with_row_numbers(signals: pl.DataFrame) -> pl.DataFrame:
    """The columns used here, absent ones as nulls, plus the 1-based data row for messages."""
    columns = []
    for name in ("account_id", "domain", "date", "type", "value"):
        if name in signals.columns:
            columns.append(pl.col(name))
        else:
            columns.append(pl.lit(None, dtype=pl.Utf8).alias(name))
    return signals.select(columns).with_row_index("row", offset=1)


def _parsed_dates(frame: pl.DataFrame) -> tuple[pl.DataFrame, int, list[int]]:
    dtype = frame.schema["date"]
    if dtype == pl.Date:
        parsed = pl.col("date")
    elif dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
        parsed = pl.col("date").dt.date()
    else:
        text = pl.col("date").cast(pl.Utf8).str.strip_chars()
        parsed = pl.coalesce(
            text.str.to_date("%Y-%m-%d", strict=False),
            text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        )
    frame = frame.with_columns(parsed.alias("date"))
    bad = frame["date"].is_null()
    rows = frame.filter(bad)["row"].head(ROWS_NAMED).to_list()
    return frame.filter(~bad), int(bad.sum()), [int(r) for r in rows]


def _keyed_to_accounts(
    frame: pl.DataFrame, accounts: pl.DataFrame
) -> tuple[pl.DataFrame, int, int]:
    """account_id filled from the domain where missing or unknown; unmatched rows dropped."""
    known = accounts.select(pl.col("account_id").cast(pl.Utf8)).unique()
    frame = frame.with_columns(pl.col("account_id").cast(pl.Utf8))
    by_id = frame["account_id"].is_in(known["account_id"].implode())
    if "domain" in accounts.columns:
        lookup = (
            accounts.select(
                pl.col("account_id").cast(pl.Utf8).alias("matched"),
                normalise_domains(accounts["domain"].cast(pl.Utf8)).alias("key"),
            )
            .drop_nulls("key")
            .unique("key", keep="first")
        )
    else:
        lookup = pl.DataFrame(schema={"matched": pl.Utf8, "key": pl.Utf8})
    domains = frame.select(pl.col("domain").cast(pl.Utf8)).unique().drop_nulls()
    keys = domains.with_columns(key=normalise_domains(domains["domain"]))  # once per domain
    frame = (
        frame.with_columns(pl.col("domain").cast(pl.Utf8), by_id=by_id)
        .join(keys, on="domain", how="left", maintain_order="left")
        .join(lookup, on="key", how="left", maintain_order="left")
    )
    frame = frame.with_columns(
        pl.when(pl.col("by_id")).then(pl.col("account_id")).otherwise(pl.col("matched"))
    )
    missing = frame["account_id"].is_null()
    has_domain = frame["key"].is_not_null()
    n_unknown = int((missing & has_domain).sum())
    n_unmatched = int((missing & ~has_domain).sum())
    return frame.filter(~missing).drop("key", "matched", "by_id"), n_unknown, n_unmatched
