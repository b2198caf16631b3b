"""Normalise one mapped table: type every canonical column, type the extra attributes, report cells.

Unreadable values in canonical numeric or date columns are fatal (a wrong mapping or format must be
fixed, not silently dropped); in extra attributes they become missing with a warning. Each bad cell
is reported with its file row, up to ``CELL_REPORT_LIMIT`` per column plus a count of the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl

from icpkit.config import DEFAULT_NA_VALUES, SourceConfig
from icpkit.data import batch
from icpkit.data.attributes import pii_kinds
from icpkit.data.dates import parse_dates
from icpkit.data.hygiene import apply_na_values, suspected_placeholders
from icpkit.data.mapping import FLAG_COLUMNS, ROW, MappedTable
from icpkit.data.model import DEAL_STAGES, SCHEMA
from icpkit.data.normalize import (
    NumberParse,
    clean_text,
    near_duplicates,
    normalise_countries,
    normalise_domains,
    normalise_stages,
    parse_booleans,
    parse_numbers,
    read_numbers,
    split_tags,
)
from icpkit.errors import Problem, Severity

CELL_REPORT_LIMIT = 20
SPELLING_REPORT_LIMIT = 5  # pairs of near-identical values listed per column, then a count
NON_NEGATIVE = {"employees", "annual_revenue"}  # counts and revenue; amounts are checked in schema
FUTURE_DAYS = 366
_COUNTS_AND_MONEY = {"employees", "annual_revenue", "amount", "mrr", "arr"}
ID_COLUMNS = {"account_id", "deal_id", "contact_id"}
# never checked for category spellings
FREE_TEXT = {"name", "email", "text", "domain", "value", "description"}
_NUMBER = "a number such as 1200, 1,200, 51-200, 10K+ or $1.2M"
_DATE = "a date such as 2024-03-31, 3/31/2024, 31.03.2024 or an Excel date"


def _plain_numbers(frame: pl.DataFrame, columns: list[str]) -> set[str]:
    """Text columns whose every filled cell is a plain number ('12', '-3.5', '1e3'), with more than
    two distinct values (not a 0/1 flag), no thousands/decimal ambiguity ('1.324', '1,5') and
    nothing infinite: typed by one cast. Decided for all columns in one ``select``."""
    schema = frame.schema
    text = [c for c in columns if schema[c] == pl.Utf8]
    if not text:
        return set()
    exprs = []
    for c in text:
        cell = pl.col(c).str.strip_chars()
        number = cell.cast(pl.Float64, strict=False)
        plain = (
            (cell.is_null() | (cell == "") | number.is_finite())
            & ~cell.str.contains(r"[,\s]|^[-+]?[1-9]\d{0,2}\.\d{3}$|^0\d").fill_null(False)
        ).all()
        exprs.append((plain & (number.n_unique() > 3) & number.is_not_null().any()).alias(c))
    flags = batch.scalars(frame, exprs)
    return {c for c, ok in zip(text, flags, strict=True) if ok}


class TableNormaliser:
    """Collects the problems of one table while its columns are typed."""

    def __init__(self, table: str, file: str, source: SourceConfig, mapped: MappedTable) -> None:
        self.table = table
        self.file = file
        self.source = source
        self.mapped = mapped
        self.frame = mapped.frame
        self.problems: list[Problem] = list(mapped.problems)
        # extra columns holding personal data: kept as text, never typed, quoted or used
        self.pii: dict[str, str] = pii_kinds(self.frame, list(mapped.extras))
        self.plain = _plain_numbers(self.frame, list(mapped.extras))

    def where(self, column: str) -> str:
        """The column name the user sees in their file."""
        return self.mapped.mapping.get(column) or self.mapped.extras.get(column) or column

    def warn(
        self,
        message: str,
        column: str | None = None,
        code: str = "warning",
        value: str | None = None,
        expected: str | None = None,
    ) -> None:
        col = self.where(column) if column else None
        self.problems.append(
            Problem(
                file=self.file,
                message=message,
                severity="warning",
                column=col,
                code=code,
                value=value,
                expected=expected,
            )
        )

    def report_cells(
        self,
        column: str,
        bad: pl.Series,
        expected: str,
        severity: Severity,
        code: str,
        reading: pl.Series | None = None,
    ) -> None:
        """One problem per bad cell (up to the limit), then one with the count of the rest.

        ``reading``: the value each flagged cell was read as, when it was read after all (an
        ambiguous number), so the message says what icpkit took it for.
        """
        index = bad.fill_null(False).arg_true()
        if len(index) == 0:
            return
        rows = (
            self.frame[ROW]
            if ROW in self.frame.columns
            else pl.int_range(1, len(bad) + 1, eager=True)
        )
        raw = self.frame[column].cast(pl.Utf8)
        for i in index.head(CELL_REPORT_LIMIT).to_list():
            value = raw[i]
            message = f"{str(value)[:60]!r} is not {expected.split(' such as')[0]}"
            if reading is not None:
                message = f"{str(value)[:60]!r} is ambiguous; read as {reading[i]:,.10g}"
            self.problems.append(
                Problem(
                    file=self.file,
                    row=int(rows[i]),
                    column=self.where(column),
                    severity=severity,
                    code=code,
                    value=value,
                    expected=expected,
                    message=message,
                )
            )
        if len(index) > CELL_REPORT_LIMIT:
            self.problems.append(
                Problem(
                    file=self.file,
                    column=self.where(column),
                    severity=severity,
                    code=code,
                    message=f"… and {len(index) - CELL_REPORT_LIMIT:,} more such cells here "
                    f"({len(index):,} in all)",
                    expected=expected,
                )
            )

    # --- canonical columns -------------------------------------------------------------------

    def numbers(self, column: str) -> pl.Series:
        # counts and money in units have two decimals at most: '1.324' there is a thousands dot
        units = column in _COUNTS_AND_MONEY and column not in self.mapped.scales
        parsed = read_numbers(self.frame[column], two_decimals_at_most=units)
        self.report_cells(column, parsed.bad, _NUMBER, "fatal", "not_a_number")
        self.number_notes(column, parsed)
        values = parsed.values
        factor = self.mapped.scales.get(column)
        values = values * factor if factor else values
        if column in NON_NEGATIVE:
            negative = (values < 0).fill_null(False)
            if negative.any():
                self.warn(
                    f"{int(negative.sum()):,} negative values (a count or revenue cannot be "
                    "negative); read as missing",
                    column,
                    code="negative",
                    expected="a value ≥ 0",
                )
                values = values.set(negative, None)
        return values

    def number_notes(self, column: str, parsed: NumberParse) -> None:
        """Warn about overflowing cells and an ambiguous separator style."""
        n = int(parsed.overflow.sum())
        if n:
            self.warn(
                f"{n:,} cells hold an infinite or overflowing number (inf, 1e400, NaN); read as "
                "missing",
                column,
                code="overflow",
                expected="a finite number",
            )
        if parsed.note:
            self.warn(parsed.note, column, code="ambiguous_numbers")
        if parsed.ambiguous is not None:  # each cell read by an inference, named by its row
            self.report_cells(
                column,
                parsed.ambiguous,
                "a number whose dot is unambiguous (1324, 1,324 or 1.324,0)",
                "warning",
                "ambiguous_number",
                reading=parsed.values,
            )

    def dates(self, column: str) -> pl.Series:
        parsed = parse_dates(self.frame[column], self.source.date_format)
        # A signal with a bad date is one event lost, not a broken CRM: named, then dropped.
        severity: Severity = "warning" if self.table == "signals" else "fatal"
        self.report_cells(
            column, parsed.bad, self.source.date_format or _DATE, severity, "not_a_date"
        )
        if parsed.note:
            self.warn(parsed.note, column, code="ambiguous_dates")
        return self.not_in_future(column, parsed.values)

    def not_in_future(self, column: str, values: pl.Series) -> pl.Series:
        """Dates more than a year ahead (2099, a typo for 2019) become missing, with a warning."""
        limit = date.today() + timedelta(days=FUTURE_DAYS)
        future = (values > limit).fill_null(False)
        if future.any():
            latest = values.filter(future).max()
            self.warn(
                f"{int(future.sum()):,} dates lie more than a year in the future (up to "
                f"{latest!s}); read as missing",
                column,
                code="future_date",
                expected=f"a date before {limit.isoformat()}",
            )
            values = values.set(future, None)
        return values

    def year(self, column: str) -> pl.Series:
        values, bad = parse_numbers(self.frame[column])
        if bad.any():  # a full date in a year column: keep its year
            years = parse_dates(self.frame[column]).values.dt.year().cast(pl.Float64)
            values, bad = values.fill_null(years), bad & years.is_null()
        self.report_cells(column, bad, "a year such as 1998", "fatal", "not_a_number")
        outside = ~values.is_between(1600, date.today().year + 1).fill_null(True)
        if outside.any():
            self.warn(
                f"{int(outside.sum()):,} years are before 1600 or in the future; read as missing",
                column,
                code="implausible_year",
                expected=f"a year from 1600 to {date.today().year}",
            )
            values = values.set(outside, None)
        return values.round(0).cast(pl.Int64)

    def identifiers(self, column: str) -> pl.Series:
        values = self.frame[column]
        if values.dtype.is_float() and bool((values.drop_nulls() % 1 == 0).all()):
            values = values.cast(pl.Int64)  # 1234.0 from a spreadsheet is the id "1234"
        ids = clean_text(values)
        if self.table == "accounts" or column != "account_id":
            return ids
        several = ids.str.contains(r"[;,]").fill_null(False)
        if several.any():
            self.warn(
                f"{int(several.sum()):,} rows name several accounts (separated by ';' or "
                "','); the first one is used",
                column,
                code="several_accounts",
            )
            ids = ids.str.split_exact(";", 1).struct.field("field_0")
            ids = clean_text(ids.str.split_exact(",", 1).struct.field("field_0"))
        return ids

    def countries(self, column: str) -> pl.Series:
        codes, fuzzy, unknown = normalise_countries(self.frame[column])
        for spelling, code in sorted(fuzzy.items()):
            self.warn(
                f"country {spelling!r} read as {code} (a likely misspelling)",
                column,
                code="country_guess",
                value=spelling,
            )
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:10])
            self.warn(
                f"{len(unknown)} country spellings are not recognised and left missing: {shown}",
                column,
                code="unknown_country",
                expected="a country name or ISO code",
            )
        return codes

    def domains(self, column: str) -> pl.Series:
        """Domains; a mapped column that mostly holds no domain (a guessed mapping gone wrong,
        e.g. a visit count) is reported, and its non-domains are left missing."""
        domains = normalise_domains(self.frame[column])
        filled = clean_text(self.frame[column]).drop_nulls()
        filled = filled.filter(~filled.str.to_lowercase().is_in(["n/a", "na", "-", "none"]))
        if len(filled) and domains.drop_nulls().len() < 0.5 * len(filled):
            example = str(filled[0])[:40]
            self.warn(
                f"mapped to domain, but only {domains.drop_nulls().len():,} of {len(filled):,} "
                f"filled values are web domains (e.g. {example!r}); check the mapping in "
                "icpkit.toml",
                column,
                code="wrong_type",
                expected="domains such as acme.com",
            )
        return domains

    def stages(self, column: str | None) -> pl.Series:
        bad = {k: v for k, v in self.source.stage_values.items() if v not in DEAL_STAGES}
        for raw, target in bad.items():
            self.problems.append(
                Problem(
                    file=self.file,
                    column="stage_values",
                    value=target,
                    code="config",
                    message=f"stage_values maps {raw!r} to {target!r}",
                    expected="won, lost or open",
                )
            )
        if column is None:
            stages = pl.Series("stage", ["open"] * self.frame.height)
        else:
            stages, guessed = normalise_stages(self.frame[column], self.source.stage_values)
            if "is_won" in self.frame.columns:
                guessed = {}  # the IsWon flag settles every stage; names are not guessed
            for raw, stage in sorted(guessed.items()):
                self.warn(
                    f"unknown deal stage {raw!r} read as {stage!r}; set stage_values in "
                    "icpkit.toml if that is wrong",
                    column,
                    code="stage_guess",
                    value=raw,
                )
        return self._apply_flags(stages)

    def _apply_flags(self, stages: pl.Series) -> pl.Series:
        """Salesforce IsWon/IsClosed flags settle a stage when present."""
        flags = {}
        for flag in FLAG_COLUMNS.get(self.table, ()):
            if flag in self.frame.columns:
                parsed = parse_booleans(self.frame[flag])
                if parsed is None:
                    self.warn("expected true/false values; column ignored", flag, code="flag")
                else:
                    flags[flag] = parsed.fill_null(False)
        if "is_closed" in flags:
            stages = stages.set(~flags["is_closed"], "open")
            stages = stages.set(flags["is_closed"] & (stages == "open"), "lost")
        if "is_won" in flags:
            stages = stages.set(flags["is_won"], "won").set(
                ~flags["is_won"] & (stages == "won"), "lost"
            )
        return stages.alias("stage")

    def canonical(self, column: str, dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
        if column in ID_COLUMNS:
            return self.identifiers(column)
        if column == "country":
            return self.countries(column)
        if column == "domain":
            return self.domains(column)
        if column == "email":
            emails = clean_text(self.frame[column]).str.to_lowercase()
            filled = emails.drop_nulls()
            looks = filled.str.contains(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$").sum()
            if len(filled) and looks < 0.5 * len(filled):
                self.warn(
                    f"mapped to email, but only {looks:,} of {len(filled):,} filled values are "
                    "e-mail addresses; check the mapping in icpkit.toml",
                    column,
                    code="wrong_type",
                    expected="e-mail addresses",
                )
            return emails
        if column == "currency":
            return clean_text(self.frame[column]).str.to_uppercase()
        if dtype == pl.Float64:
            return self.numbers(column)
        if dtype == pl.Int64:
            return self.year(column)
        if dtype == pl.Date:
            return self.dates(column)
        if isinstance(dtype, pl.List):
            return split_tags(self.frame[column])
        return clean_text(self.frame[column])

    # --- extra attributes ----------------------------------------------------------------------

    def extra(self, column: str) -> pl.Series:
        """Type an extra attribute: tags, boolean, number, date or category (text)."""
        values = self.frame[column]
        if column in self.pii:
            return clean_text(values) if values.dtype == pl.Utf8 else values
        tag_names = set(self.source.tag_columns)
        if column in tag_names or self.where(column) in tag_names:
            return split_tags(values)
        if isinstance(values.dtype, pl.List):
            return split_tags(values)
        if values.dtype in (pl.Date, pl.Boolean) or values.dtype.is_numeric():
            return values
        if isinstance(values.dtype, pl.Datetime):
            return values.dt.date()
        if column in self.plain:  # plain numbers only (one batch check): no per-value parsing
            return values.str.strip_chars().cast(pl.Float64, strict=False)
        text = clean_text(values)
        flags = parse_booleans(text)
        if flags is not None:
            return flags
        typed = self._numeric_or_date(column, text)
        return typed if typed is not None else text

    def _numeric_or_date(self, column: str, text: pl.Series) -> pl.Series | None:
        """A number or date column when ≥ 95 % of its filled cells read as such (sampled first,
        so free-text columns never reach the per-value parser)."""
        filled = text.drop_nulls()
        if len(filled) == 0:
            return None
        sample = filled.head(1000)
        probe = read_numbers(sample)
        if (probe.values.is_not_null() | probe.overflow).mean() >= 0.95:  # type: ignore[operator]
            numbers = read_numbers(text)
            n_read = int(numbers.values.is_not_null().sum()) + int(numbers.overflow.sum())
            if n_read >= 0.95 * len(filled):
                self.report_cells(column, numbers.bad, _NUMBER, "warning", "not_a_number")
                self.number_notes(column, numbers)
                return numbers.values
        looks_dated = sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|[A-Za-z]{3} \d").mean()
        if looks_dated is not None and looks_dated >= 0.95:  # type: ignore[operator]
            parsed = parse_dates(text, self.source.date_format)
            if parsed.values.is_not_null().sum() >= 0.95 * len(filled):
                self.report_cells(column, parsed.bad, _DATE, "warning", "not_a_date")
                if parsed.note:
                    self.warn(parsed.note, column, code="ambiguous_dates")
                return self.not_in_future(column, parsed.values)
        return None

    def placeholders(self, frame: pl.DataFrame) -> None:
        """Report frequent levels that look like 'no answer' but are not in na_values."""
        skip = ID_COLUMNS | FREE_TEXT | set(self.pii) | {ROW}
        columns = [c for c in frame.columns if c not in skip]
        for column, value, n in suspected_placeholders(frame, columns):
            self.warn(
                f"{value!r} fills {n:,} rows and looks like a placeholder for 'no answer'; add it "
                "to na_values in icpkit.toml if it is one (it is kept as a value until then)",
                column,
                code="placeholder",
                value=value,
            )

    def spellings(self, frame: pl.DataFrame) -> None:
        """Warn about category values that look like two spellings of one thing (never merged)."""
        for column, dtype in frame.schema.items():
            if dtype != pl.Utf8 or column in ID_COLUMNS | FREE_TEXT or column == ROW:
                continue
            if column in self.pii:
                continue  # never quote people's names or addresses in a warning
            distinct = frame[column].drop_nulls().unique()
            if len(distinct) > 5000 or len(distinct) > 0.5 * max(frame[column].count(), 1) + 20:
                continue  # identifiers and free text, not categories
            pairs = sorted(near_duplicates(distinct.to_list()))  # the same five on every run
            for a, b in pairs[:SPELLING_REPORT_LIMIT]:
                self.warn(
                    f"{a!r} and {b!r} look like two spellings of the same value; they are kept "
                    "apart — fix the data if they are the same",
                    column,
                    code="near_duplicate",
                    value=b,
                )
            if len(pairs) > SPELLING_REPORT_LIMIT:  # a column of varied free text (job titles)
                self.warn(
                    f"… and {len(pairs) - SPELLING_REPORT_LIMIT:,} more such pairs here "
                    f"({len(pairs):,} in all)",
                    column,
                    code="near_duplicate",
                )


def normalise_table(
    table: str,
    mapped: MappedTable,
    source: SourceConfig,
    file: str,
    na_values: Sequence[str] = DEFAULT_NA_VALUES,
) -> tuple[pl.DataFrame, list[Problem]]:
    """Type the canonical columns of a mapped table (adding absent ones as nulls) and its extras.

    Returns the frame — ``__row`` first, then SCHEMA order, then extras — and every problem found.
    """
    mapped, cleared = _clear_placeholders(mapped, source, na_values)
    work = TableNormaliser(table, file, source, mapped)
    if cleared:
        listing = ", ".join(f"{work.where(c)} ({n:,})" for c, n in cleared.items())
        work.warn(
            f"placeholder values (na_values such as 'Select', 'unknown', 'n/a') read as missing "
            f"in: {listing}",
            code="na_values",
        )
    height = mapped.frame.height
    columns: list[pl.Series] = []
    if ROW in mapped.frame.columns:
        columns.append(mapped.frame[ROW])
    for column, dtype in SCHEMA[table].items():
        if column == "stage":
            series = work.stages("stage" if "stage" in mapped.frame.columns else None)
        elif column in mapped.frame.columns:
            series = work.canonical(column, dtype)
        else:
            series = pl.Series(column, [None] * height, dtype=dtype)
        columns.append(series.alias(column).cast(dtype))
    for column in mapped.extras:
        columns.append(work.extra(column).alias(column))
    frame = pl.DataFrame(columns)
    for column, kind in work.pii.items():
        if table == "accounts":
            work.warn(
                f"holds personal or contact data ({kind}); it is never used as an ICP attribute "
                "or shown in "
                "reports (list it in discovery.allow to use it anyway)",
                column,
                code="pii",
            )
    work.spellings(frame)
    work.placeholders(frame)
    return frame, work.problems


def _clear_placeholders(
    mapped: MappedTable, source: SourceConfig, na_values: Sequence[str]
) -> tuple[MappedTable, dict[str, int]]:
    """The mapped table with na_values cells set to null (ids and stages untouched)."""
    names = {
        **{v: k for k, v in mapped.extras.items()},
        **{v: k for k, v in mapped.mapping.items()},
    }
    per_column = {names.get(k, k): v for k, v in source.na_values.items()}
    columns = [
        c for c in mapped.frame.columns if c not in ID_COLUMNS and c not in {ROW, "stage", "email"}
    ]
    frame, cleared = apply_na_values(mapped.frame, columns, na_values, per_column)
    return (dataclasses.replace(mapped, frame=frame) if cleared else mapped), cleared
