"""Raw readers: CSV/TSV, Excel, Parquet, SQLite and DuckDB files into polars frames.

CSV is read with every column as text so that normalisation can name the row and column of each
bad cell. Encoding (UTF-8, UTF-8 with BOM, UTF-16, Latin-1/cp1252) and delimiter are sniffed.
Every failure of the file itself — missing, empty, binary, undecodable, ragged, a cell larger than
``CELL_LIMIT`` — becomes a SchemaError naming the file, never a reader library's traceback.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.data import batch
from icpkit.data.similar import closest
from icpkit.data.sqlsafe import (
    UnsafeQuery,
    check_select,
    duckdb_readonly,
    sqlite_readonly,
    table_name,
)
from icpkit.errors import ConfigError, Problem, SchemaError

CELL_LIMIT = 1_000_000  # bytes; a larger cell is a broken export or an embedded file, not a value
DELIMITERS = (",", ";", "\t", "|")
TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ""}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SQLITE_SUFFIXES = {".sqlite", ".sqlite3", ".db"}
DUCKDB_SUFFIXES = {".duckdb", ".ddb"}
DATA_SUFFIXES = TEXT_SUFFIXES - {""} | EXCEL_SUFFIXES | PARQUET_SUFFIXES | SQLITE_SUFFIXES
DATA_SUFFIXES |= DUCKDB_SUFFIXES
_MAGIC = {
    b"PK\x03\x04": "a ZIP archive or an Excel .xlsx file",
    b"PAR1": "a Parquet file",
    b"SQLite format 3\x00": "a SQLite database",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls / Office file",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
}
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _fail(path: Path, message: str, code: str, **where: object) -> SchemaError:
    problem = Problem(file=str(path), message=message, code=code, **where)  # type: ignore[arg-type]
    return SchemaError(f"{path}: {message}", [problem])


def _decode(path: Path, raw: bytes, encoding: str | None) -> str:
    """Text of a file: the given encoding, else UTF-16/UTF-8 (BOM aware), else cp1252/Latin-1."""
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise _fail(path, f"cannot be read as {encoding}: {exc}", "encoding") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for candidate in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(candidate)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _check_is_text(path: Path, raw: bytes) -> None:
    """Refuse binary files with a message saying what the file looks like."""
    for magic, kind in _MAGIC.items():
        if raw.startswith(magic):
            raise _fail(
                path,
                f"looks like {kind}, not delimited text; give it the right "
                "file extension (.xlsx, .parquet, .sqlite …)",
                "binary",
            )
    head = raw[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text (Excel "Unicode text"): NUL bytes are part of every character
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13))
    if b"\x00" in head or controls > max(8, len(head) // 100):
        raise _fail(path, "is a binary or garbled file (NUL/control bytes), not CSV text", "binary")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same, largest number of fields."""
    lines = [line for line in text[:65536].splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", 0.0
    for delimiter in DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        if counts[0] == 0:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        score = counts[0] * consistent
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _too_wide(path: Path, width: int, limit: int | None) -> None:
    if limit is not None and width > limit:
        raise _fail(
            path,
            f"has {width:,} columns, more than max_columns = {limit:,}; keep the account "
            "attributes in a narrower export or raise max_columns in icpkit.toml",
            "too_many_columns",
            expected=f"at most {limit:,} columns",
        )


def _read_csv(
    path: Path, delimiter: str | None, encoding: str | None, max_columns: int | None = None
) -> pl.DataFrame:
    raw = path.read_bytes()
    _check_is_text(path, raw)
    text = _decode(path, raw, encoding)
    if not text.strip():
        raise _fail(path, "holds only blank space, no header and no rows", "empty")
    chosen = delimiter or (
        "\t" if path.suffix.lower() in {".tsv", ".tab"} else sniff_delimiter(text)
    )
    header = text[: text.find("\n") if "\n" in text else len(text)]
    _too_wide(path, header.count(chosen) + 1, max_columns)  # before parsing a 100k-column file
    data = raw if raw.isascii() else text.encode("utf-8")
    try:
        frame = pl.read_csv(
            io.BytesIO(data),
            separator=chosen,
            infer_schema=False,
            has_header=True,
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        reason = _parse_reason(exc)
        ragged = _ragged_row(text, chosen)
        where = (
            f" (first at row {ragged[0]}: {ragged[1]} fields, the header has {ragged[2]})"
            if ragged
            else ""
        )
        raise _fail(
            path,
            f"is not a readable {_DELIMITER_NAMES.get(chosen, repr(chosen))}"
            f"-delimited file: {reason}{where}",
            "unreadable",
        ) from None
    if delimiter and frame.width == 1:
        _check_wrong_delimiter(path, frame.columns[0], delimiter)
    return frame


def _check_wrong_delimiter(path: Path, header: str, delimiter: str) -> None:
    others = [d for d in DELIMITERS if d != delimiter and d in header]
    if others:
        likely = max(others, key=header.count)
        raise _fail(
            path,
            f"has a single column {header[:60]!r}: it looks {_DELIMITER_NAMES[likely]}-delimited "
            f"({likely!r}), but delimiter = {delimiter!r} is set in icpkit.toml",
            "wrong_delimiter",
            expected=f"delimiter = {likely!r}",
        )


def _read_excel(path: Path, sheet: str | None) -> pl.DataFrame:
    try:
        import fastexcel

        reader = fastexcel.read_excel(str(path))
        names = list(reader.sheet_names)
        if sheet is not None and sheet not in names:
            close = closest(sheet, names)
            hint = f"; did you mean {close!r}?" if close else ""
            raise _fail(path, f"has no sheet {sheet!r} (sheets: {', '.join(names)}){hint}", "sheet")
        frame = reader.load_sheet(sheet if sheet is not None else 0).to_polars()
    except SchemaError:
        raise
    except Exception as exc:  # the Excel engines raise their own, undocumented error types
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(path, f"is not a readable Excel workbook: {reason}", "unreadable") from None
    return frame


def _sql_source(
    path: Path, table: str | None, query: str | None, tables: list[str], dialect: str
) -> str:
    if query and (named := table_name(query)) is not None and named in tables:
        table, query = named, None
    if query:
        try:
            return check_select(query, dialect)
        except UnsafeQuery as exc:  # a setting that must change, not data to fix: ConfigError
            raise ConfigError(
                f"{path.name}: the query is refused: it {exc} (expected one SELECT from the "
                f"file's tables: {', '.join(tables[:8]) or 'none'})"
            ) from None
    if table is None:
        if len(tables) != 1:
            found = ", ".join(tables) or "none"
            raise _fail(
                path,
                f"holds several tables ({found}); set `table` or `query` for this "
                "source in icpkit.toml",
                "sql_table",
            )
        table = tables[0]
    if table not in tables:
        close = closest(table, tables)
        hint = f"; did you mean {close!r}?" if close else ""
        found = ", ".join(tables) or "none"
        raise _fail(path, f"has no table {table!r} (tables: {found}){hint}", "sql_table")
    return 'SELECT * FROM "' + table.replace('"', '""') + '"'


def _read_sqlite(path: Path, table: str | None, query: str | None) -> pl.DataFrame:
    try:
        with sqlite_readonly(path) as connection:
            listing = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name"
            tables = [row[0] for row in connection.execute(listing)]
            cursor = connection.execute(_sql_source(path, table, query, tables, "sqlite"))
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
    except sqlite3.Error as exc:
        raise _fail(path, f"SQLite error: {exc}", "unreadable") from None
    # SQLite columns may mix types per row; text keeps every value and its row for messages.
    data = {c: [None if r[i] is None else str(r[i]) for r in rows] for i, c in enumerate(columns)}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.Utf8))


