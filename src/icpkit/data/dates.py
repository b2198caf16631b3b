"""Dates as people and CRMs write them: ISO, ISO datetimes, US M/D/YYYY, EU D/M/YYYY, D.M.YYYY,
month names and Excel serial numbers.

Day-first versus month-first is decided once per column, never per cell: a column is day-first
when some first part exceeds 12, month-first when some second part does. When every value has
both parts ≤ 12 the column is ambiguous; then slashes are read US-style (M/D, the format of US CRM
exports) and dots or dashes European-style (D.M), and the choice is reported so the user can set
``date_format`` in icpkit.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from icpkit.data.normalize import NULL_TOKENS, clean_text

_TIME = (
    r"(?i)[T\s]+\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?\s*([ap]\.?m\.?)?\s*(z|utc|gmt|[+-]\d{2}:?\d{2})?$"
)
_NUMERIC_DM = r"^(\d{1,2})([/.\-])(\d{1,2})[/.\-](\d{4})$"
_FIXED_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%b-%d-%Y",
    "%Y%m%d",
)
_ORDERS = {
    "month-first": ("%m/%d/%Y", "%m.%d.%Y", "%m-%d-%Y"),
    "day-first": ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"),
}
_EXCEL_EPOCH = date(1899, 12, 30)
# Excel serials from 1927 to 2119: wide enough for CRM dates, narrow enough not to read counts.
_SERIAL_RANGE = (10_000, 80_000)


@dataclass(frozen=True)
class DateParse:
    """Parsed dates, the mask of cells with text but no date, and a note to report (or None)."""

    values: pl.Series
    bad: pl.Series
    note: str | None = None


def _serials(numbers: pl.Series) -> pl.Series:
    frame = pl.DataFrame({"n": numbers.cast(pl.Float64)})
    low, high = _SERIAL_RANGE
    inside = (pl.col("n") >= low) & (pl.col("n") <= high)
    days = pl.when(inside).then(pl.col("n").floor().cast(pl.Int64))
    return frame.select((pl.lit(_EXCEL_EPOCH) + pl.duration(days=days)).alias("d"))["d"]


def _day_order(text: pl.Series) -> tuple[str, str | None]:
    """Decide day-first or month-first for the numeric dates of a column; note if it was a guess."""
    parts = text.str.extract_groups(_NUMERIC_DM)
    first = parts.struct.field("1").cast(pl.Int64)
    second = parts.struct.field("3").cast(pl.Int64)
    n_day_first = int((first > 12).sum())
    n_month_first = int((second > 12).sum())
    if n_day_first and not n_month_first:
        return "day-first", None
    if n_month_first and not n_day_first:
        return "month-first", None
    separators = parts.struct.field("2").drop_nulls()
    if n_day_first and n_month_first:
        order = "day-first" if n_day_first >= n_month_first else "month-first"
        return order, (
            f"mixes day-first and month-first dates ({n_day_first} vs {n_month_first} "
            f"unambiguous values); read as {order}, the others are reported as not dates"
        )
    if len(separators) == 0:
        return "month-first", None
    order = "month-first" if separators.mode()[0] == "/" else "day-first"
    example = text.filter(first.is_not_null())[0]
    fmt = _ORDERS[order][0].replace("/", separators.mode()[0])
    return order, (
        f"every date has day and month ≤ 12 (e.g. {example!r}), so US and European order cannot "
        f"be told apart; read as {order} ({fmt}). Set date_format in icpkit.toml if that is wrong"
    )


def _expand_two_digit_years(text: pl.Series) -> pl.Series:
    """'5/1/17' → '5/1/2017', '5/1/85' → '5/1/1985' (pivot at 70, like most spreadsheets)."""
    text = text.str.replace(
        r"^(\d{1,2})([/.\-])(\d{1,2})[/.\-]([0-6]\d)$", "${1}${2}${3}${2}20${4}"
    )
    return text.str.replace(
        r"^(\d{1,2})([/.\-])(\d{1,2})[/.\-]([7-9]\d)$", "${1}${2}${3}${2}19${4}"
    )


def _try_formats(text: pl.Series, formats: tuple[str, ...]) -> pl.Series:
    parsed = pl.Series(text.name, [None] * len(text), dtype=pl.Date)
    for fmt in formats:
        parsed = parsed.fill_null(text.str.to_date(fmt, strict=False))
    return parsed


def parse_dates(values: pl.Series, date_format: str | None = None) -> DateParse:
    """Dates from any column (strings, datetimes, Excel serials).

    ``date_format`` (strftime, from SourceConfig.date_format) is tried first and settles the
    day/month order; ISO dates are always accepted as well.
    """
    if values.dtype == pl.Date:
        return DateParse(values, values.is_null() & False)
    if isinstance(values.dtype, pl.Datetime):
        return DateParse(values.dt.date(), values.is_null() & False)
    if values.dtype.is_numeric():
        parsed = _serials(values).alias(values.name)
        return DateParse(parsed, parsed.is_null() & values.is_not_null())
    raw = clean_text(values)
    blank = raw.is_null() | raw.str.to_lowercase().is_in(list(NULL_TOKENS))
    parsed = raw.str.to_date(date_format or "%Y-%m-%d", strict=False)
    rest = (parsed.is_null() & ~blank).arg_true()
    note = None
    if len(rest):  # only cells the fast format missed go through the full search
        slow, note = _parse_text(raw.gather(rest), date_format)
        parsed = parsed.scatter(rest, slow)
    plausible = parsed.dt.year().is_between(1800, 2200)
    parsed = parsed.set(~plausible.fill_null(True), None).alias(values.name)
    return DateParse(parsed, parsed.is_null() & ~blank, note)


def _parse_text(raw: pl.Series, date_format: str | None) -> tuple[pl.Series, str | None]:
    """Dates from text in any supported format, and the note on day/month order if guessed."""
    text = _expand_two_digit_years(raw.str.replace(_TIME, "").str.replace_all(",", ""))
    if date_format:
        return _try_formats(text, (date_format, "%Y-%m-%d")), None
    order, note = _day_order(text)
    parsed = _try_formats(text, _FIXED_FORMATS + _ORDERS[order])
    numbers = text.str.extract(r"^(\d{5}(?:\.\d+)?)$").cast(pl.Float64)
    if numbers.is_not_null().any():
        parsed = parsed.fill_null(_serials(numbers))
    return parsed, note
