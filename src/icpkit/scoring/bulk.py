"""Bulk scoring of account files of any size: CSV, Parquet or Excel in; CSV or Parquet out.

Files are read by the data layer (``read_batches``: the same decoding, delimiter and header rules as
every workspace source) in batches of bounded size, and the columns the profile reads are typed by
the same normaliser as the accounts source (``ProspectColumns``), so a file scored here and the same
rows scored through the Python API get identical scores. The input's own columns are written back
untouched, with their own headers, and icpkit's columns are appended: the file can go back into the
CRM it came from.

The output is written to a temporary name beside the target and renamed at the end, so a failed run
leaves nothing half-written; a temporary file stranded by a killed run is removed by the next run
into the same folder. CSV output is neutralised against formula injection: a text cell starting
with ``= + - @`` or a tab / carriage return gets a leading apostrophe, unless it is a plain number.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import Empty, Queue
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from icpkit.config import SourceConfig
from icpkit.data.prospects import Kind, ProspectColumns, oversized_cells
from icpkit.data.readers import PARQUET_SUFFIXES, Batches, read_batches
from icpkit.data.writers import TableWriter, csv_safe, parquet_writer
from icpkit.errors import ConfigError, SchemaError
from icpkit.rules import parse_segment
from icpkit.scoring.apply import FILE_OUTPUTS, OUTPUT_COLUMNS, ScoringPlan
from icpkit.scoring.bands import BandScale
from icpkit.scoring.heap import steady_heap

if TYPE_CHECKING:
    from icpkit.profile import IcpProfile

Progress = Callable[[int, int | None], None]
INPUTS = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".xlsx", ".xls")
OUTPUTS = (".csv", ".parquet")
BATCH_ROWS = 500_000
# rows read and scored at a time when the reasons or the points are written: each task's arrays
# (decoded columns, bin codes, points, reason picks, ~12 MB of reason text) then stay small
# enough to be reused from the allocators' free lists instead of being mapped and faulted in
# afresh per batch (1.5 → 0.6 s of system time on 10M rows), and its passes stay in cache. The
# scored batches are written in row groups of ``batch_rows`` rows all the same. A score (and
# tier) alone needs no such arrays: it reads ``batch_rows`` at a time (smaller batches only added
# each call's fixed cost, ~0.15 s CPU per 10M rows).
SCORE_ROWS = 100_000
# score columns written without min/max statistics: free text and a few labels found in every
# row group, so no reader can skip a row group by them, and computing them was ~8 % of writing
# a scored file (a pass over every reason's text, a hash of every label)
UNSTATISTICAL = ("tier", "reasons", "criteria_met", "disqualifiers_hit", "fit_band")
MAX_COLUMNS = 20_000  # a wider file is refused (score --max-columns raises the limit)
MISSING_HINT = (
    "To score the attributes the file lacks as missing on every row, add --allow-missing "
    "(Python: score_file(..., missing=callback))."
)
MAP_HINT = (
    "If INPUT is an export in the format of the workspace's accounts source (its own column "
    "names), score it with --map (Python: score_accounts(..., workspace=ws)); otherwise rename "
    "the columns to the profile's attribute names. " + MISSING_HINT
)


class BatchColumns(Protocol):
    """Columns computed per batch of a scored file beside the score (``intent_*``,
    ``personas_missing``): ``names`` of the columns it adds, and a call that gives them for one
    raw batch (same rows, same order). Whatever it looks rows up in is held by the object and is
    bounded by the workspace (its accounts, its contacts), never by the file being scored."""

    names: tuple[str, ...]

    def __call__(self, batch: pl.DataFrame | pa.Table) -> pa.Table: ...


def needed_kinds(plan: ScoringPlan) -> dict[str, Kind]:
    """Every column the plan reads, with the kind of value it reads there."""
    kinds: dict[str, Kind] = {}
    for f in plan.card.features:
        if f.kind != "rule":
            kinds[f.column] = "tag" if f.kind == "tag" else f.kind
    rules = (*plan.criteria, *plan.disqualifiers, *(f.rule for f in plan.card.features if f.rule))
    for rule in rules:
        for c in parse_segment(rule):
            if c.op == "contains":
                kinds[c.attr] = "tag"
            elif c.op == "range":
                kinds[c.attr] = "numeric"
            elif c.op in ("eq", "in"):
                kinds.setdefault(c.attr, "categorical")
            else:
                kinds.setdefault(c.attr, "any")
    return kinds


def score_file(
    profile: IcpProfile,
    input_path: Path | str,
    output_path: Path | str,
    progress: Progress | None = None,
    *,
    reasons: bool = True,
    keep: list[str] | None = None,
    outputs: tuple[str, ...] = FILE_OUTPUTS,
    batch_rows: int = BATCH_ROWS,
    source: SourceConfig | None = None,
    preset: str | None = None,
    max_columns: int = MAX_COLUMNS,
    missing: Callable[[list[str]], None] | None = None,
    annotations: tuple[BatchColumns, ...] = (),
    bands: BandScale | None = None,
) -> int:
    """Score every row of an accounts file and write it with the score columns appended.

    Parameters
    ----------
    profile : IcpProfile
        A learned or hand-written profile.
    input_path : path
        .csv/.tsv/.txt, .parquet or .xlsx; CSV and Parquet stream in batches of ``batch_rows``
        (of ``SCORE_ROWS`` when the reasons or points are written; Excel is read whole).
    output_path : path
        .csv or .parquet; written to a temporary file beside it and renamed when complete.
    progress : callable(rows_done, rows_total_or_None), optional
        Called after every batch (the CLI draws a progress bar from it).
    reasons : bool, default True
        Build the ``reasons`` text; False leaves it empty and scores faster.
    keep : list of str, optional
        Input columns to copy to the output, by their names in the file (default: all).
    outputs : tuple of str
        Score columns to write (default: ``FILE_OUTPUTS``, i.e. every ``OUTPUT_COLUMNS`` plus
        ``points``: ``base_score`` and one ``points_<attribute>`` column per scorecard attribute).
    source, preset : optional
        The accounts source's mapping (``score --map``): columns are found under the export's
        own names and read with its delimiter, encoding and date format.
    max_columns : int
        A file with more columns is refused before any row is read (time and memory grow
        linearly with the number of columns; the limit keeps a broken export from running for
        minutes).
    missing : callable(attributes), optional
        Without it, a file that lacks attribute columns the profile reads is refused (a
        SchemaError naming them). With it, those attributes are scored as missing on every row
        (each gets its "no known …" points) and ``missing`` is called once with their names.
    annotations : tuple of BatchColumns
        More columns computed batch by batch after the score (``intent_score``, ``intent``,
        ``why_now``, ``personas_missing``): memory stays bounded by the batch with every column
        on, and the file is written once.
    bands : BandScale, optional
        The scale of ``calibrated_score`` / ``fit_band`` (the workspace's ``[bands]``).

    Returns
    -------
    int
        Number of rows scored.
    """
    path, target = Path(input_path), Path(output_path)
    if target.suffix.lower() not in OUTPUTS:
        raise ConfigError(f"{target}: output must be one of {OUTPUTS}; got {target.suffix!r}")
    plan = ScoringPlan.from_profile(profile, bands)
    steady_heap()  # batch buffers reused from the heap, not faulted in again per batch
    unknown = [c for c in outputs if c not in FILE_OUTPUTS]
    if unknown:
        raise ConfigError(f"unknown output columns {unknown} (expected some of {FILE_OUTPUTS})")
    heavy = (reasons and "reasons" in outputs) or "points" in outputs
    score_rows = max(1, min(batch_rows, SCORE_ROWS) if heavy else batch_rows)
    read = _read(path, source, score_rows)
    if len(read.columns) > max_columns:
        raise ConfigError(
            f"{path}: {len(read.columns):,} columns, more than the limit of {max_columns:,}; "
            "if the file really is that wide, raise the limit (score --max-columns N)"
        )
    columns, lacking = resolve_columns(
        plan, read.columns, source=source, preset=preset, file=str(path), required=missing is None
    )
    if lacking and missing is not None:
        missing(list(lacking))
    generated, present = _generated(plan), set(read.columns)  # sets: linear in the width
    generated |= {name for extra in annotations for name in extra.names}
    names = keep if keep is not None else [c for c in read.columns if c not in generated]
    absent = [c for c in names if c not in present]
    if absent:
        raise ConfigError(f"{path}: columns to keep {absent} are not in the input")
    if annotations:  # they read columns of their own from the raw batch: keep them all
        batches = read.batches
    else:  # a Parquet file: decode only what is kept and what scoring reads
        needed = list(dict.fromkeys([*names, *columns.origin.values()]))
        batches = _projected(read, path, source, score_rows, needed)
    typed = _typed_batches(batches, columns, lacking)
    suffix = target.suffix.lower()

    def scored(item: tuple[pl.DataFrame | pa.Table, pa.Table]) -> pa.Table:
        raw, frame = item
        out = plan.score_table(frame, reasons=reasons, outputs=outputs, parallel=False)
        kept = raw.select(names)
        extras = [extra(raw) for extra in annotations]
        joined = _joined(kept if isinstance(kept, pa.Table) else kept.to_arrow(), out, *extras)
        return csv_safe(joined) if suffix == ".csv" else joined

    # while a row group of batch_rows is written, the threads score the next one's batches
    ahead = -(-batch_rows // score_rows)
    # with reasons, writing the text (Parquet encoding, Snappy) keeps the caller's thread busy
    # about as long as scoring keeps one other: scoring gets the cores but that one. Two
    # scoring threads on 2 cores fought the writer and the reader for the GIL and the cores
    # (10M rows: 3.4-4.2 s against 3.0-3.3 s with one, bench/RESULTS.md, bulk2)
    workers = max(1, min(4, (os.cpu_count() or 1) - 1)) if heavy else None
    done = 0
    group: list[pa.Table] = []  # scored batches not yet written: one row group of batch_rows
    # closed on the way out, even while a caller keeps the exception: no reader thread is left
    empty = _empty_schema(names, plan, outputs, annotations)  # an empty input: a header
    with (
        TableWriter(
            target, suffixes=OUTPUTS, empty_schema=empty, no_statistics=UNSTATISTICAL
        ) as writer,
        contextlib.closing(
            in_order(scored, _sliced(prefetched(typed), score_rows), workers, ahead)
        ) as run,
    ):
        for out in run:
            group.append(out)
            done += out.num_rows
            if sum(t.num_rows for t in group) >= batch_rows:
                writer.write(_concatenated(group), guarded=True)  # guarded on the workers
                group = []
            if progress is not None:
                progress(done, read.total)
        if group:
            writer.write(_concatenated(group), guarded=True)
    return done


def _sliced(
    items: Iterator[tuple[pl.DataFrame | pa.Table, pa.Table]], rows: int
) -> Generator[tuple[pl.DataFrame | pa.Table, pa.Table], None, None]:
    """Each (raw, typed) batch as slices of at most ``rows`` rows (zero-copy): a file read
    whole (Excel) is scored a slice at a time too."""
    try:
        for raw, typed in items:
            n = typed.num_rows
            if n <= rows:
                yield raw, typed
                continue
            for lo in range(0, n, rows):
                yield raw.slice(lo, rows), typed.slice(lo, rows)
    finally:
        close = getattr(items, "close", None)
        if close is not None:  # stops the reading thread with the slices
            close()


def _concatenated(parts: list[pa.Table]) -> pa.Table:
    """Scored batches as one table (chunked columns, nothing copied): one row group of the
    output. A batch whose reasons came out as a dictionary where the first's are plain text (or
    the other way round) is cast to the first's types, as the writer would."""
    if len(parts) == 1:
        return parts[0]
    schema = parts[0].schema
    return pa.concat_tables([p if p.schema == schema else p.cast(schema) for p in parts])