def duckdb_module(path: Path | str = "") -> Any:
    """The duckdb package, or a clear error saying how to install it (it is the `sql` extra)."""
    try:
        import duckdb
    except ImportError:
        where = f"{path}: " if path else ""
        raise ConfigError(
            f"{where}reading DuckDB files needs the duckdb package: pip install 'icpkit[sql]'"
        ) from None
    return duckdb


def _read_duckdb(path: Path, table: str | None, query: str | None) -> pl.DataFrame:
    duckdb = duckdb_module(path)

    try:
        with duckdb_readonly(path) as connection:
            tables = [row[0] for row in connection.execute("SHOW TABLES").fetchall()]
            relation = connection.sql(_sql_source(path, table, query, tables, "duckdb"))
            return _as_plain_types(relation).pl()
    except duckdb.Error as exc:
        raise _fail(path, f"DuckDB error: {str(exc).splitlines()[0]}", "unreadable") from None


# DuckDB types polars reads as plain columns; any other (VARIANT, UNION, MAP, BIT, …) arrives as
# an Arrow extension or object type nothing downstream can cast, so it is read as its text.
_PLAIN_DUCKDB = re.compile(
    r"^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|"
    r"FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|VARCHAR|DATE|TIME|TIMESTAMP.*|UUID|JSON)(\[\])*$"
)


