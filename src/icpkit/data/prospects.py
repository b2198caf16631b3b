"""Prospects typed like accounts: the one path from any account file or frame to scoring input.

A prospect list, a CRM export scored with ``--map``, a frame handed to the Python API and the
``--against`` file of ``drift`` all go through ``ProspectColumns``: its columns are matched to the
attributes a profile (or a training table) needs with the accounts source's own mapping
(``map_columns``), and each needed column is typed by the accounts normaliser
(``TableNormaliser``: '51-200' → 125.5, '$12.5M' → 12,500,000, country names → ISO codes, tag
cells → lists, dates → dates). Only then is it coerced to the kind the consumer needs (a date
attribute the scorecard bins by year stays a date; a category the scorecard reads as text stays
text even when a batch happens to hold only digits), so no batch can type a column differently
from the way the training accounts were typed.

Only the needed columns are touched, so the cost is linear in their number, not in the file's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from icpkit.config import SourceConfig
from icpkit.data.dates import parse_dates
from icpkit.data.mapping import PRESETS, ROW, MappedTable, closest_column, map_columns
from icpkit.data.model import SCHEMA
from icpkit.data.normalize import clean_text, parse_numbers, split_tags
from icpkit.data.tables import TableNormaliser
from icpkit.errors import SchemaError

Kind = Literal["numeric", "categorical", "tag", "any"]
ACCOUNTS = SCHEMA["accounts"]


def kinds_of_frame(frame: pl.DataFrame) -> dict[str, Kind]:
    """The kind of every column of a typed (normalised) accounts frame."""
    out: dict[str, Kind] = {}
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List):
            out[name] = "tag"
        elif dtype.is_numeric() or dtype.is_temporal():
            out[name] = "numeric"
        elif dtype in (pl.Utf8, pl.Boolean, pl.Categorical):
            out[name] = "categorical"
        else:
            out[name] = "any"
    return out


@dataclass(frozen=True)
class ProspectColumns:
    """Where each needed attribute comes from in a prospect table, and the kind it must have."""

    kinds: dict[str, Kind]
    origin: dict[str, str]  # attribute → column of the file
    source: SourceConfig
    scales: dict[str, float]
    file: str
    absent: tuple[str, ...] = ()  # canonical columns the mapped file lacks: missing on every row

    @classmethod
    def resolve(
        cls,
        columns: list[str],
        kinds: dict[str, Kind],
        *,
        source: SourceConfig | None = None,
        preset: str | None = None,
        file: str = "input",
        hint: str = "",
        required: bool = True,
    ) -> ProspectColumns:
        """Match ``columns`` (a file's header) to the attributes in ``kinds``.

        ``source``/``preset`` are the accounts source's mapping (``score --map``); without them a
        column matches an attribute by name, ignoring case, spaces and punctuation
        ("Annual Revenue" is ``annual_revenue``), as in a source without a mapping. With a
        mapping, a canonical accounts column the file lacks is missing on every row, as the
        loader makes it for the workspace's own accounts. Any other needed attribute that no
        column provides is a SchemaError naming every one, with ``hint`` (what would fix it),
        unless ``required`` is False (then it is left out).
        """
        source_given = source is not None
        source = source or SourceConfig.model_validate({"path": file})
        names = pl.DataFrame(schema=dict.fromkeys(columns, pl.Utf8))
        found = PRESETS.get(preset) if preset else None
        mapped = map_columns(names, "accounts", source, found, file)
        origin = {**mapped.extras, **mapped.mapping}
        for attr in kinds:
            if attr not in origin and attr in columns:
                origin[attr] = attr  # icpkit's own name, even when the mapping names another
        missing = [a for a in kinds if a not in origin]
        absent = [a for a in missing if a in ACCOUNTS] if source_given else []
        missing = [a for a in missing if a not in absent]
        if missing and required:
            near = {a: closest_column(a, columns) for a in missing}
            close = "; ".join(f"{a} ~ {c!r}" for a, c in near.items() if c)
            raise SchemaError(
                f"{file}: cannot score: the profile needs attribute columns {missing}, which are "
                f"not in the input (columns found: {columns[:30]}"
                + (", …" if len(columns) > 30 else "")
                + ")"
                + (f"; closest: {close}" if close else "")
                + (f". {hint}" if hint else "")
            )
        kept = {a: k for a, k in kinds.items() if a in origin or a in absent}
        return cls(
            kinds=kept,
            origin={a: origin[a] for a in kept if a in origin},
            source=source,
            scales={a: f for a, f in mapped.scales.items() if a in kept},
            file=file,
            absent=tuple(absent),
        )

    def normalise(self, batch: pl.DataFrame, first_row: int = 1) -> pl.DataFrame:
        """The needed attributes of one batch, typed like the accounts source types them.

        ``first_row`` is the file row of the batch's first row (for messages). Raises SchemaError
        with every fatal cell (a canonical number or date that reads as neither), as loading the
        accounts source would.
        """
        rows = pl.int_range(first_row, first_row + batch.height, eager=True, dtype=pl.Int64)
        sub = batch.select([pl.col(c).alias(a) for a, c in self.origin.items()]).with_columns(
            rows.alias(ROW)
        )
        canonical = {a: c for a, c in self.origin.items() if a in ACCOUNTS}
        extras = {a: c for a, c in self.origin.items() if a not in ACCOUNTS}
        mapped = MappedTable(sub, canonical, extras, dict(self.scales), [])
        work = TableNormaliser("accounts", self.file, self.source, mapped)
        out = []
        for attr, kind in self.kinds.items():
            if attr in self.absent:
                out.append(pl.Series(attr, [None] * batch.height, dtype=ACCOUNTS[attr]))
                continue
            if attr in ACCOUNTS:
                typed = work.canonical(attr, ACCOUNTS[attr]).cast(ACCOUNTS[attr])
            else:
                typed = work.extra(attr)
            out.append(_coerce(typed, sub[attr], kind, self.source).alias(attr))
        fatal = [p for p in work.problems if p.severity == "fatal"]
        if fatal:
            n = len(fatal)
            raise SchemaError(
                f"{self.file}: {n} unreadable value{'s' if n != 1 else ''} in the columns "
                f"scoring reads: {fatal[0]}",
                fatal,
            )
        return pl.DataFrame(out, schema={s.name: s.dtype for s in out})


def _coerce(typed: pl.Series, raw: pl.Series, kind: Kind, source: SourceConfig) -> pl.Series:
    """The typed column in the kind the consumer reads (a batch cannot retype an attribute)."""
    dtype = typed.dtype
    if kind == "numeric":
        if dtype.is_numeric() or dtype.is_temporal():
            return typed
        if dtype == pl.Boolean:
            return typed.cast(pl.Float64)
        text = clean_text(raw) if not isinstance(raw.dtype, pl.List) else raw.cast(pl.Utf8)
        numbers, bad = parse_numbers(text)
        if bad.any():  # a date attribute is binned by its year, as in training
            years = parse_dates(text, source.date_format).values.dt.year().cast(pl.Float64)
            numbers = numbers.fill_null(years)
        return numbers
    if kind == "categorical":
        if dtype in (pl.Utf8, pl.Boolean):
            return typed
        return clean_text(raw)
    if kind == "tag":
        if isinstance(dtype, pl.List):
            return typed.cast(pl.List(pl.Utf8))
        return split_tags(raw)
    return typed