def _projected(
    read: Batches,
    path: Path,
    source: SourceConfig | None,
    batch_rows: int,
    needed: list[str],
) -> Iterator[pl.DataFrame | pa.Table]:
    """The batches of ``read`` holding only the ``needed`` columns: for Parquet, the file read
    again with the other columns never decoded (``read``'s own batches are never started);
    other formats as ``read`` gives them."""
    if path.suffix.lower() not in PARQUET_SUFFIXES or len(needed) >= len(read.columns):
        return read.batches
    return _read(path, source, batch_rows, needed).batches


def _read(
    path: Path, source: SourceConfig | None, batch_rows: int, columns: list[str] | None = None
) -> Batches:
    """Arrow batches of ``path`` read with the source's sheet, delimiter and encoding."""
    return read_batches(
        path,
        sheet=source.sheet if source else None,
        delimiter=source.delimiter if source else None,
        encoding=source.encoding if source else None,
        batch_rows=batch_rows,
        arrow=True,
        columns=columns,
    )


def _generated(plan: ScoringPlan) -> set[str]:
    """Names of the columns scoring writes (an input column of that name is replaced)."""
    return {*OUTPUT_COLUMNS, "base_score", *plan.points_columns()}


_EMPTY: dict[Kind, pa.DataType] = {
    "numeric": pa.float64(),
    "categorical": pa.string(),
    "tag": pa.list_(pa.string()),
    "any": pa.string(),
}