def _as_plain_types(relation: Any) -> Any:
    columns, types = relation.columns, [str(t).upper() for t in relation.types]
    if all(_PLAIN_DUCKDB.match(t) for t in types):
        return relation
    quoted = ['"' + c.replace('"', '""') + '"' for c in columns]
    return relation.project(
        ", ".join(
            q if _PLAIN_DUCKDB.match(t) else f"CAST({q} AS VARCHAR) AS {q}"
            for q, t in zip(quoted, types, strict=True)
        )
    )


def _check_cell_sizes(path: Path, frame: pl.DataFrame) -> None:
    """Reject cells over CELL_LIMIT bytes, naming each row and column."""
    problems: list[Problem] = []
    text = [c for c, t in frame.schema.items() if t == pl.Utf8]  # the schema once: wide files
    if not text or frame.height == 0:
        return
    longest = batch.scalars(frame, [pl.col(c).str.len_bytes().max() for c in text])
    for column, size in zip(text, longest, strict=True):
        if not isinstance(size, int) or size <= CELL_LIMIT:
            continue
        rows = (frame[column].str.len_bytes() > CELL_LIMIT).arg_true()
        for row in rows.head(20).to_list():
            size = frame[column][row].encode().__len__()
            problems.append(
                Problem(
                    file=str(path),
                    row=row + 1,
                    column=column,
                    code="cell_too_large",
                    message=f"cell of {size:,} bytes is over the {CELL_LIMIT:,}-byte limit",
                    expected=f"at most {CELL_LIMIT:,} bytes",
                )
            )
    if problems:
        raise SchemaError(f"{path}: cells too large to be values", problems)


def _check_file(path: Path) -> None:
    """A missing file, a folder or an empty file: a SchemaError naming it."""
    if not path.exists():
        near = closest(path.name, [p.name for p in path.parent.glob("*")])
        hint = f"; did you mean {near!r}?" if near else ""
        raise _fail(path, f"file not found{hint}", "missing_file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a data file", "missing_file")
    if path.stat().st_size == 0:
        raise _fail(path, "is empty (0 bytes): expected a header row and data rows", "empty")


