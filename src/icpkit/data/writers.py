"""One table writer for every command that writes a table: atomic, formula-guarded, CSV/Parquet/Excel.

``TableWriter`` streams batches (bulk scoring writes millions of rows a batch at a time) and
``write_table`` writes one frame (intent columns, personas_missing, title hygiene, lookalikes, the
CRM import files). Either way the file is written to a temporary name beside the target and renamed
when complete (``atomic_path``): a failed run leaves the previous file, or none.

Text meant for a spreadsheet is made inert (CSV and Excel): a cell starting with ``= + - @`` or a
tab / carriage return gets a leading apostrophe, unless it is a plain number, so a company named
``=HYPERLINK(…)`` in a CRM cannot run as a formula when the file is opened or imported. Parquet
keeps the values as they are (it is read by programs, not spreadsheets). Lists are joined with
``list_separator`` in CSV and Excel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from icpkit.atomic import atomic_path
from icpkit.errors import ConfigError

TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")
EXCEL_ROWS = 1_048_575  # a worksheet holds 1,048,576 rows, the header included
_DANGER = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def csv_safe(table: pa.Table, list_separator: str = ";") -> pa.Table:
    """Text cells made inert for spreadsheets; dictionaries decoded and lists joined for CSV.

    The table is rebuilt once (replacing columns one by one would copy the column list per
    column: quadratic in the width of the file)."""
    columns = []
    for column in table.columns:
        chunks = [_safe_chunk(chunk, list_separator) for chunk in column.chunks] or [
            _safe_chunk(pa.array([], column.type), list_separator)  # no rows: the type still
        ]
        columns.append(pa.chunked_array(chunks, chunks[0].type))
    return pa.table(columns, names=table.column_names)


def _safe_chunk(chunk: pa.Array, separator: str = ";") -> pa.Array:
    if pa.types.is_dictionary(chunk.type):
        words = _safe_chunk(chunk.dictionary, separator)
        return pa.DictionaryArray.from_arrays(chunk.indices, words).dictionary_decode()
    if pa.types.is_list(chunk.type) or pa.types.is_large_list(chunk.type):
        return _safe_chunk(pc.binary_join(chunk.cast(pa.list_(pa.string())), separator))
    if pa.types.is_string_view(chunk.type):
        chunk = chunk.cast(pa.large_string())
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return chunk
    starts = pc.match_substring_regex(chunk, _DANGER)
    if not pc.any(starts).as_py():  # the common case: one kernel per column, nothing copied
        return chunk
    chunk = chunk.cast(pa.string())  # the join kernel needs one string type on every side
    danger = pc.and_(starts, pc.invert(pc.match_substring_regex(chunk, _NUMBER)))
    quoted = pc.binary_join_element_wise(pa.scalar("'"), chunk, "")
    return pc.if_else(pc.fill_null(danger, False), quoted, chunk)


def parquet_writer(
    path: Path, schema: pa.Schema, no_statistics: Collection[str] = ()
) -> pq.ParquetWriter:
    """A Parquet writer with dictionary pages where they pay off: text, flags and small integers
    (a score, a tier); wide numbers (ids, amounts, dates) rarely repeat, and trying costs more
    than writing them. Min/max statistics for every column but the ``no_statistics`` ones."""
    small = [
        leaf
        for f in schema
        for leaf, kind in _leaves(f.name, f.type)
        if not (
            pa.types.is_floating(kind)
            or pa.types.is_temporal(kind)
            or (pa.types.is_integer(kind) and kind.bit_width > 16)
        )
    ]
    statistics: bool | list[str] = True
    if set(no_statistics) & set(schema.names):
        statistics = [
            leaf
            for f in schema
            if f.name not in no_statistics
            for leaf, _ in _leaves(f.name, f.type)
        ]
    return pq.ParquetWriter(str(path), schema, use_dictionary=small, write_statistics=statistics)


def _leaves(path: str, kind: pa.DataType) -> Iterator[tuple[str, pa.DataType]]:
    """The Parquet column paths under a field (``tags.list.element`` for a list of text), the
    names ``use_dictionary`` matches, with their Arrow types."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        yield from _leaves(f"{path}.list.element", kind.value_type)
    elif pa.types.is_map(kind):
        yield from _leaves(f"{path}.key_value.key", kind.key_type)
        yield from _leaves(f"{path}.key_value.value", kind.item_type)
    elif pa.types.is_struct(kind):
        for i in range(kind.num_fields):
            yield from _leaves(f"{path}.{kind.field(i).name}", kind.field(i).type)
    else:
        yield path, kind


