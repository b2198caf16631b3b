"""Which JSON-lines parser for the usage copy, and what the copy stage is made of (issue 28).

Parses a PostHog export's five needed fields with DuckDB ``read_json`` (explicit columns, Arrow
batches), pyarrow's ``read_json`` / ``open_json`` (explicit schema, unexpected fields ignored) and
polars' ``scan_ndjson`` (explicit schema), then times the copy's other parts on DuckDB's batches:
Arrow → polars, the timestamp parse (the parser ``scan_usage`` fits), and the Parquet write with
pyarrow's defaults and with ``COPY_WRITE_OPTIONS``. CPU is ``getrusage`` (all threads).

    PYTHONPATH=src python bench/usage_parsers.py /tmp/usbench/data/posthog-2000000-100000.jsonl

(the export as written by ``bench/bench_usage.py --data``).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

from icpkit.usage.readers import COPY_WRITE_OPTIONS, fitted_parser

COLUMNS = ("{'event': 'VARCHAR', 'distinct_id': 'VARCHAR', 'timestamp': 'VARCHAR', 'properties': "
           "'STRUCT(\"$groups\" STRUCT(company VARCHAR), integration VARCHAR, value VARCHAR)'}")  # fmt: skip


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def timed(name: str, run: Callable[[], Any]) -> Any:
    w, c = time.perf_counter(), cpu()
    out = run()
    print(f"  {name:<48} wall {time.perf_counter() - w:6.2f} s  CPU {cpu() - c:6.2f} s", flush=True)
    return out


def main(path: str) -> None:
    print(f"load average: {os.getloadavg()}  file: {path}")
    select = (
        "SELECT CAST(properties['$groups']['company'] AS VARCHAR) AS group_id, "
        "CAST(distinct_id AS VARCHAR) AS user_id, timestamp AS _raw_ts, event, "
        "TRY_CAST(properties['value'] AS DOUBLE) AS value, "
        "CAST(properties['integration'] AS VARCHAR) AS integration "
        f"FROM read_json('{path}', format='newline_delimited', columns={COLUMNS}, "
        "maximum_object_size=16777216)"
    )

    def duck() -> list[pa.RecordBatch]:
        con = duckdb.connect()
        con.execute("SET memory_limit = '1GB'")
        return list(con.sql(select).to_arrow_reader(500_000))

    schema = pa.schema(
        [
            ("event", pa.string()),
            ("distinct_id", pa.string()),
            ("timestamp", pa.string()),
            (
                "properties",
                pa.struct(
                    [
                        ("$groups", pa.struct([("company", pa.string())])),
                        ("integration", pa.string()),
                        ("value", pa.string()),
                    ]
                ),
            ),
        ]
    )
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    block = pj.ReadOptions(block_size=16 << 20)

    def arrow_stream() -> int:
        return sum(
            b.num_rows for b in pj.open_json(path, parse_options=options, read_options=block)
        )

    polars_schema = {
        "event": pl.Utf8,
        "distinct_id": pl.Utf8,
        "timestamp": pl.Utf8,
        "properties": pl.Struct(
            {"$groups": pl.Struct({"company": pl.Utf8}), "integration": pl.Utf8, "value": pl.Utf8}
        ),
    }

    def polars_scan() -> pl.DataFrame:
        props = pl.col("properties")
        return (
            pl.scan_ndjson(path, schema=polars_schema)
            .select(
                props.struct.field("$groups").struct.field("company"),
                "distinct_id",
                "timestamp",
                "event",
                props.struct.field("integration"),
                props.struct.field("value"),
            )
            .collect(engine="streaming")
        )

    print("parsers (the five fields):")
    batches = timed("DuckDB read_json → Arrow batches", duck)
    timed(
        "pyarrow read_json", lambda: pj.read_json(path, parse_options=options, read_options=block)
    )
    timed("pyarrow open_json (streamed)", arrow_stream)
    timed("polars scan_ndjson", polars_scan)
    print("the copy's other parts, on DuckDB's batches:")
    frames = timed("Arrow → polars", lambda: [pl.DataFrame(pl.from_arrow(b)) for b in batches])
    parser = fitted_parser(frames[0]["_raw_ts"].head(20_000))
    cols = ["group_id", "user_id", parser.alias("timestamp"), "event", "value", "integration"]
    tables = timed("timestamp parse + → Arrow", lambda: [f.select(cols).to_arrow() for f in frames])
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "copy.parquet"
        for name, kw in (
            ("Parquet write, pyarrow defaults (zstd)", {"compression": "zstd"}),
            ("Parquet write, COPY_WRITE_OPTIONS", COPY_WRITE_OPTIONS),
        ):

            def write(kw: dict[str, Any] = kw) -> None:
                with pq.ParquetWriter(target, tables[0].schema, **kw) as writer:
                    for table in tables:
                        writer.write_table(table)

            timed(name, write)
            print(f"    copy size {target.stat().st_size / 1e6:.1f} MB")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main(sys.argv[1])
