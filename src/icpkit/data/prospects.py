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

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from icpkit.config import DEFAULT_NA_VALUES, SourceConfig
from icpkit.data.dates import parse_dates
from icpkit.data.hygiene import apply_na_values
from icpkit.data.mapping import PRESETS, ROW, MappedTable, closest_column, map_columns
from icpkit.data.model import SCHEMA
from icpkit.data.normalize import clean_text, parse_numbers, split_tags
from icpkit.data.readers import CELL_LIMIT
from icpkit.data.tables import TableNormaliser
from icpkit.errors import Problem, SchemaError

Kind = Literal["numeric", "categorical", "tag", "any"]
ACCOUNTS = SCHEMA["accounts"]
TYPED_SETS = 4096  # typed value sets kept per ProspectColumns (the API's repeated values)


def json_cell(value: Any, kind: Kind = "any") -> str | None:
    """A JSON value as the text a CSV cell of an export would hold, so a record posted to the API
    is read exactly as the same row of a file: numbers as their digits, lists of tags joined with
    ',' (as ``split_tags`` joins a list column), objects as their JSON text. What JSON can say
    but a number cell cannot — ``true``/``false``, ``Infinity``, ``1e400`` (which parses as
    infinite) — is missing in a ``numeric`` field, as the CLI reads an overflowing cell."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None if kind == "numeric" else ("true" if value else "false")
    if isinstance(value, float):
        return str(value) if math.isfinite(value) else None
    if isinstance(value, str | int):
        return str(value)
    if isinstance(value, list):
        return ",".join(str(v) for v in value if v is not None and not isinstance(v, dict | list))
    return json.dumps(value, default=str)


def oversized_cells(
    batch: pl.DataFrame | pa.Table, columns: Sequence[str], file: str, first_row: int = 1
) -> list[Problem]:
    """Text cells over ``CELL_LIMIT`` bytes in ``columns``, each named by file row and column
    (the reader refuses them in a CSV file; Parquet and Spark batches and records posted to the
    API are checked here). One length kernel per column, on a dictionary's words when the
    column is dictionary-encoded: no copy of the column."""
    problems: list[Problem] = []
    for name in columns:
        if isinstance(batch, pl.DataFrame):
            problems += _oversized_text(batch[name], file, first_row)
            continue
        column = batch.column(name)
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        offset = first_row
        for chunk in chunks:
            words = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
            if pa.types.is_string_view(words.type):
                words = words.cast(pa.large_string())
            if pa.types.is_string(words.type) or pa.types.is_large_string(words.type):
                sizes = pc.binary_length(words)
                biggest = pc.max(sizes).as_py()
                if biggest is not None and biggest > CELL_LIMIT:
                    if words is not chunk:
                        sizes = sizes.take(chunk.indices)
                    over = pc.indices_nonzero(pc.fill_null(pc.greater(sizes, CELL_LIMIT), False))
                    problems += [
                        Problem(
                            file=file,
                            row=offset + index,
                            column=name,
                            code="cell_too_large",
                            message=f"cell of {sizes[index].as_py():,} bytes is over the "
                            f"{CELL_LIMIT:,}-byte limit",
                            expected=f"at most {CELL_LIMIT:,} bytes",
                        )
                        for index in over.to_pylist()[: 20 - len(problems)]
                    ]
            offset += len(chunk)
    return problems[:20]


def _oversized_text(values: pl.Series, file: str, first_row: int) -> list[Problem]:
    """``oversized_cells`` of one polars column (polars' own length kernel: no Arrow copy)."""
    if values.dtype != pl.Utf8:
        return []
    sizes = values.str.len_bytes()
    biggest = sizes.max()
    if not isinstance(biggest, int) or biggest <= CELL_LIMIT:
        return []
    return [
        Problem(
            file=file,
            row=first_row + index,
            column=values.name,
            code="cell_too_large",
            message=f"cell of {sizes[index]:,} bytes is over the {CELL_LIMIT:,}-byte limit",
            expected=f"at most {CELL_LIMIT:,} bytes",
        )
        for index in (sizes > CELL_LIMIT).arg_true().head(20).to_list()
    ]


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
    # placeholders read as missing, as loading the accounts source reads them ("n/a", "Select"…)
    na_values: tuple[str, ...] = DEFAULT_NA_VALUES
    # attribute → (dictionary, its typed values) of the last batch: the batches of one Parquet
    # row group share their dictionary, so it is typed once per row group, not once per batch
    _typed_words: dict[str, tuple[pa.Array, pa.Array]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # (attribute, the distinct texts of a request) → each text typed: records posted to the API
    # repeat their values, and typing is per column (a number style, a date order), so a set of
    # values is typed together, once
    _typed_sets: dict[tuple[str, frozenset[str]], dict[str, Any]] = field(
        default_factory=dict, compare=False, repr=False
    )

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

    def record_frame(self, records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
        """JSON records as the text table a CSV of the same rows would be (``json_cell``):
        the columns ``normalise`` reads, all text, one row per record."""
        kinds = {self.origin[a]: k for a, k in self.kinds.items() if a in self.origin}
        if not kinds:  # no field the profile reads: one row per record all the same
            return pl.DataFrame({"record": list(range(1, len(records) + 1))})
        return pl.DataFrame(
            {name: [json_cell(r.get(name), kind) for r in records] for name, kind in kinds.items()},
            schema=dict.fromkeys(kinds, pl.Utf8),
        )

    def typed_records(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
        """The needed attributes of a few JSON records as Python values, typed as ``normalise``
        types ``record_frame(records)`` (the same functions, on each column's distinct texts, so
        no frame is built when the values were seen before). None when a value is unreadable:
        the caller then takes ``normalise``, whose error names the row."""
        out: list[dict[str, Any]] = [{} for _ in records]
        for attr, kind in self.kinds.items():
            origin = self.origin.get(attr)
            texts = [None if origin is None else json_cell(r.get(origin), kind) for r in records]
            if any(t is not None and len(t) > CELL_LIMIT for t in texts):
                return None
            distinct = frozenset(t for t in texts if t is not None)
            key = (attr, distinct)
            typed = self._typed_sets.get(key)
            if typed is None:
                typed = {}
                if distinct and origin is not None:
                    words = sorted(distinct)
                    series = pl.Series(attr, words, dtype=pl.Utf8)
                    values, problems = self._column(attr, kind, series, None)
                    if any(p.severity == "fatal" for p in problems):
                        return None
                    typed = dict(zip(words, values.to_list(), strict=True))
                if len(self._typed_sets) >= TYPED_SETS:
                    self._typed_sets.clear()
                self._typed_sets[key] = typed
            for row, text in zip(out, texts, strict=True):
                row[attr] = None if text is None else typed[text]
        return out

    def normalise(self, batch: pl.DataFrame, first_row: int = 1) -> pl.DataFrame:
        """The needed attributes of one batch as a polars frame (see ``normalise_arrow``)."""
        frame = pl.from_arrow(self.normalise_arrow(batch, first_row))
        assert isinstance(frame, pl.DataFrame)
        categorical = [c for c, t in frame.schema.items() if t == pl.Categorical]
        return frame.with_columns(pl.col(categorical).cast(pl.Utf8)) if categorical else frame

    def normalise_arrow(self, batch: pl.DataFrame | pa.Table, first_row: int = 1) -> pa.Table:
        """The needed attributes of one batch, typed like the accounts source types them.

        ``batch`` is a polars frame or an Arrow table (a Parquet batch as decoded); ``first_row``
        is the file row of the batch's first row (for messages). A text column is typed once
        per distinct value (the accounts normaliser is applied to the column's dictionary, then
        gathered), and a category stays dictionary-encoded for the scorer; the values are those
        the row-by-row path gives. Raises SchemaError with every fatal cell (a canonical number
        or date that reads as neither), as loading the accounts source would.
        """
        arrays: list[pa.Array] = []
        fatal: list[Problem] = []
        height = len(batch)
        for attr, kind in self.kinds.items():
            if attr in self.absent:
                empty = pl.Series(attr, [None] * height, dtype=ACCOUNTS[attr])
                arrays.append(_coerce(empty, empty, kind, self.source).to_arrow())
                continue
            plain = self._plain_numbers(batch, attr, kind)
            if plain is not None:
                arrays.append(plain)
                continue
            raw, encoded = _text_encoded(batch, self.origin[attr], kind)
            if encoded is not None:  # numbers rarely repeat; categories and tags do
                values = self._typed_dictionary(attr, kind, encoded.dictionary)
                if values is not None:
                    if pa.types.is_string(values.type):
                        # the indices are the decoded column's own: valid for its typed dictionary
                        arrays.append(
                            pa.DictionaryArray.from_arrays(encoded.indices, values, safe=False)
                        )
                    else:
                        arrays.append(values.take(encoded.indices))
                    continue
            typed, problems = self._column(attr, kind, raw(), first_row)  # rows for messages
            fatal += [p for p in problems if p.severity == "fatal"]
            arrays.append(typed.to_arrow())
        if fatal:
            n = len(fatal)
            raise SchemaError(
                f"{self.file}: {n} unreadable value{'s' if n != 1 else ''} in the columns "
                f"scoring reads: {fatal[0]}",
                fatal,
            )
        return pa.table(arrays, names=list(self.kinds))

    def _plain_numbers(
        self, batch: pl.DataFrame | pa.Table, attr: str, kind: Kind
    ) -> pa.Array | None:
        """An extra numeric attribute already stored as numbers (a Parquet int or float column),
        which the normaliser returns untouched (``TableNormaliser.extra`` then ``_coerce``): the
        column itself, without a trip through polars. None for anything the normaliser changes
        (canonical columns: scales, negatives, overflow; tag columns; text)."""
        origin = self.origin[attr]
        if kind != "numeric" or attr in ACCOUNTS or not isinstance(batch, pa.Table):
            return None
        if {attr, origin} & set(self.source.tag_columns):
            return None
        column = batch.column(origin)
        numeric = pa.types.is_float32(column.type) or pa.types.is_float64(column.type)
        if not (numeric or pa.types.is_integer(column.type)):
            return None
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)

    def _typed_dictionary(self, attr: str, kind: Kind, words: pa.Array) -> pa.Array | None:
        """A text column's distinct values typed (None when one of them is fatal: the caller
        then types the column row by row, for messages with rows).

        Every Parquet row group has a dictionary of its own, usually the same words in another
        order: the same words are typed once and reordered (the typing of a set of distinct
        values does not depend on their order)."""
        last = self._typed_words.get(attr)
        if last is not None and last[0].equals(words):
            return last[1]
        if last is not None and len(last[0]) == len(words) and not words.null_count:
            where = pc.index_in(words, value_set=last[0])
            distinct = pc.count_distinct(words).as_py() == len(words)
            if distinct and not where.null_count:  # all known: the same set reordered
                values = last[1].take(where)
                self._typed_words[attr] = (words, values)
                return values
        typed, problems = self._column(attr, kind, pl.Series(attr, words).cast(pl.Utf8), None)
        if any(p.severity == "fatal" for p in problems):
            return None
        values = typed.to_arrow()
        if typed.dtype == pl.Utf8:
            values = values.cast(pa.string())
        self._typed_words[attr] = (words, values)
        return values

    def _column(
        self, attr: str, kind: Kind, values: pl.Series, first_row: int | None
    ) -> tuple[pl.Series, list[Problem]]:
        """One attribute typed by the accounts normaliser, then coerced to ``kind``."""
        if values.dtype == pl.Utf8:  # the same placeholders as the accounts source, first
            extra = self.source.na_values.get(attr) or self.source.na_values.get(
                self.origin.get(attr, ""), []
            )
            cleared, _ = apply_na_values(
                pl.DataFrame([values.alias(attr)]), [attr], self.na_values, {attr: list(extra)}
            )
            values = cleared[attr]
        start = 1 if first_row is None else first_row
        rows = pl.int_range(start, start + len(values), eager=True, dtype=pl.Int64)
        frame = pl.DataFrame([values.alias(attr), rows.alias(ROW)])
        canonical = {attr: self.origin[attr]} if attr in ACCOUNTS else {}
        extras = {} if attr in ACCOUNTS else {attr: self.origin[attr]}
        scales = {a: f for a, f in self.scales.items() if a == attr}
        work = TableNormaliser(
            "accounts", self.file, self.source, MappedTable(frame, canonical, extras, scales, [])
        )
        if attr in ACCOUNTS:
            typed = work.canonical(attr, ACCOUNTS[attr]).cast(ACCOUNTS[attr])
        elif kind == "numeric" and values.dtype == pl.Utf8:
            # what ``extra`` would infer (number, date, 0/1 flag) reads the same as a number or a
            # date's year, which is what the scorecard bins; skip the inference
            typed = values
        else:
            typed = work.extra(attr)
        return _coerce(typed, values, kind, self.source).alias(attr), work.problems


def _text_encoded(
    batch: pl.DataFrame | pa.Table, name: str, kind: Kind
) -> tuple[Callable[[], pl.Series], pa.DictionaryArray | None]:
    """Column ``name`` of a batch: a maker of its polars series (what ``pl.from_arrow`` makes of
    an Arrow table) and, for text read as anything but a number, its dictionary encoding."""
    if isinstance(batch, pl.DataFrame):
        series = batch[name]
        text = series.dtype in (pl.Utf8, pl.Categorical) or isinstance(series.dtype, pl.Enum)
        column: pa.Array | None = series.to_arrow() if text and kind != "numeric" else None
        raw: Callable[[], pl.Series] = lambda: series  # noqa: E731
    else:
        chunked = batch.column(name)
        array = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
        kind_of = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
        text = (
            pa.types.is_string(kind_of)
            or pa.types.is_large_string(kind_of)
            or pa.types.is_string_view(kind_of)
        )
        column = array if text and kind != "numeric" else None
        raw = lambda: pl.Series(name, array)  # noqa: E731
    if column is None:
        return raw, None
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    return raw, column


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
