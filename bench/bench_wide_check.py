"""`icpkit check` on wide files: time per column must stay flat (linear growth), not grow.

Run: ``uv run --frozen python bench/bench_wide_check.py [--columns 1000 10000 50000] [--rows 200]``.
Writes an accounts CSV per width (a third integers, a third categories, a third decimals), runs
``Workspace.check()`` on each in this process and prints seconds, seconds per 1,000 columns and
the ratio to the smallest width (the baseline run in the same process). A workspace with the
default ``max_columns`` is refused at once; the timing runs raise the limit.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from icpkit.pipeline import Workspace


def write_wide(folder: Path, n_columns: int, n_rows: int, limit: int) -> None:
    rng = np.random.default_rng(0)
    columns: dict[str, object] = {"account_id": [f"a{i}" for i in range(n_rows)]}
    levels = np.array(["Software", "Retail", "Health", "Finance"])
    for j in range(n_columns):
        if j % 3 == 0:
            columns[f"count_{j}"] = rng.integers(0, 500, n_rows)
        elif j % 3 == 1:
            columns[f"kind_{j}"] = levels[rng.integers(0, 4, n_rows)]
        else:
            columns[f"rate_{j}"] = rng.random(n_rows).round(3)
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(columns).write_csv(folder / "accounts.csv")
    (folder / "icpkit.toml").write_text(
        f'max_columns = {limit}\n[sources.accounts]\npath = "accounts.csv"\n'
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--columns", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--rows", type=int, default=200)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        refused = Path(tmp) / "refused"
        write_wide(refused, max(args.columns), args.rows, limit=max(args.columns) // 2)
        start = time.perf_counter()
        report = Workspace.open(refused).check()
        print(
            f"max_columns = {max(args.columns) // 2:,}, {max(args.columns):,} columns: refused in "
            f"{time.perf_counter() - start:.2f} s: {report.fatal[0].message[:80]}…"
        )
        for n in args.columns:
            folder = Path(tmp) / f"w{n}"
            write_wide(folder, n, args.rows, limit=n + 10)
            start = time.perf_counter()
            report = Workspace.open(folder).check()
            seconds = time.perf_counter() - start
            assert report.ok, report.fatal[:3]
            results.append((n, seconds))
            print(f"{n:>7,} columns × {args.rows} rows: check {seconds:7.2f} s", flush=True)
    base_n, base_s = results[0]
    print("\n| columns | check (s) | s per 1,000 columns | ratio to baseline per column |")
    print("|---|---|---|---|")
    for n, seconds in results:
        per = seconds / n * 1000
        print(f"| {n:,} | {seconds:.2f} | {per:.2f} | {per / (base_s / base_n * 1000):.2f} |")


if __name__ == "__main__":
    main()
