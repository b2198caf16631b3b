"""Readers for product-usage exports: every format becomes one lazy frame of canonical events.

The canonical event (``USAGE_COLUMNS``) is ``group_id`` (the account or workspace id the tool
records, may be blank), ``user_id``, ``timestamp`` (naive UTC, microseconds), ``event``, ``value``
(a number, optional) and ``integration`` (the integration a "connected" event names, optional).
Mapping a group or user onto an account is :mod:`icpkit.usage.mapping`'s job.

Formats (``[usage] format``; ``auto`` guesses from the suffix and the first line):

- ``posthog``: PostHog's events export, JSON lines with ``event``, ``distinct_id``, ``timestamp``
  and ``properties`` (the group is ``properties.$groups.company`` by default);
- ``segment`` / ``rudderstack``: track calls, JSON lines with ``type`` = "track", ``event``,
  ``userId`` (else ``anonymousId``), ``timestamp``, ``properties`` and ``context.groupId``;
- ``amplitude``: Amplitude's export, JSON lines with ``event_type``, ``user_id``, ``event_time``,
  ``event_properties`` and ``groups.company``;
- ``mixpanel``: Mixpanel's raw export, JSON lines with ``event`` and ``properties`` holding
  ``time`` (epoch seconds or milliseconds), ``distinct_id`` and the group property
  (``company_id`` by default);
- ``csv`` / ``parquet``: one row per event; columns named as the canonical ones or mapped with
  ``[usage] columns``.

Nothing is read into memory here: each reader returns a ``polars.LazyFrame`` over the file, so a
10-million-event export streams through the feature aggregation. A JSON-lines export larger than
``CONVERT_ABOVE_BYTES`` is parsed once, by DuckDB (when installed: the ``sql`` extra), into a
temporary Parquet file of only the fields the features need (removed when the process exits,
reused while the export is unchanged); every later pass — bot detection, features, signals —
reads that columnar copy instead of parsing the JSON again. Without DuckDB, or when the temporary
folder lacks the space, polars parses the JSON lines itself (same events, slower). A malformed JSON line is
reported with its file and line number; a timestamp in no known format with its line and value.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

import polars as pl

from icpkit.atomic import atomic_path
from icpkit.errors import Problem, SchemaError

Format = Literal[
    "auto", "posthog", "segment", "rudderstack", "amplitude", "mixpanel", "csv", "parquet"
]
FORMATS = ("posthog", "segment", "rudderstack", "amplitude", "mixpanel", "csv", "parquet")
JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
USAGE_SUFFIXES = JSON_SUFFIXES | {".csv", ".parquet", ".pq"}
USAGE_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "group_id": pl.Utf8,
    "user_id": pl.Utf8,
    "timestamp": pl.Datetime("us"),
    "event": pl.Utf8,
    "value": pl.Float64,
    "integration": pl.Utf8,
}
DEFAULT_GROUP = {
    "posthog": "$groups.company",
    "segment": "context.groupId",
    "rudderstack": "context.groupId",
    "amplitude": "groups.company",
    "mixpanel": "company_id",
}
# Timestamp text formats tried in order (after epoch numbers); the first that parses wins.
_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
_ZONED_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
KNOWN_TIMESTAMPS = (
    "ISO 8601 (2024-05-01T09:30:00Z, 2024-05-01 09:30:00.123+02:00, 2024-05-01), "
    "or epoch seconds / milliseconds"
)
SAMPLE_ROWS = 20_000  # rows whose timestamps are checked before anything is aggregated
CONVERT_ABOVE_BYTES = 32_000_000  # JSON exports above this are parsed once by DuckDB (see above)
# the Parquet copy of the needed fields is far smaller than the JSON; this bounds it
COPY_PER_INPUT_BYTE = 0.6
COPY_BATCH_ROWS = 500_000  # rows DuckDB hands over at a time: bounds the copy's memory
# Dictionary pages for the text columns only (a timestamp or value column has nearly one value
# per row: pyarrow's attempt at a dictionary for it is wasted), and min/max statistics only for
# the columns later filters compare (timestamp < cut, value): min/max over 10M strings costs
# more than it saves. Together about a fifth less write CPU and a 10% smaller copy
# (bench/usage_parsers.py at 2M events, bench/RESULTS.md "usbench").
COPY_WRITE_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "use_dictionary": ["group_id", "user_id", "event", "integration"],
    "write_statistics": ["timestamp", "value"],
}
Engine = Literal["auto", "duckdb", "polars"]


def _struct(path: str, leaf: pl.DataType | type[pl.DataType] = pl.Utf8) -> tuple[str, pl.DataType]:
    """``a.b.c`` → ("a", Struct(b: Struct(c: leaf))): the JSON schema that reads one nested field."""
    parts = path.split(".")
    dtype: pl.DataType = leaf() if isinstance(leaf, type) else leaf
    for name in reversed(parts[1:]):
        dtype = pl.Struct({name: dtype})
    return parts[0], dtype


def _merge(schema: dict[str, Any], name: str, dtype: Any) -> None:
    """Add one (possibly nested) field to a JSON schema, merging structs that share a parent."""
    old = schema.get(name)
    if isinstance(old, pl.Struct) and isinstance(dtype, pl.Struct):
        fields = {f.name: f.dtype for f in old.fields}
        for f in dtype.fields:
            _merge(fields, f.name, f.dtype)
        schema[name] = pl.Struct(fields)
    else:
        schema[name] = dtype


def _field(path: str) -> pl.Expr:
    parts = path.split(".")
    expr = pl.col(parts[0])
    for name in parts[1:]:
        expr = expr.struct.field(name)
    return expr


def _json_layout(fmt: str, group: str, value: str, integration: str) -> dict[str, str]:
    """Canonical column → dotted JSON path of each format."""
    props = {"amplitude": "event_properties"}.get(fmt, "properties")
    layout = {
        "posthog": {"user_id": "distinct_id", "timestamp": "timestamp", "event": "event"},
        "segment": {"user_id": "userId", "timestamp": "timestamp", "event": "event"},
        "amplitude": {"user_id": "user_id", "timestamp": "event_time", "event": "event_type"},
        "mixpanel": {
            "user_id": "properties.distinct_id",
            "timestamp": "properties.time",
            "event": "event",
        },
    }[{"rudderstack": "segment"}.get(fmt, fmt)]
    group_path = group or DEFAULT_GROUP[fmt]
    if fmt in ("posthog", "mixpanel") and not group_path.startswith("properties."):
        group_path = f"properties.{group_path}"
    return {
        **layout,
        "group_id": group_path,
        "value": f"{props}.{value}",
        "integration": f"{props}.{integration}",
    }


def guess_format(path: Path) -> str:
    """The export format of a file, from its suffix and its first line (see the module docstring)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    with path.open("rb") as handle:
        first = handle.readline()
    try:
        record = json.loads(first)
    except ValueError:
        raise SchemaError("", [_bad_line(path, 1, first)]) from None
    if not isinstance(record, dict):
        raise SchemaError("", [_bad_line(path, 1, first, "a JSON object per line")])
    if "event_type" in record:
        return "amplitude"
    if "distinct_id" in record:
        return "posthog"
    if "userId" in record or "anonymousId" in record or record.get("type") == "track":
        return "segment"
    if isinstance(record.get("properties"), dict) and "time" in record["properties"]:
        return "mixpanel"
    raise SchemaError(
        "",
        [
            Problem(
                file=str(path),
                row=1,
                code="unknown_format",
                message="cannot tell the export format from the first line (keys: "
                f"{', '.join(list(record)[:8])}); set [usage] format",
                expected=", ".join(FORMATS),
            )
        ],
    )