def _typed_batches(
    batches: Iterator[pl.DataFrame | pa.Table],
    columns: ProspectColumns,
    lacking: dict[str, Kind] | None = None,
) -> Iterator[tuple[pl.DataFrame | pa.Table, pa.Table]]:
    """(raw batch, ``type_batch`` of it); typing runs on the reading thread."""
    row = 1
    for batch in batches:
        yield batch, type_batch(columns, batch, first_row=row, lacking=lacking)
        row += len(batch)


def type_batch(
    columns: ProspectColumns,
    batch: pl.DataFrame | pa.Table,
    *,
    first_row: int = 1,
    lacking: dict[str, Kind] | None = None,
) -> pa.Table:
    """The first half of the one batch function: a batch's needed columns typed by the prospect
    normaliser, with an empty column for each ``lacking`` attribute (scored as missing).

    A cell over the reader's size limit in a column scoring reads is refused, naming its row
    (the CSV reader checks every column; a Parquet batch, a Spark batch and records posted to
    the API are checked here, so every engine gives the same error)."""
    problems = oversized_cells(batch, list(columns.origin.values()), columns.file, first_row)
    if problems:
        raise SchemaError(f"{columns.file}: cells too large to be values", problems)
    typed = columns.normalise_arrow(batch, first_row=first_row)
    if not lacking:
        return typed
    arrays = dict(zip(typed.column_names, typed.columns, strict=True))
    arrays.update({attr: pa.nulls(len(batch), _EMPTY[kind]) for attr, kind in lacking.items()})
    return pa.table(arrays)  # built at once: a table of no column has no rows to append to