def read_table(
    path: Path | str,
    *,
    table: str | None = None,
    query: str | None = None,
    sheet: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    max_columns: int | None = None,
) -> pl.DataFrame:
    """Read one source file into a polars frame (CSV as text; other formats as typed).

    Parameters
    ----------
    path : the file; the format follows the extension (.csv/.tsv/.txt, .xlsx, .parquet,
        .sqlite/.db, .duckdb).
    table, query : for SQL files, the table to read or a SELECT to run.
    sheet : for Excel files, the sheet name (default: the first sheet).
    delimiter, encoding : for text files (default: sniffed).
    max_columns : refuse a wider file (checked on the header, before the rows are parsed).

    Raises
    ------
    SchemaError
        The file is missing, empty, binary, unreadable or holds an oversized cell.
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        frame = _read_excel(path, sheet)
    elif suffix in PARQUET_SUFFIXES:
        try:
            _too_wide(path, len(pl.read_parquet_schema(path)), max_columns)
            frame = pl.read_parquet(path)
        except SchemaError:
            raise
        except Exception as exc:  # pyarrow/polars raise several unrelated error types
            raise _fail(path, f"is not a readable Parquet file: {exc}", "unreadable") from None
    elif suffix in SQLITE_SUFFIXES:
        frame = _read_sqlite(path, table, query)
    elif suffix in DUCKDB_SUFFIXES:
        frame = _read_duckdb(path, table, query)
    else:
        frame = _read_csv(path, delimiter, encoding, max_columns)
    _too_wide(path, frame.width, max_columns)
    _check_cell_sizes(path, frame)
    return frame


def header_problems(path: Path | str, frame: pl.DataFrame) -> list[Problem]:
    """Blank or duplicated header names (polars renames them; the user should know)."""
    problems = []
    for column in frame.columns:
        if column.strip() == "" or re.fullmatch(r".+_duplicated_\d+", column):
            problems.append(
                Problem(
                    file=str(path),
                    column=column,
                    severity="warning",
                    code="header",
                    message="blank or repeated column name in the header; renamed by the reader",
                )
            )
    return problems


def sql_tables(path: Path | str) -> list[str]:
    """Names of the tables (and views) in a SQLite or DuckDB file; [] when it cannot be read."""
    path = Path(path)
    try:
        if path.suffix.lower() in SQLITE_SUFFIXES:
            with sqlite_readonly(path) as connection:
                listing = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                return sorted(row[0] for row in connection.execute(listing))
        duckdb_module(path)  # a clear error when the sql extra is missing
        with duckdb_readonly(path) as connection:
            return sorted(row[0] for row in connection.execute("SHOW TABLES").fetchall())
    except Exception:  # any unreadable database simply has no tables to offer
        return []


# ---------------------------------------------------------------------------------------------
# Streaming: the same file read in batches (bulk scoring of files larger than memory)

BATCH_ROWS = 500_000
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")  # the only bytes cp1252 cannot decode


@dataclass(frozen=True)
class Batches:
    """A source read batch by batch: its column names (as ``read_table`` names them), the
    batches (polars frames; CSV cells as text; Arrow tables from Parquet when asked for with
    ``arrow=True``), and the row count when known up front."""

    columns: list[str]
    batches: Iterator[Any]
    total: int | None


def _stream_encoding(path: Path, head: bytes, encoding: str | None) -> str:
    """The encoding ``read_table`` would decode the whole file with, found in one pass."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise _fail(path, f"cannot be read as {encoding}: {exc}", "encoding") from None
        return encoding
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    holes = False
    utf8 = True
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            holes = holes or any(bytes([b]) in chunk for b in _CP1252_HOLES)
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8 and holes:
                break
    if utf8:
        try:
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    return "latin-1" if holes else "cp1252"


def _dedupe(names: list[str]) -> list[str]:
    """Header names as polars names them: a repeated name gets ``_duplicated_<n>``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            out.append(f"{name}_duplicated_{seen[name]}")
            seen[name] += 1
        else:
            seen[name] = 0
            out.append(name)
    return out


def _csv_batches(
    path: Path, delimiter: str | None, encoding: str | None, batch_rows: int
) -> Batches:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    _check_is_text(path, head)
    chosen_encoding = _stream_encoding(path, head, encoding)
    size = 1 << 16
    while True:  # the whole header line, however wide the file
        text = head.decode(chosen_encoding, errors="ignore").lstrip("\ufeff")
        if "\n" in text or len(head) < size:
            break
        size *= 4
        with path.open("rb") as handle:
            head = handle.read(size)
    if not text.strip():
        raise _fail(path, "holds only blank space, no header and no rows", "empty")
    chosen = delimiter or (
        "\t" if path.suffix.lower() in {".tsv", ".tab"} else sniff_delimiter(text)
    )
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=chosen), [])
    except csv.Error as exc:  # e.g. a lone carriage return inside the header line
        raise _fail(path, f"its header line cannot be read as CSV ({exc})", "header") from None
    if delimiter and len(header) == 1:
        _check_wrong_delimiter(path, header[0], delimiter)
    names = _dedupe(header)
    try:
        reader = pacsv.open_csv(
            str(path),
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1,
                block_size=max(1 << 16, min(batch_rows * 256, 1 << 28)),
                # pyarrow decodes "utf8" natively; any other name goes through Python codecs
                encoding="utf8" if chosen_encoding == "utf-8" else chosen_encoding,
            ),
            parse_options=pacsv.ParseOptions(delimiter=chosen, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as exc:
        raise _unreadable(path, chosen, exc) from None

    def batches() -> Iterator[pl.DataFrame]:
        pending: list[pl.DataFrame] = []
        size = 0
        try:
            for record in reader:
                frame = pl.from_arrow(pa.Table.from_batches([record]))
                assert isinstance(frame, pl.DataFrame)
                frame.columns = names  # polars renames a blank name; read_table keeps it
                pending.append(frame)
                size += frame.height
                while size >= batch_rows:  # batches of exactly batch_rows rows, then the rest
                    whole = pl.concat(pending, rechunk=False)
                    out, rest = whole.head(batch_rows), whole.slice(batch_rows)
                    _check_cell_sizes(path, out)
                    yield out
                    pending, size = [rest], rest.height
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _unreadable(path, chosen, exc) from None
        if size:
            out = pl.concat(pending, rechunk=False)
            _check_cell_sizes(path, out)
            yield out

    return Batches(names, batches(), None)


def _parse_reason(exc: Exception) -> str:
    """The parser's first line, without the record it may echo (cells can be personal data)."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"(got \d+)\s*:.*$", r"\1", reason)