class _ExcelWriter:
    """Rows appended to one worksheet (openpyxl's write-only mode: memory stays flat)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        try:
            from openpyxl import Workbook
        except ImportError:
            raise ConfigError(
                f"{path}: writing Excel needs openpyxl (pip install openpyxl), or write .csv or "
                ".parquet"
            ) from None
        self.path = path
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("accounts")
        self.sheet.append(list(schema.names))
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.rows > EXCEL_ROWS:
            raise ConfigError(
                f"{self.path}: more than {EXCEL_ROWS:,} rows do not fit an Excel worksheet; "
                "write .csv or .parquet"
            )
        for row in zip(*(c.to_pylist() for c in table.columns), strict=True):
            self.sheet.append(list(row))

    def close(self) -> None:
        self.book.save(str(self.path))


class TableWriter:
    """Write a table in batches to ``target`` (.csv, .parquet or .xlsx), atomically.

    ::

        with TableWriter(path) as out:
            for batch in batches:
                out.write(batch)

    The first batch fixes the schema (later ones are cast to it); with no batch at all, the file
    still gets the header of ``empty_schema`` (or no column). Parquet columns named in
    ``no_statistics`` get no min/max statistics. ``guarded=True`` on ``write`` says
    the batch already went through ``csv_safe`` (bulk scoring does it on its worker threads).
    """

    def __init__(
        self,
        target: Path | str,
        *,
        suffixes: tuple[str, ...] = TABLE_SUFFIXES,
        empty_schema: pa.Schema | None = None,
        list_separator: str = ";",
        no_statistics: Collection[str] = (),
    ) -> None:
        self.target = Path(target)
        self.suffix = self.target.suffix.lower()
        if self.suffix not in suffixes:
            raise ConfigError(
                f"{self.target}: expected one of {', '.join(suffixes)} as the output file; "
                f"got {self.suffix or 'no extension'!r}"
            )
        self.empty_schema = empty_schema
        self.separator = list_separator
        self.no_statistics = tuple(no_statistics)
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None
        self._writer: Any = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> TableWriter:
        self._tmp = self._stack.enter_context(atomic_path(self.target))
        return self

    def write(self, table: pa.Table, *, guarded: bool = False) -> None:
        assert self._tmp is not None, "use TableWriter in a with block"
        if self.suffix != ".parquet" and not guarded:
            table = csv_safe(table, self.separator)
        if self._writer is None:
            self._open(table.schema)
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        if self.suffix == ".parquet":
            self._writer.write_table(table)
        else:
            self._writer.write(table)

    def _open(self, schema: pa.Schema) -> None:
        assert self._tmp is not None
        self._schema = schema
        if self.suffix == ".csv":
            self._writer = pacsv.CSVWriter(str(self._tmp), schema)
        elif self.suffix == ".parquet":
            self._writer = parquet_writer(self._tmp, schema, self.no_statistics)
        else:
            self._writer = _ExcelWriter(self._tmp, schema)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._writer is None and kind is None:  # an empty table still gets a header
                self.write((self.empty_schema or pa.schema([])).empty_table())
            if self._writer is not None:
                self._writer.close()
        except BaseException as failed:  # a broken file is removed, never renamed into place
            if not self._stack.__exit__(type(failed), failed, failed.__traceback__):
                raise
            return
        self._stack.__exit__(kind, error, trace)  # renamed into place, or removed


def write_table(
    frame: pl.DataFrame | pa.Table,
    path: Path | str,
    *,
    suffixes: tuple[str, ...] = TABLE_SUFFIXES,
    list_separator: str = ";",
) -> Path:
    """Write one table to ``path`` (.csv, .parquet or .xlsx): atomic, formula-guarded."""
    table = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
    with TableWriter(
        path, suffixes=suffixes, empty_schema=table.schema, list_separator=list_separator
    ) as out:
        if table.num_rows:
            out.write(table)
    return Path(path)
