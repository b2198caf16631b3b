"""Bulk scoring of account files of any size: CSV, Parquet or Excel in; CSV or Parquet out.

Parquet and CSV are read in batches (bounded memory, so a file larger than RAM streams through),
text attributes of Parquet files stay dictionary-encoded end to end, and the output is written to
a temporary name in the target folder and renamed at the end, so a failed run leaves nothing
half-written. CSV output is neutralised against formula injection: a text cell starting with
``= + - @`` or a tab / carriage return gets a leading apostrophe, unless it is a plain number.

Input columns must carry the profile's attribute names; a missing attribute column is a
``SchemaError`` that names every one (scoring it as silently missing would hide a mapping mistake).
"""

from __future__ import annotations

import contextlib
import csv
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from icpkit.atomic import atomic_path
from icpkit.errors import ConfigError, SchemaError
from icpkit.rules import parse_segment
from icpkit.scoring.apply import OUTPUT_COLUMNS, ScoringPlan

if TYPE_CHECKING:
    from icpkit.profile import IcpProfile

Progress = Callable[[int, int | None], None]
INPUTS = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".xlsx", ".xls")
OUTPUTS = (".csv", ".parquet")
BATCH_ROWS = 500_000
_DANGER = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_TAG_SPLIT = r"\s*[,;|]\s*"
_NULLS = ["", "NA", "N/A", "n/a", "null", "NULL", "None", "NaN", "nan"]


@dataclass(frozen=True)
class _Columns:
    """What the plan needs to know about input columns: numeric attributes and tag columns."""

    numeric: frozenset[str]
    tags: frozenset[str]

    @classmethod
    def of(cls, plan: ScoringPlan) -> _Columns:
        numeric = {f.column for f in plan.card.features if f.kind == "numeric"}
        tags = {f.column for f in plan.card.features if f.kind == "tag"}
        for rule in (
            *plan.criteria,
            *plan.disqualifiers,
            *(f.rule for f in plan.card.features if f.kind == "rule"),
        ):
            for c in parse_segment(rule):
                if c.op == "contains":
                    tags.add(c.attr)
                elif c.op == "range":
                    numeric.add(c.attr)
        return cls(frozenset(numeric), frozenset(tags))


