"""The scorecard outside icpkit: the same N rows scored four ways, with exactness checked.

(a) icpkit in-process (``score_file``, all columns with reasons, and score only);
(b) the SQL that ``icpkit export sql`` generates, run in DuckDB over the Parquet file;
(c) Spark local mode on 2 cores (``icpkit score --engine spark``: mapInArrow over icpkit's scorer);
(d) hand-written DuckDB SQL (bench_scoring's baseline: CASE WHEN per attribute, summed).

Each method runs in a fresh child process (its own peak RSS; Spark's JVM is not counted in it).
After timing, fit_score and tier of (b) and (c) are compared with (a) on EVERY row.

    uv run --frozen python bench/bench_export.py                 # 10M rows
    uv run --frozen python bench/bench_export.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_scoring import make_parquet, make_profile, measure, run_duckdb


def run_icpkit_full(src: Path, dst: Path, profile: Any) -> int:
    from icpkit.scoring import score_file

    return score_file(profile, src, dst, keep=["account_id"])


def run_icpkit_score_only(src: Path, dst: Path, profile: Any) -> int:
    from icpkit.scoring import score_file

    return score_file(profile, src, dst, keep=["account_id"], outputs=("fit_score", "tier"))


def run_generated_sql(src: Path, dst: Path, profile: Any) -> int:
    import duckdb

    from icpkit.export import scorecard_sql

    sql = scorecard_sql(profile, "accounts", "duckdb", pretty=False).sql
    con = duckdb.connect()
    con.execute(f"CREATE VIEW accounts AS SELECT * FROM read_parquet('{src}')")
    con.execute(f"COPY ({sql}) TO '{dst}' (FORMAT PARQUET)")
    return int(con.execute(f"SELECT count(*) FROM read_parquet('{dst}')").fetchone()[0])


def run_spark(src: Path, dst: Path, profile: Any) -> int:
    from icpkit.engines.spark import score_spark

    return score_spark(profile, str(src), dst, master="local[2]")


METHODS = {
    "icpkit in-process (all columns, reasons)": run_icpkit_full,
    "icpkit in-process (score + tier)": run_icpkit_score_only,
    "generated SQL in DuckDB (all columns)": run_generated_sql,
    "Spark local[2] via mapInArrow (all columns)": run_spark,
    "hand-written DuckDB SQL (score only)": run_duckdb,
}


def check_exact(reference: Path, other: Path, label: str) -> None:
    import polars as pl

    ref = pl.scan_parquet(reference).select("account_id", "fit_score", "tier")
    got = pl.scan_parquet(other if other.is_file() else other / "*.parquet").select(
        "account_id", pl.col("fit_score").alias("s"), pl.col("tier").cast(pl.String).alias("t")
    )
    joined = ref.join(got, on="account_id").collect()
    bad = joined.filter(
        (pl.col("fit_score").cast(pl.Int64) != pl.col("s").cast(pl.Int64))
        | (pl.col("tier").cast(pl.String) != pl.col("t"))
    )
    assert joined.height == pl.scan_parquet(reference).select(pl.len()).collect().item()
    assert bad.is_empty(), f"{label}: {bad.height} rows differ"
    print(f"  exact: {label} = icpkit on all {joined.height:,} rows (fit_score and tier)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    src = make_parquet(args.rows)
    profile = make_profile(src)
    load = os.getloadavg()
    print(
        f"{args.rows:,} rows, {len(profile.scorecard.features)}-attribute scorecard; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        paths = {}
        for k, name in enumerate(METHODS):
            dst = out / (f"m{k}" if "Spark" in name else f"m{k}.parquet")
            paths[name] = dst
            rows, seconds, peak = measure(METHODS[name], src, dst, profile.to_json())
            rates[name] = rows / seconds
            print(
                f"  {name:46s} {rows:>11,} rows {seconds:7.2f} s {rows / seconds / 1e6:6.2f} M rows/s"
                f"  peak RSS {peak:6.0f} MB",
                flush=True,
            )
        reference = paths["icpkit in-process (all columns, reasons)"]
        check_exact(reference, paths["generated SQL in DuckDB (all columns)"], "generated SQL")
        check_exact(reference, paths["Spark local[2] via mapInArrow (all columns)"], "Spark")
    hand = rates["hand-written DuckDB SQL (score only)"]
    for name, rate in rates.items():
        print(f"  {name:46s} {rate / hand:5.2f}× hand-written DuckDB SQL")


if __name__ == "__main__":
    main()