def score_batch(
    plan: ScoringPlan,
    columns: ProspectColumns,
    batch: pl.DataFrame | pa.Table,
    *,
    first_row: int = 1,
    lacking: dict[str, Kind] | None = None,
    reasons: bool = True,
    outputs: tuple[str, ...] = OUTPUT_COLUMNS,
) -> pa.Table:
    """The one batch function every engine runs: raw rows in (a file's batch, a Spark task's
    Arrow batch, records posted to the API), the ``outputs`` columns out.

    ``score_file`` runs its two halves on two threads (``type_batch`` while reading, then
    ``ScoringPlan.score_table``); the Spark engine and the API's record path call it whole."""
    typed = type_batch(columns, batch, first_row=first_row, lacking=lacking)
    return plan.score_table(typed, reasons=reasons, outputs=outputs, parallel=False)


def resolve_columns(
    plan: ScoringPlan,
    names: list[str],
    *,
    source: SourceConfig | None = None,
    preset: str | None = None,
    file: str = "input",
    required: bool = True,
) -> tuple[ProspectColumns, dict[str, Kind]]:
    """Where each attribute the plan reads is found among ``names``, and the attributes found
    nowhere (scored as missing; only when not ``required``, else a SchemaError names them)."""
    kinds = needed_kinds(plan)
    columns = ProspectColumns.resolve(
        names,
        kinds,
        source=source,
        preset=preset,
        file=file,
        hint=MISSING_HINT if source is not None else MAP_HINT,
        required=required,
    )
    return columns, {a: k for a, k in kinds.items() if a not in columns.kinds}


