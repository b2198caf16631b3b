"""Validation of normalised tables, within and across tables; every problem at once.

What is fatal and what is a warning (a fatal problem stops ``load_workspace``; ``icpkit check``
exits 1):

- fatal: accounts without an id or with a duplicated id (every join depends on the key); negative
  deal amounts, MRR or ARR (a refund is not a sale — net it out before loading).
- warning, with counts and example rows: deals whose account is blank or unknown — split into open
  deals (normal for early pipeline) and closed won/lost deals (their outcome is lost for the ICP);
  duplicated deal ids; closed_at before created_at (the sales cycle of those deals is negative);
  subscription end before start; several currencies in one amount column (amounts are not
  converted; set a single currency or convert first); values of a column missing from a reference
  table (e.g. deals.product vs products.csv), with the closest reference value.
"""

from __future__ import annotations

import polars as pl

from icpkit.data.mapping import ROW
from icpkit.data.similar import closest
from icpkit.errors import Problem

EXAMPLE_ROWS = 5


def _rows(frame: pl.DataFrame, mask: pl.Series | pl.Expr) -> list[int]:
    rows = frame.filter(mask)
    return rows[ROW].head(EXAMPLE_ROWS).to_list() if ROW in rows.columns else []


def _row_list(rows: list[int]) -> str:
    return f" (rows {', '.join(str(r) for r in rows)}{', …' if len(rows) == EXAMPLE_ROWS else ''})"


def check_accounts(accounts: pl.DataFrame, file: str) -> list[Problem]:
    """Blank and duplicated account ids (fatal), naming rows."""
    problems = []
    blank = accounts.filter(pl.col("account_id").is_null())
    if blank.height:
        rows = blank[ROW].head(20).to_list() if ROW in blank.columns else []
        problems.append(
            Problem(
                file=file,
                column="account_id",
                code="missing_id",
                message=f"{blank.height:,} accounts have no id"
                + (_row_list(rows[:EXAMPLE_ROWS]) if rows else ""),
                expected="a unique id on every account",
            )
        )
    counts = accounts.filter(pl.col("account_id").is_not_null()).group_by("account_id").len()
    duplicated = counts.filter(pl.col("len") > 1).sort("len", descending=True)
    for account_id, n in duplicated.head(20).iter_rows():
        rows = _rows(accounts, pl.col("account_id") == account_id)
        problems.append(
            Problem(
                file=file,
                column="account_id",
                value=str(account_id),
                code="duplicate_id",
                row=rows[0] if rows else None,
                message=f"account id {account_id!r} appears {n} times" + _row_list(rows),
                expected="each account id once",
            )
        )
    if duplicated.height > 20:
        problems.append(
            Problem(
                file=file,
                column="account_id",
                code="duplicate_id",
                message=f"… and {duplicated.height - 20:,} more duplicated account ids",
            )
        )
    return problems


def check_links(frame: pl.DataFrame, table: str, known: pl.Series, file: str) -> list[Problem]:
    """Rows of a table whose account is blank or not in accounts (warnings, split by deal state)."""
    problems = []
    unknown = pl.col("account_id").is_not_null() & ~pl.col("account_id").is_in(known.implode())
    groups = {"": pl.lit(True)}
    if table == "deals":
        groups = {
            "open ": pl.col("stage") == "open",
            "closed (won/lost) ": pl.col("stage") != "open",
        }
    for label, state in groups.items():
        for kind, mask in (
            ("no account", pl.col("account_id").is_null()),
            ("an unknown account", unknown),
        ):
            n = frame.filter(state & mask).height
            if n == 0:
                continue
            rows = _rows(frame, state & mask)
            impact = (
                " — their outcomes cannot count towards any account" if "closed" in label else ""
            )
            problems.append(
                Problem(
                    file=file,
                    column="account_id",
                    severity="warning",
                    code="unlinked",
                    message=f"{n:,} {label}{table} have {kind}"
                    + f"{_row_list(rows) if rows else ''}{impact}",
                    expected="an account_id present in accounts",
                )
            )
    return problems