def score_file(
    profile: IcpProfile,
    input_path: Path | str,
    output_path: Path | str,
    progress: Progress | None = None,
    *,
    reasons: bool = True,
    keep: list[str] | None = None,
    outputs: tuple[str, ...] = OUTPUT_COLUMNS,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Score every row of an accounts file and write it with the score columns added.

    Parameters
    ----------
    profile : IcpProfile
        A learned or hand-written profile.
    input_path : path
        .csv/.tsv/.txt, .parquet or .xlsx; CSV and Parquet stream in batches of ``batch_rows``.
    output_path : path
        .csv or .parquet; written to a temporary file beside it and renamed when complete.
    progress : callable(rows_done, rows_total_or_None), optional
        Called after every batch (the CLI draws a progress bar from it).
    reasons : bool, default True
        Build the ``reasons`` text; False leaves it empty and scores faster.
    keep : list of str, optional
        Input columns to copy to the output (default: all).
    outputs : tuple of str
        Score columns to write (default: all of ``OUTPUT_COLUMNS``).

    Returns
    -------
    int
        Number of rows scored.
    """
    source, target = Path(input_path), Path(output_path)
    if target.suffix.lower() not in OUTPUTS:
        raise ConfigError(f"{target}: output must be one of {OUTPUTS}; got {target.suffix!r}")
    if not source.exists():
        raise ConfigError(f"{source}: no such input file")
    plan = ScoringPlan.from_profile(profile)
    unknown = [c for c in outputs if c not in OUTPUT_COLUMNS]
    if unknown:
        raise ConfigError(f"unknown output columns {unknown} (expected some of {OUTPUT_COLUMNS})")
    reasons = reasons and "reasons" in outputs
    batches, total = _read(source, plan, batch_rows)
    done = 0
    with atomic_path(target) as tmp:
        writer: Any = None
        try:
            for batch in prefetched(batches):
                out = _scored(plan, batch, reasons, keep, outputs, str(source))
                if target.suffix.lower() == ".csv":
                    out = csv_safe(out)
                writer = writer or _writer(tmp, target.suffix.lower(), out.schema)
                writer.write_table(out) if hasattr(writer, "write_table") else writer.write(out)
                done += out.num_rows
                if progress is not None:
                    progress(done, total)
            if writer is None:  # an empty input still gets a header
                writer = _writer(tmp, target.suffix.lower(), _empty_schema(keep, outputs))
        finally:
            if writer is not None:
                writer.close()
    return done


def _scored(
    plan: ScoringPlan,
    batch: pa.Table,
    reasons: bool,
    keep: list[str] | None,
    outputs: tuple[str, ...],
    origin: str,
) -> pa.Table:
    plan.check_columns(batch.column_names, origin)
    out = plan.score_table(batch.select(list(plan.columns)), reasons=reasons, outputs=outputs)
    names = keep if keep is not None else [c for c in batch.column_names if c not in OUTPUT_COLUMNS]
    missing = [c for c in names if c not in batch.column_names]
    if missing:
        raise SchemaError(f"{origin}: columns to keep {missing} are not in the input")
    columns = [batch.column(c) for c in names] + list(out.columns)
    return pa.table(columns, names=[*names, *out.column_names])


def _empty_schema(keep: list[str] | None, outputs: tuple[str, ...]) -> pa.Schema:
    fields = [pa.field(c, pa.string()) for c in (keep or [])]
    fields += [pa.field(c, pa.string()) for c in outputs]
    return pa.schema(fields)


def _writer(tmp: Path, suffix: str, schema: pa.Schema) -> Any:
    if suffix == ".csv":
        return pacsv.CSVWriter(str(tmp), schema)
    return pq.ParquetWriter(str(tmp), schema)


# ---------------------------------------------------------------------------------------------
# Reading


def prefetched(batches: Iterator[pa.Table], depth: int = 1) -> Iterator[pa.Table]:
    """Read the next batch on a thread while the current one is scored (bounded: ``depth``)."""
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                queue.put(("batch", batch))
            queue.put(("end", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(("error", exc))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            kind, item = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(Empty):
                queue.get(timeout=0.05)


def _read(
    source: Path, plan: ScoringPlan, batch_rows: int
) -> tuple[Iterator[pa.Table], int | None]:
    suffix = source.suffix.lower()
    cols = _Columns.of(plan)
    if suffix in (".parquet", ".pq"):
        return _parquet_batches(source, plan, batch_rows)
    if suffix in (".csv", ".tsv", ".txt"):
        return _csv_batches(source, cols, batch_rows), None
    if suffix in (".xlsx", ".xls"):
        frame = pl.read_excel(source)
        return iter([_typed(frame.to_arrow(), cols, str(source))]), frame.height
    raise ConfigError(f"{source}: input must be one of {INPUTS}; got {suffix!r}")


def _parquet_batches(
    source: Path, plan: ScoringPlan, batch_rows: int
) -> tuple[Iterator[pa.Table], int]:
    try:
        schema = pq.read_schema(str(source))
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"{source}: not a readable Parquet file: {exc}") from None
    plan.check_columns(schema.names, str(source))
    # text attributes stay dictionary-encoded: scoring maps the small dictionary, not every row
    text = [
        f.name
        for f in schema
        if f.name in plan.columns
        and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    handle = pq.ParquetFile(str(source), read_dictionary=text)
    groups = [handle.metadata.row_group(i).num_rows for i in range(handle.num_row_groups)]

    def batches() -> Iterator[pa.Table]:
        if groups and max(groups) <= 4 * batch_rows:
            # whole row groups decode their columns in parallel; still bounded by the group size
            for i in range(len(groups)):
                yield handle.read_row_group(i, use_threads=True)
            return
        for batch in handle.iter_batches(batch_size=batch_rows):
            yield pa.Table.from_batches([batch])

    return batches(), handle.metadata.num_rows


def _csv_batches(source: Path, cols: _Columns, batch_rows: int) -> Iterator[pa.Table]:
    header = _csv_header(source)
    delimiter = "\t" if source.suffix.lower() == ".tsv" else _sniff(source)
    types = {c: (pa.float64() if c in cols.numeric else pa.string()) for c in header}
    try:
        reader = pacsv.open_csv(
            str(source),
            read_options=pacsv.ReadOptions(block_size=max(1 << 16, batch_rows * 128)),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types=types, null_values=_NULLS, strings_can_be_null=True
            ),
        )
        for batch in reader:
            yield _typed(pa.Table.from_batches([batch]), cols, str(source))
    except pa.ArrowInvalid as exc:
        raise SchemaError(
            f"{source}: cannot read as CSV with numeric attributes {sorted(cols.numeric)}: {exc}"
        ) from None


def _csv_header(source: Path) -> list[str]:
    with source.open(newline="", encoding="utf-8-sig") as handle:
        delimiter = "\t" if source.suffix.lower() == ".tsv" else _sniff(source)
        row = next(csv.reader(handle, delimiter=delimiter), None)
    if not row:
        raise SchemaError(f"{source}: empty file (expected a header row)")
    return row


def _sniff(source: Path) -> str:
    with source.open(newline="", encoding="utf-8-sig") as handle:
        sample = handle.read(64_000)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _typed(table: pa.Table, cols: _Columns, origin: str) -> pa.Table:
    """Numeric attributes as floats and tag columns as lists (split on , ; |)."""
    for name in table.column_names:
        array = table.column(name)
        if name in cols.tags and not pa.types.is_list(array.type):
            split = pc.split_pattern_regex(
                pc.utf8_trim_whitespace(array.cast(pa.string())), _TAG_SPLIT
            )
            table = table.set_column(table.schema.get_field_index(name), name, split)
        elif name in cols.numeric and not (
            pa.types.is_integer(array.type) or pa.types.is_floating(array.type)
        ):
            try:
                cast = pc.cast(array, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise SchemaError(
                    f"{origin}, column {name}: expected numbers; found {array.type} values"
                ) from None
            table = table.set_column(table.schema.get_field_index(name), name, cast)
    return table


# ---------------------------------------------------------------------------------------------
# CSV safety


def csv_safe(table: pa.Table) -> pa.Table:
    """Text cells made inert for spreadsheets; dictionaries decoded and lists joined for CSV."""
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        chunks = [_safe_chunk(chunk) for chunk in column.chunks]
        if chunks and chunks[0].type != column.type:
            table = table.set_column(i, name, pa.chunked_array(chunks, chunks[0].type))
        elif chunks:
            table = table.set_column(i, name, pa.chunked_array(chunks, column.type))
    return table


def _safe_chunk(chunk: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(chunk.type):
        words = _safe_chunk(chunk.dictionary)
        return pa.DictionaryArray.from_arrays(chunk.indices, words).dictionary_decode()
    if pa.types.is_list(chunk.type) or pa.types.is_large_list(chunk.type):
        return _safe_chunk(pc.binary_join(chunk.cast(pa.list_(pa.string())), ";"))
    if pa.types.is_large_string(chunk.type) or pa.types.is_string_view(chunk.type):
        chunk = chunk.cast(pa.string())  # the join kernel needs one string type on every side
    if not pa.types.is_string(chunk.type):
        return chunk
    danger = pc.and_(
        pc.match_substring_regex(chunk, _DANGER),
        pc.invert(pc.match_substring_regex(chunk, _NUMBER)),
    )
    quoted = pc.binary_join_element_wise(pa.scalar("'"), chunk, "")
    return pc.if_else(pc.fill_null(danger, False), quoted, chunk)
