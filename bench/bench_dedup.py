"""Whole-universe de-duplication at scale: rows/s and memory of ``UniverseGroups``.

A universe of N rows (default 10,000,000) is grouped in batches of 500,000 rows, with 2 % of rows
listing an earlier company again (same name and country, another domain; or same domain). Prints
rows/s, the key map's bytes per row and the process's peak RSS, beside a baseline in the same
process: normalising the same names and domains alone (what any de-duplication must do).

Usage: ``.venv/bin/python bench/bench_dedup.py [N]``
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import polars as pl

from icpkit.data.normalize import normalise_domains
from icpkit.lookalikes.dedup import UniverseGroups
from icpkit.lookalikes.match import name_keys

BATCH = 500_000


def batch(start: int, n: int, rng: np.random.Generator) -> pl.DataFrame:
    ids = np.arange(start, start + n)
    copy = rng.random(n) < 0.02  # a copy of an earlier company
    source = np.where(copy, (ids * 0.5).astype(np.int64), ids)
    same_domain = rng.random(n) < 0.5
    frame = pl.DataFrame({"i": source, "j": ids, "sd": same_domain, "c": copy})
    return frame.select(
        pl.col("j").cast(pl.Utf8).alias("account_id"),
        (pl.lit("Company ") + pl.col("i").cast(pl.Utf8) + pl.lit(" Inc")).alias("name"),
        pl.when(pl.col("c") & ~pl.col("sd"))
        .then(pl.lit("https://www.other") + pl.col("j").cast(pl.Utf8) + pl.lit(".net/"))
        .otherwise(pl.lit("c") + pl.col("i").cast(pl.Utf8) + pl.lit(".com"))
        .alias("domain"),
        pl.lit("US").alias("country"),
        pl.lit("Tier 3").alias("tier"),
    )


def main(n: int) -> None:
    rng = np.random.default_rng(0)
    first = batch(0, min(BATCH, n), rng)
    started = time.perf_counter()
    name_keys(first["name"])
    normalise_domains(first["domain"])
    baseline = first.height / (time.perf_counter() - started)
    groups = UniverseGroups()
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        groups.add(batch(start, min(BATCH, n - start), rng), start)
    summary = groups.summary()
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = n / elapsed
    print(f"rows {n:,}: {elapsed:.0f} s (incl. generating the batches), {rate:,.0f} rows/s")
    print(f"companies {summary['n_companies']:,} (listings folded {n - summary['n_companies']:,})")
    print(
        f"key map + per-row arrays: {groups.nbytes / 1e6:,.0f} MB = {groups.nbytes / n:.1f} B/row"
    )
    print(f"peak RSS {peak:,.0f} MB")
    print(
        f"baseline (normalising names and domains only): {baseline:,.0f} rows/s; ratio {rate / baseline:.2f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000)