def check_deals(deals: pl.DataFrame, file: str) -> list[Problem]:
    """Negative amounts (fatal), duplicated ids, reversed dates, mixed currencies (warnings)."""
    problems = []
    negative = pl.col("amount") < 0
    for row, value in deals.filter(negative).select(ROW, "amount").head(20).iter_rows():
        problems.append(
            Problem(
                file=file,
                row=row,
                column="amount",
                value=str(value),
                code="negative",
                message=f"deal amount {value:g} is negative",
                expected="an amount ≥ 0",
            )
        )
    n_negative = deals.filter(negative).height
    if n_negative > 20:
        problems.append(
            Problem(
                file=file,
                column="amount",
                code="negative",
                message=f"… and {n_negative - 20:,} more negative amounts",
            )
        )
    problems += _warn_count(
        deals,
        pl.col("closed_at") < pl.col("created_at"),
        file,
        "closed_at",
        "deals close before they were created; their sales cycle is negative",
        "closed_at on or after created_at",
        "date_order",
    )
    ids = pl.col("deal_id")
    problems += _warn_count(
        deals,
        ids.is_not_null() & ids.is_duplicated(),
        file,
        "deal_id",
        "deals share a deal id with another row",
        "unique deal ids",
        "duplicate_id",
    )
    problems += check_currency(deals, file)
    return problems


def _warn_count(
    frame: pl.DataFrame, mask: pl.Expr, file: str, column: str, what: str, expected: str, code: str
) -> list[Problem]:
    n = frame.filter(mask.fill_null(False)).height
    if n == 0:
        return []
    rows = _rows(frame, mask.fill_null(False))
    return [
        Problem(
            file=file,
            column=column,
            severity="warning",
            code=code,
            expected=expected,
            message=f"{n:,} {what}{_row_list(rows) if rows else ''}",
        )
    ]


def check_currency(deals: pl.DataFrame, file: str) -> list[Problem]:
    """Several currencies in one amount column: amounts are summed as they are, so warn."""
    counts = deals["currency"].drop_nulls().value_counts().sort("count", descending=True)
    if counts.height <= 1:
        return []
    listing = ", ".join(f"{c} ({n:,})" for c, n in counts.iter_rows())
    return [
        Problem(
            file=file,
            column="currency",
            severity="warning",
            code="mixed_currency",
            message=f"amounts are in several currencies: {listing}; they are not converted, so won "
            "revenue mixes currencies — convert to one currency before loading",
            expected="a single currency",
        )
    ]


def check_subscriptions(subscriptions: pl.DataFrame, file: str) -> list[Problem]:
    """Negative MRR/ARR (fatal) and end before start (warning)."""
    problems = []
    for column in ("mrr", "arr"):
        for row, value in (
            subscriptions.filter(pl.col(column) < 0).select(ROW, column).head(20).iter_rows()
        ):
            problems.append(
                Problem(
                    file=file,
                    row=row,
                    column=column,
                    value=str(value),
                    code="negative",
                    message=f"{column} {value:g} is negative",
                    expected="a value ≥ 0",
                )
            )
    problems += _warn_count(
        subscriptions,
        pl.col("end") < pl.col("start"),
        file,
        "end",
        "subscriptions end before they start",
        "end on or after start",
        "date_order",
    )
    return problems


def check_reference(
    frame: pl.DataFrame, column: str, reference: pl.Series, file: str, reference_file: str
) -> list[Problem]:
    """Values of ``column`` that the reference table does not list, with the closest listed one."""
    allowed = [str(v) for v in reference.drop_nulls().unique().to_list()]
    counts = frame[column].cast(pl.Utf8).drop_nulls().value_counts()
    problems = []
    for value, n in counts.filter(~pl.col(column).is_in(allowed)).sort(column).iter_rows():
        close = closest(value, allowed, cutoff=0.6)
        problems.append(
            Problem(
                file=file,
                column=column,
                value=value,
                severity="warning",
                code="not_in_reference",
                message=f"{value!r} ({n:,} rows) is not listed in {reference_file}"
                + (f"; closest listed value: {close!r}" if close else ""),
                expected=f"a value of {reference_file} column {reference.name}",
            )
        )
    return problems
