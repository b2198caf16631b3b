"""Placeholders that mean "no answer": configured ones become missing, suspected ones are reported.

A web form's "Select" (the field was left on its prompt), "unknown", "n/a" or "-" are not values:
left as they are they become ICP traits ("industry = Select"). ``na_values`` (global, per source
column) turns them into missing cells before typing. Placeholders icpkit only suspects — a level
that is frequent and looks like a placeholder ("Other", "TBD", "0", "[not set]") — are reported by
``icpkit check`` with their counts and never changed silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import polars as pl

from icpkit.data import batch

# Levels that read like "no answer" without being in na_values (compared lower-case, stripped).
_PLACEHOLDER = re.compile(
    r"^(other|others|misc|tbd|tbc|\?+|0|0\.0|0,0|\.+|-+|_+|n\.?\s?a\.?|not (applicable|available|"
    r"known|set|given|provided|specified)|no (data|answer|value|response)|undefined|unspecified|"
    r"empty|blank|missing|default|choose.*|please .*|select.*|\[.*\]|\(.*\)|<.*>|#n/a|nan|null)$"
)
MIN_PLACEHOLDER_SHARE = 0.05
MIN_PLACEHOLDER_COUNT = 5


def _keys(values: Iterable[str]) -> list[str]:
    return sorted({v.strip().lower() for v in values})


def apply_na_values(
    frame: pl.DataFrame,
    columns: Sequence[str],
    values: Sequence[str],
    per_column: dict[str, list[str]] | None = None,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Set cells of text ``columns`` whose value is a placeholder to null.

    ``values`` apply to every column; ``per_column`` adds values for one column (by the name the
    frame uses). Returns the frame and the number of cells cleared per column (only columns with
    at least one).
    """
    per_column = per_column or {}
    shared = _keys(values)
    shared_series = pl.Series(shared, dtype=pl.Utf8)
    exprs: list[pl.Expr] = []
    counted: list[pl.Expr] = []
    schema = frame.schema
    for column in columns:
        if schema.get(column) != pl.Utf8:
            continue
        extra = _keys(per_column.get(column, ()))
        keys = shared_series if not extra else pl.Series(sorted({*shared, *extra}), dtype=pl.Utf8)
        if not len(keys):
            continue
        lowered = pl.col(column).str.strip_chars().str.to_lowercase()
        hit = lowered.is_in(keys.implode()).fill_null(False)
        exprs.append(pl.when(hit).then(None).otherwise(pl.col(column)).alias(column))
        counted.append(hit.sum().alias(column))
    if not exprs:
        return frame, {}
    names = [e.meta.output_name() for e in counted]
    counts = dict(zip(names, batch.scalars(frame, counted), strict=True))
    cleared = {c: int(n) for c, n in counts.items() if n}  # type: ignore[call-overload]
    if not cleared:
        return frame, {}
    changed = [e for e in exprs if e.meta.output_name() in cleared]
    return batch.with_columns(frame, changed), cleared


def suspected_placeholders(
    frame: pl.DataFrame, columns: Sequence[str]
) -> list[tuple[str, str, int]]:
    """(column, value, count) for frequent levels that look like placeholders, most frequent first.

    Frequent: at least MIN_PLACEHOLDER_SHARE of the column's filled cells and
    MIN_PLACEHOLDER_COUNT rows. Only text columns with few distinct values (categories) are
    looked at.
    """
    found: list[tuple[str, str, int]] = []
    schema = frame.schema
    for column in columns:
        if schema.get(column) != pl.Utf8:
            continue
        filled = frame[column].drop_nulls()
        if len(filled) == 0:
            continue
        counts = filled.value_counts(sort=True).head(50)
        if counts.height >= 50:
            continue  # identifiers or free text, not a category
        for value, n in counts.iter_rows():
            share = n / len(filled)
            if n < MIN_PLACEHOLDER_COUNT or share < MIN_PLACEHOLDER_SHARE:
                break
            if _PLACEHOLDER.match(str(value).strip().lower()):
                found.append((column, str(value), int(n)))
    return sorted(found, key=lambda f: -f[2])