def _ragged_row(text: str, delimiter: str) -> tuple[int, int, int] | None:
    """(data row, its field count, the header's) of the first row whose field count differs from
    the header's, or None; rows are numbered from 1 after the header, as everywhere."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = len(next(reader))
        for number, row in enumerate(reader, start=1):
            if row and len(row) != header:
                return number, len(row), header
    except (csv.Error, StopIteration):
        return None
    return None


def _unreadable(path: Path, delimiter: str, exc: Exception) -> SchemaError:
    reason = _parse_reason(exc)
    return _fail(
        path,
        f"is not a readable {_DELIMITER_NAMES.get(delimiter, repr(delimiter))}"
        f"-delimited file: {reason}",
        "unreadable",
    )


def _parquet_batches(
    path: Path, batch_rows: int, arrow: bool = False, columns: list[str] | None = None
) -> Batches:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(str(path))
        schema = handle.schema_arrow
    except Exception as exc:  # pyarrow raises several unrelated error types
        raise _fail(path, f"is not a readable Parquet file: {exc}", "unreadable") from None
    # text stays dictionary-encoded: categories are normalised once per distinct value
    text = [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_string_view(f.type)
    ]
    # Column chunks are streamed through a 1 MB buffer: pyarrow's default (pre_buffer, or each
    # chunk read whole) allocates fresh buffers for every row group, which on a 10M-row file
    # took a third of the CPU time of bulk scoring (bench/bench_scoring.py). Not memory-mapped:
    # mapped pages count in the process's memory and a file truncated mid-read would crash it.
    handle = pq.ParquetFile(
        str(path), read_dictionary=text or None, pre_buffer=False, buffer_size=1 << 20
    )

    # only the columns asked for are decoded (names as in the file; None, or a file whose
    # names repeat, reads them all)
    names = list(schema.names)
    read = None
    if columns is not None and len(set(names)) == len(names):
        wanted = set(columns)
        read = [n for n in names if n in wanted]

    def batches() -> Iterator[pl.DataFrame]:
        try:
            for batch in handle.iter_batches(batch_size=batch_rows, columns=read):
                table = pa.Table.from_batches([batch])
                if arrow:  # as decoded: no round trip through polars (bulk scoring)
                    yield table
                    continue
                frame = pl.from_arrow(table)
                assert isinstance(frame, pl.DataFrame)
                yield frame
        except (pa.ArrowInvalid, OSError) as exc:
            raise _fail(path, f"is not a readable Parquet file: {exc}", "unreadable") from None

    return Batches(list(schema.names), batches(), handle.metadata.num_rows)


def read_batches(
    path: Path | str,
    *,
    sheet: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    batch_rows: int = BATCH_ROWS,
    arrow: bool = False,
    columns: list[str] | None = None,
) -> Batches:
    """Read a source in batches of about ``batch_rows`` rows (bounded memory).

    CSV/TSV is decoded, split and named exactly as ``read_table`` does it (same encoding and
    delimiter rules, same names for repeated header cells, every cell as text), so the
    concatenated batches equal ``read_table``'s frame; Parquet streams its row groups; other
    formats are read whole as one batch. Errors are ``read_table``'s. ``arrow=True`` gives
    Parquet batches as the Arrow tables they decode to (every other format stays polars).
    ``columns`` limits a Parquet file's batches to those columns (the others are never
    decoded); ``Batches.columns`` still names every column of the file. Other formats ignore
    it.
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _parquet_batches(path, batch_rows, arrow, columns)
    if suffix in TEXT_SUFFIXES:
        return _csv_batches(path, delimiter, encoding, batch_rows)
    frame = read_table(path, sheet=sheet, delimiter=delimiter, encoding=encoding)
    return Batches(frame.columns, iter([frame]), frame.height)