def _bad_line(path: Path, line: int, text: bytes, expected: str = "one JSON object") -> Problem:
    shown = text.decode("utf-8", "replace").strip()
    return Problem(
        file=str(path),
        row=line,
        code="malformed_json",
        message=f"line {line} is not valid JSON",
        value=shown[:60],
        expected=expected,
    )


def find_bad_json_line(path: Path) -> Problem | None:
    """The first line of a JSON-lines file that does not parse (read line by line, on the error
    path only), or None."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                return _bad_line(path, number, line)
            if not isinstance(record, dict):
                return _bad_line(path, number, line, "a JSON object per line")
    return None


def _parsers(column: pl.Expr) -> list[pl.Expr]:
    """Every known timestamp reading of a column: epoch numbers, zoned ISO, naive ISO."""
    text = column.cast(pl.Utf8).str.strip_chars()
    number = text.cast(pl.Float64, strict=False)
    # epoch: seconds below 1e11 (year 5138), milliseconds above
    epoch = (
        pl.when(number.abs() < 1e11)
        .then(number * 1e6)
        .otherwise(number * 1e3)
        .cast(pl.Int64, strict=False)
        .cast(pl.Datetime("us"))
    )
    zoned = [
        text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC").dt.replace_time_zone(
            None
        )
        for f in _ZONED_FORMATS
    ]
    utc = text.str.replace(r"Z$", "")
    naive = [utc.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS]
    return [epoch, *zoned, *naive]


def parse_timestamp(column: pl.Expr) -> pl.Expr:
    """Text or numbers → naive UTC datetime (µs); null where no known format fits."""
    return pl.coalesce(*_parsers(column))


def fitted_parser(sample: pl.Series) -> pl.Expr:
    """The one reading of ``_raw_ts`` that parses the most of a sample (ties: the first), so a
    large export is parsed once rather than in every format; the full coalesce when none fits all."""
    frame = sample.to_frame("_raw_ts")
    parsers = _parsers(pl.col("_raw_ts"))
    counts = frame.select(p.is_not_null().sum().alias(str(i)) for i, p in enumerate(parsers)).row(0)
    best = max(range(len(parsers)), key=lambda i: (counts[i], -i))
    if counts[best] == sample.drop_nulls().len():
        return parsers[best]
    return parse_timestamp(pl.col("_raw_ts"))


def scan_usage(
    path: Path,
    fmt: str = "auto",
    *,
    group: str = "",
    value: str = "value",
    integration: str = "integration",
    columns: dict[str, str] | None = None,
    shown: str | None = None,
    engine: Engine = "auto",
) -> pl.LazyFrame:
    """A lazy frame of canonical events over one export file (see the module docstring).

    Parameters
    ----------
    path : the export file.
    fmt : one of ``FORMATS`` or ``auto``.
    group : dotted path of the account/workspace id in a JSON record (default per format).
    value, integration : property names of the event's value and of the integration it names.
    columns : for CSV/Parquet, canonical column → file column.
    shown : how the file is named in messages (default: the path).
    engine : who parses a JSON-lines export: ``duckdb`` (once, into a temporary Parquet copy),
        ``polars`` (streamed, on every pass), or ``auto`` (DuckDB above ``CONVERT_ABOVE_BYTES``
        when it is installed and the temporary folder has room).

    Raises
    ------
    SchemaError
        The file is missing, a JSON line is malformed (file and line), a mapped column is absent,
        or timestamps are in no known format (line and value).
    """
    path = Path(path)
    label = shown or str(path)
    if not path.is_file():
        raise SchemaError("", [Problem(file=label, code="missing_file", message="no such file")])
    chosen = guess_format(path) if fmt == "auto" else fmt
    if chosen not in FORMATS:
        raise SchemaError(
            "",
            [
                Problem(
                    file=label,
                    code="config",
                    value=chosen,
                    message=f"unknown usage format {chosen!r}",
                    expected=", ".join(FORMATS),
                )
            ],
        )
    if chosen in ("csv", "parquet"):
        frame = _scan_table(path, chosen, columns or {}, label)
    else:
        frame = _scan_json(path, chosen, group, value, integration)
    parser = _check_sample(frame, path, label, chosen)
    if chosen not in ("csv", "parquet") and _use_duckdb(path, engine):
        layout = _json_layout(chosen, group, value, integration)
        return _duckdb_copy(path, chosen, layout, label, parser)
    return frame.with_columns(parser.alias("timestamp"))


def _scan_json(path: Path, fmt: str, group: str, value: str, integration: str) -> pl.LazyFrame:
    layout = _json_layout(fmt, group, value, integration)
    schema: dict[str, Any] = {}
    leaves = {"value": pl.Float64, "timestamp": pl.Utf8}
    for canonical, dotted in layout.items():
        leaf = leaves.get(canonical, pl.Utf8)
        if fmt == "mixpanel" and canonical == "timestamp":
            leaf = pl.Float64
        _merge(schema, *_struct(dotted, leaf))
    if fmt in ("segment", "rudderstack"):
        _merge(schema, "anonymousId", pl.Utf8())
        _merge(schema, "type", pl.Utf8())
    frame = pl.scan_ndjson(
        path, schema=schema, ignore_errors=False, row_index_name="_line", row_index_offset=1
    )
    if fmt in ("segment", "rudderstack"):  # track calls only; identify/page/group carry no event
        frame = frame.filter(pl.col("type").is_null() | (pl.col("type") == "track"))
    exprs = {c: _field(p) for c, p in layout.items()}
    if fmt in ("segment", "rudderstack"):
        exprs["user_id"] = pl.coalesce(pl.col("userId"), pl.col("anonymousId"))
    return frame.select(
        "_line",
        exprs["group_id"].cast(pl.Utf8).alias("group_id"),
        exprs["user_id"].cast(pl.Utf8).alias("user_id"),
        exprs["timestamp"].alias("_raw_ts"),
        exprs["event"].alias("event"),
        exprs["value"].cast(pl.Float64, strict=False).alias("value"),
        exprs["integration"].cast(pl.Utf8).alias("integration"),
    )


def _use_duckdb(path: Path, engine: Engine) -> bool:
    if engine == "polars":
        return False
    try:
        import duckdb  # noqa: F401
    except ImportError:
        if engine == "duckdb":
            raise SchemaError(
                "",
                [
                    Problem(
                        file=str(path),
                        code="config",
                        message="engine 'duckdb' needs the duckdb package (pip install "
                        "'icpkit[sql]')",
                    )
                ],
            ) from None
        return False
    if engine == "duckdb":
        return True
    size = path.stat().st_size
    return size > CONVERT_ABOVE_BYTES and shutil.disk_usage(_copies_dir()).free > (
        size * COPY_PER_INPUT_BYTE
    )


_COPIES: dict[tuple[object, ...], Path] = {}
_COPIES_DIR: list[Path] = []


def _copies_dir() -> Path:
    """This process's folder of Parquet copies, removed when the process exits."""
    if not _COPIES_DIR:
        folder = Path(tempfile.mkdtemp(prefix="icpkit-usage-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _COPIES_DIR.append(folder)
    return _COPIES_DIR[0]


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_type(tree: dict[str, Any] | str) -> str:
    if isinstance(tree, str):
        return tree
    return "STRUCT(" + ", ".join(f"{_sql_name(k)} {_sql_type(v)}" for k, v in tree.items()) + ")"


def _sql_field(path: str) -> str:
    head, *rest = path.split(".")
    return _sql_name(head) + "".join(f"[{_sql_text(p)}]" for p in rest)


def _duckdb_copy(
    path: Path, fmt: str, layout: dict[str, str], label: str, parser: pl.Expr
) -> pl.LazyFrame:
    """Parse the JSON lines once with DuckDB, batch by batch, into a Parquet copy of the columns
    ``_scan_json`` selects with the timestamp already read by ``parser`` (the same polars
    expression as the streamed path, so the events are identical); later passes read only it."""
    import duckdb
    import pyarrow.parquet as pq

    stat = path.stat()
    key = (
        str(path.resolve()),
        stat.st_size,
        stat.st_mtime_ns,
        fmt,
        tuple(layout.items()),
        str(parser),
    )
    copy = _COPIES.get(key)
    if copy is None or not copy.is_file():
        tree: dict[str, Any] = {}
        for canonical_name, dotted in layout.items():
            leaf = "DOUBLE" if (fmt, canonical_name) == ("mixpanel", "timestamp") else "VARCHAR"
            node = tree
            *parents, last = dotted.split(".")
            for part in parents:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):  # a leaf and a struct share a name: keep the struct
                    child = node[part] = {}
                node = child
            if not isinstance(node.get(last), dict):
                node[last] = leaf
        segment = fmt in ("segment", "rudderstack")
        if segment:
            tree |= {"anonymousId": "VARCHAR", "type": "VARCHAR"}
        columns = (
            "{"
            + ", ".join(f"{_sql_text(k)}: {_sql_text(_sql_type(v))}" for k, v in tree.items())
            + "}"
        )
        user = _sql_field(layout["user_id"])
        if segment:
            user = f"coalesce({user}, {_sql_name('anonymousId')})"
        select = (
            f"CAST({_sql_field(layout['group_id'])} AS VARCHAR) AS group_id, "
            f"CAST({user} AS VARCHAR) AS user_id, "
            f"{_sql_field(layout['timestamp'])} AS _raw_ts, "
            f"{_sql_field(layout['event'])} AS event, "
            f"TRY_CAST({_sql_field(layout['value'])} AS DOUBLE) AS value, "
            f"CAST({_sql_field(layout['integration'])} AS VARCHAR) AS integration"
        )
        where = " WHERE type IS NULL OR type = 'track'" if segment else ""
        copy = _copies_dir() / f"{len(_COPIES)}-{path.stem[:40]}.parquet"
        source = (
            f"read_json({_sql_text(str(path))}, format='newline_delimited', columns={columns}, "
            "maximum_object_size=16777216)"
        )
        con = duckdb.connect()
        try:
            con.execute(f"SET temp_directory = {_sql_text(str(_copies_dir()))}")
            con.execute("SET memory_limit = '1GB'")
            query = con.sql(f"SELECT {select} FROM {source}{where}")
            if hasattr(query, "to_arrow_reader"):  # duckdb ≥ 2.0
                batches = query.to_arrow_reader(COPY_BATCH_ROWS)
            else:  # duckdb 1.x
                batches = query.fetch_arrow_reader(COPY_BATCH_ROWS)
            with atomic_path(copy) as tmp:
                writer = None
                try:
                    for batch in batches:
                        chunk = pl.DataFrame(pl.from_arrow(batch))
                        table = chunk.select(
                            "group_id",
                            "user_id",
                            parser.alias("timestamp"),
                            "event",
                            "value",
                            "integration",
                        ).to_arrow()
                        if writer is None:
                            writer = pq.ParquetWriter(tmp, table.schema, **COPY_WRITE_OPTIONS)
                        writer.write_table(table)
                finally:
                    if writer is not None:
                        writer.close()
                if writer is None:  # no events at all: an empty copy with the canonical columns
                    pl.DataFrame(schema=USAGE_COLUMNS).write_parquet(tmp)
        except duckdb.Error as exc:
            with contextlib.suppress(OSError):
                copy.unlink()
            if (bad := find_bad_json_line(path)) is not None:
                raise SchemaError("", [_relabel(bad, label)]) from None
            raise SchemaError(
                "", [Problem(file=label, code="unreadable", message=f"cannot be read: {exc}")]
            ) from None
        finally:
            con.close()
        _COPIES[key] = copy
    return pl.scan_parquet(copy, row_index_name="_line", row_index_offset=1).select(
        "_line", pl.col("timestamp").alias("_raw_ts"), *USAGE_COLUMNS
    )


def _scan_table(path: Path, fmt: str, columns: dict[str, str], label: str) -> pl.LazyFrame:
    if fmt == "csv":
        frame = pl.scan_csv(path, infer_schema=False, row_index_name="_line", row_index_offset=1)
    else:
        frame = pl.scan_parquet(path, row_index_name="_line", row_index_offset=1)
    present = [c for c in frame.collect_schema().names() if c != "_line"]
    wanted = {c: columns.get(c, c) for c in USAGE_COLUMNS}
    if "group_id" not in columns and "group_id" not in present and "account_id" in present:
        wanted["group_id"] = "account_id"
    missing = [
        Problem(
            file=label,
            column=wanted[c],
            code="missing_column",
            message=f"usage column {c!r} ({wanted[c]!r} in the file) is missing; columns found: "
            f"{', '.join(present[:12])}",
            expected=f"a column {wanted[c]!r} or [usage] columns.{c} = '<file column>'",
        )
        for c in ("user_id", "timestamp", "event")
        if wanted[c] not in present
    ]
    if missing:
        raise SchemaError("", missing)

    def pick(c: str, dtype: pl.DataType | type[pl.DataType]) -> pl.Expr:
        source = wanted[c]
        if source not in present:
            return pl.lit(None, dtype).alias(c)
        return pl.col(source).cast(dtype, strict=False).alias(c)

    return frame.select(
        "_line",
        pick("group_id", pl.Utf8),
        pick("user_id", pl.Utf8),
        pl.col(wanted["timestamp"]).alias("_raw_ts"),
        pick("event", pl.Utf8),
        pick("value", pl.Float64),
        pick("integration", pl.Utf8),
    )


def _check_sample(frame: pl.LazyFrame, path: Path, label: str, fmt: str) -> pl.Expr:
    """Read the first rows: a malformed JSON line or an unknown timestamp stops here, named.
    Returns the timestamp parser that fits the sample."""
    try:
        head = frame.head(SAMPLE_ROWS).collect()
        head = head.with_columns(parse_timestamp(pl.col("_raw_ts")).alias("timestamp"))
    except pl.exceptions.PolarsError as exc:
        if fmt not in ("csv", "parquet") and (bad := find_bad_json_line(path)) is not None:
            raise SchemaError("", [_relabel(bad, label)]) from None
        raise SchemaError(
            "", [Problem(file=label, code="unreadable", message=f"cannot be read: {exc}")]
        ) from None
    unparsed = head.filter(pl.col("timestamp").is_null() & pl.col("_raw_ts").is_not_null())
    if unparsed.height:
        line, raw = unparsed.select("_line", pl.col("_raw_ts").cast(pl.Utf8)).row(0)
        raise SchemaError(
            "",
            [
                Problem(
                    file=label,
                    row=int(line),
                    column="timestamp",
                    value=str(raw),
                    code="timestamp_format",
                    message=f"timestamp {raw!r} is in no known format "
                    f"({unparsed.height:,} of the first {head.height:,} events)",
                    expected=KNOWN_TIMESTAMPS,
                )
            ],
        )
    return fitted_parser(head["_raw_ts"])


def _relabel(problem: Problem, label: str) -> Problem:
    return Problem(**{**problem.to_dict(), "file": label})  # type: ignore[arg-type]


def canonical(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Drop the raw timestamp and rows without one: the canonical event columns only."""
    return frame.filter(pl.col("timestamp").is_not_null()).select(list(USAGE_COLUMNS))