def _joined(raw: pa.Table, *more: pa.Table) -> pa.Table:
    tables = (raw, *more)
    return pa.table(
        [c for t in tables for c in t.columns], names=[n for t in tables for n in t.column_names]
    )


def _empty_schema(
    names: list[str],
    plan: ScoringPlan,
    outputs: tuple[str, ...],
    annotations: tuple[BatchColumns, ...] = (),
) -> pa.Schema:
    score_names = [c for c in OUTPUT_COLUMNS if c in outputs]
    if "points" in outputs:
        score_names += ["base_score", *plan.points_columns()]
    score_names += [name for extra in annotations for name in extra.names]
    return pa.schema([pa.field(c, pa.string()) for c in [*names, *score_names]])


def _writer(tmp: Path, suffix: str, schema: pa.Schema) -> Any:
    """The writer of one output format (kept for callers of the streaming writer's parts)."""
    return pacsv.CSVWriter(str(tmp), schema) if suffix == ".csv" else parquet_writer(tmp, schema)


def in_order(
    work: Callable[[Any], Any],
    items: Iterator[Any],
    workers: int | None = None,
    ahead: int = 0,
) -> Generator[Any, None, None]:
    """``work(item)`` for every item, on ``workers`` threads (default: one per core, at most
    four), yielded in the items' order. At most ``workers + ahead`` items are in work or done
    and waiting at a time, so memory stays bounded by the batch (``ahead`` keeps the threads
    busy while the caller spends a while on one result, e.g. writing a row group); the first
    failure is raised in order and the rest is abandoned."""
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    try:
        if workers == 1 and not ahead:  # in the caller's thread
            yield from map(work, items)
            return
        pending: deque[Future[Any]] = deque()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            try:
                for item in items:
                    pending.append(pool.submit(work, item))
                    if len(pending) >= workers + ahead:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()
    finally:
        close = getattr(items, "close", None)
        if close is not None:  # a failure held by the caller must not keep a reader alive
            close()


def prefetched(batches: Iterator[Any], depth: int = 1) -> Iterator[Any]:
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


# ---------------------------------------------------------------------------------------------
# In memory: the same typing and scoring for a frame (the Python API)


def score_rows(
    profile: IcpProfile,
    frame: pl.DataFrame,
    *,
    reasons: bool = True,
    outputs: tuple[str, ...] = FILE_OUTPUTS,
    source: SourceConfig | None = None,
    preset: str | None = None,
    origin: str = "input",
    annotations: tuple[BatchColumns, ...] = (),
    bands: BandScale | None = None,
) -> pl.DataFrame:
    """A frame's rows scored exactly as ``score_file`` scores the same rows from a file
    (``annotations`` too: the same ``intent_*`` / ``personas_missing`` columns).

    The frame's own columns come back untouched; the score columns (and, by default,
    ``base_score`` and ``points_<attribute>``) are appended, replacing columns of those names.
    """
    plan = ScoringPlan.from_profile(profile, bands)
    columns = ProspectColumns.resolve(
        list(frame.columns),
        needed_kinds(plan),
        source=source,
        preset=preset,
        file=origin,
        hint="" if source is not None else MAP_HINT,
    )
    typed = columns.normalise_arrow(frame)
    scored = pl.from_arrow(plan.score_table(typed, reasons=reasons, outputs=outputs))
    assert isinstance(scored, pl.DataFrame)
    text = [
        c
        for c in ("tier", "reasons", "criteria_met", "disqualifiers_hit", "fit_band")
        if c in scored
    ]
    scored = scored.with_columns(pl.col(text).cast(pl.Utf8))
    generated = _generated(plan) | {name for extra in annotations for name in extra.names}
    kept = frame.drop([c for c in frame.columns if c in generated])
    for extra in annotations:
        added = pl.from_arrow(extra(frame))
        assert isinstance(added, pl.DataFrame)
        scored = scored.hstack(added)
    return kept.hstack(scored)
