"""Bulk scoring speed: N accounts from Parquet, a 20-attribute scorecard, read → score → write.

Every method reads the same Parquet file, computes the same integer score per row from the same
points table and writes account_id + fit_score to Parquet. Baselines, run in this same script:
a plain numpy lookup-table scan, hand-written duckdb SQL (CASE WHEN … summed), a hand-written
polars expression (when/then chains and replace_strict), and pandas row-wise apply (on 100k rows).
Each method runs in a fresh child process so its peak memory (max RSS) is its own.

    uv run --frozen python bench/bench_scoring.py            # 10M rows, 3 interleaved runs each
    uv run --frozen python bench/bench_scoring.py --rows 1000000 --repeat 1
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

N_NUMERIC = 10
N_TEXT = 10
CACHE = Path(tempfile.gettempdir()) / "icpkit_bench_scoring"


def make_parquet(rows: int) -> Path:
    """A synthetic accounts file (10 numeric, 10 text attributes), written once and cached."""
    path = CACHE / f"accounts_{rows}.parquet"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    writer = None
    chunk = 1_000_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        cols: dict[str, Any] = {"account_id": np.arange(start, start + n, dtype=np.int64)}
        for i in range(N_NUMERIC):
            values = rng.lognormal(3 + i % 4, 1.2, n)
            values[rng.random(n) < 0.03] = np.nan
            cols[f"num{i}"] = pa.array(values, from_pandas=True)
        for i in range(N_TEXT):
            levels = np.array([f"level_{i}_{k}" for k in range(8 + 3 * i)])
            p = 1 / np.arange(1, len(levels) + 1)
            cols[f"cat{i}"] = pa.array(rng.choice(levels, n, p=p / p.sum()))
        table = pa.table(cols)
        writer = writer or pq.ParquetWriter(str(path), table.schema)
        writer.write_table(table, row_group_size=chunk)
    assert writer is not None
    writer.close()
    return path


def make_profile(path: Path) -> Any:
    """A 20-attribute scorecard learned on a 200k-row sample with a planted outcome."""
    import polars as pl

    from icpkit.profile import IcpProfile
    from icpkit.scoring import FitScorer

    sample = pl.read_parquet(path, n_rows=200_000).drop("account_id")
    rng = np.random.default_rng(1)
    logit = (
        -1
        + 0.8 * (sample["cat0"] == "level_0_0").to_numpy()
        - 0.5 * (sample["num1"].fill_null(0).to_numpy() > 60)
    )
    y = (rng.random(sample.height) < 1 / (1 + np.exp(-logit))).astype(int)
    scorer = FitScorer(random_state=0).fit(sample, y)
    card = scorer.scorecard_.to_dict()
    return IcpProfile(scorecard=card, tiers={"cuts": {"tier1": 70, "tier2": 50, "tier3": 30}})


# ---------------------------------------------------------------------------------------------
# The methods: each reads `src`, writes account_id + fit_score to `dst`


def run_icpkit(src: Path, dst: Path, profile: Any) -> int:
    from icpkit.scoring import score_file

    return score_file(profile, src, dst, keep=["account_id"], outputs=("fit_score",))


def run_icpkit_reasons(src: Path, dst: Path, profile: Any) -> int:
    """The score columns: probability, tier, top-3 reasons for/against, criteria, disqualifiers."""
    from icpkit.scoring import score_file
    from icpkit.scoring.apply import OUTPUT_COLUMNS

    return score_file(profile, src, dst, keep=["account_id"], outputs=OUTPUT_COLUMNS)


def run_icpkit_full(src: Path, dst: Path, profile: Any) -> int:
    """Every column ``icpkit score`` writes: the score columns plus each attribute's points."""
    from icpkit.scoring import score_file

    return score_file(profile, src, dst, keep=["account_id"])


def _tables(profile: Any) -> tuple[int, list[dict[str, Any]]]:
    from icpkit.scoring import Scorecard

    card = Scorecard.from_dict(profile.scorecard)
    return card.base, [
        {"feature": f, "points": np.asarray(p, dtype=np.int16)}
        for f, p in zip(card.features, card.points, strict=True)
    ]


def run_numpy(src: Path, dst: Path, profile: Any) -> int:
    """Plain numpy: searchsorted for numbers, a dictionary → points lookup gathered by the
    Parquet dictionary indices for text, summed; one row group at a time."""
    base, tables = _tables(profile)
    text = [t["feature"].column for t in tables if t["feature"].kind == "categorical"]
    handle = pq.ParquetFile(str(src), read_dictionary=text)
    done, writer = 0, None
    for i in range(handle.num_row_groups):
        group = handle.read_row_group(i)
        score = np.full(group.num_rows, base, dtype=np.int16)
        for t in tables:
            f, pts = t["feature"], t["points"]
            column = group.column(f.column).combine_chunks()
            if f.kind == "numeric":
                values = column.to_numpy(zero_copy_only=False)
                code = np.searchsorted(np.asarray(f.cuts), values, side="right")
                code[np.isnan(values)] = len(f.cuts) + 1
                score += pts[code]
                continue
            lookup = {v: i for i, v in enumerate(f.levels)}
            words = column.dictionary.to_pylist()
            table = np.array([pts[lookup.get(w, len(f.levels))] for w in words] + [pts[-1]])
            index = column.indices.fill_null(len(words)).to_numpy(zero_copy_only=False)
            score += table[index].astype(np.int16)
        out = pa.table({"account_id": group.column("account_id"), "fit_score": score})
        writer = writer or pq.ParquetWriter(str(dst), out.schema)
        writer.write_table(out)
        done += group.num_rows
    assert writer is not None
    writer.close()
    return done


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run_duckdb(src: Path, dst: Path, profile: Any) -> int:
    """Hand-written SQL: one CASE WHEN per attribute, summed, COPY to Parquet."""
    import duckdb

    base, tables = _tables(profile)
    terms = []
    for t in tables:
        f, pts = t["feature"], t["points"]
        col = f.column
        if f.kind == "numeric":
            whens = [f"WHEN {col} IS NULL OR isnan({col}) THEN {pts[-1]}"]
            whens += [f"WHEN {col} < {c!r} THEN {pts[i]}" for i, c in enumerate(f.cuts)]
            terms.append(f"(CASE {' '.join(whens)} ELSE {pts[len(f.cuts)]} END)")
        else:
            whens = [f"WHEN {col} IS NULL THEN {pts[-1]}"]
            whens += [
                f"WHEN {col} = {_sql_literal(v)} THEN {pts[i]}" for i, v in enumerate(f.levels)
            ]
            terms.append(f"(CASE {' '.join(whens)} ELSE {pts[len(f.levels)]} END)")
    query = (
        f"COPY (SELECT account_id, CAST({base} + {' + '.join(terms)} AS SMALLINT) AS fit_score "
        f"FROM read_parquet('{src}')) TO '{dst}' (FORMAT PARQUET)"
    )
    con = duckdb.connect()
    con.execute(query)
    return int(con.execute(f"SELECT count(*) FROM read_parquet('{dst}')").fetchone()[0])


def run_polars(src: Path, dst: Path, profile: Any) -> int:
    """Hand-written polars: when/then chains for numbers, replace_strict for text, sink_parquet."""
    import polars as pl

    base, tables = _tables(profile)
    terms = []
    for t in tables:
        f, pts = t["feature"], [int(p) for p in t["points"]]
        col = pl.col(f.column)
        if f.kind == "numeric":
            expr = pl.when(col.is_null() | col.is_nan()).then(pts[-1])
            for i, c in enumerate(f.cuts):
                expr = expr.when(col < c).then(pts[i])
            terms.append(expr.otherwise(pts[len(f.cuts)]))
        else:
            mapping = dict(zip(f.levels, pts[: len(f.levels)], strict=True))
            mapped = col.replace_strict(mapping, default=pts[len(f.levels)], return_dtype=pl.Int16)
            terms.append(pl.when(col.is_null()).then(pts[-1]).otherwise(mapped))
    score = pl.sum_horizontal(terms) + base
    (
        pl.scan_parquet(src)
        .select("account_id", score.cast(pl.Int16).alias("fit_score"))
        .sink_parquet(dst)
    )
    return pl.scan_parquet(dst).select(pl.len()).collect().item()


def run_pandas_rowwise(src: Path, dst: Path, profile: Any, rows: int = 100_000) -> int:
    """pandas apply(axis=1) over the first 100k rows: how scoring is often hand-written."""
    import pandas as pd

    base, tables = _tables(profile)
    frame = pq.ParquetFile(str(src)).read_row_group(0).slice(0, rows).to_pandas()

    def score_row(row: Any) -> int:
        total = base
        for t in tables:
            f, pts = t["feature"], t["points"]
            value = row[f.column]
            if f.kind == "numeric":
                code = (
                    len(f.cuts) + 1
                    if pd.isna(value)
                    else int(np.searchsorted(f.cuts, value, side="right"))
                )
            else:
                code = (
                    len(f.levels) + 1
                    if value is None
                    else (f.levels.index(value) if value in f.levels else len(f.levels))
                )
            total += int(pts[code])
        return total

    frame["fit_score"] = frame.apply(score_row, axis=1)
    frame[["account_id", "fit_score"]].to_parquet(dst)
    return len(frame)


METHODS = {
    "icpkit score_file (score only)": run_icpkit,
    "icpkit score_file (score columns, reasons)": run_icpkit_reasons,
    "icpkit score_file (all columns, reasons)": run_icpkit_full,
    "numpy lookup-table scan": run_numpy,
    "duckdb hand-written SQL": run_duckdb,
    "polars hand-written expression": run_polars,
    "pandas row-wise apply (100k rows)": run_pandas_rowwise,
}


def _child(method: Any, src: Path, dst: Path, profile_json: str, queue: Any) -> None:
    import duckdb  # noqa: F401  (every library is imported before the clock starts)
    import pandas  # noqa: F401
    import polars  # noqa: F401

    import icpkit.scoring  # noqa: F401
    from icpkit.profile import IcpProfile

    profile = IcpProfile.from_json(profile_json)
    start = time.perf_counter()
    rows = method(src, dst, profile)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((rows, seconds, peak_mb))


def measure(method: Any, src: Path, dst: Path, profile_json: str) -> tuple[int, float, float]:
    """(rows, seconds, peak RSS MB) of ``method(src, dst, profile)`` in a fresh child process
    (a module-level function: the child imports it by name)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(method, src, dst, profile_json, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def check_agreement(out_dir: Path) -> None:
    """Every method must produce the same scores (the first 100k rows compared)."""
    import polars as pl

    paths = sorted(out_dir.glob("*.parquet"))
    ref = pl.read_parquet(paths[0], n_rows=100_000)["fit_score"].cast(pl.Int64)
    for path in paths[1:]:
        other = pl.read_parquet(path, n_rows=100_000)["fit_score"].cast(pl.Int64)
        assert other.equals(ref), f"{path.name} disagrees with the numpy baseline"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each method, interleaved (the machine is shared: best and median shown)",
    )
    args = parser.parse_args()
    src = make_parquet(args.rows)
    profile = make_profile(src)
    load = os.getloadavg()
    print(
        f"{args.rows:,} rows, {len(profile.scorecard.features)}-attribute scorecard, "
        f"{src.stat().st_size / 1e6:.0f} MB Parquet; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.repeat} interleaved runs per method"
    )
    runs: dict[str, list[tuple[int, float, float]]] = {name: [] for name in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for rep in range(args.repeat):
            for i, name in enumerate(METHODS):
                if name.startswith("pandas") and rep:  # 300× slower: one run says enough
                    continue
                rows, seconds, peak = measure(
                    METHODS[name], src, out / f"m{i}.parquet", profile.to_json()
                )
                runs[name].append((rows, seconds, peak))
                print(
                    f"  run {rep + 1}  {name:44s} {rows:>11,} rows {seconds:7.2f} s "
                    f"{rows / seconds / 1e6:7.3f} M rows/s  peak RSS {peak:6.0f} MB",
                    flush=True,
                )
        check_agreement(out)
    best = {k: max(r / s for r, s, _ in v) for k, v in runs.items()}
    median = {k: float(np.median([r / s for r, s, _ in v])) for k, v in runs.items()}
    print("\nmethod                                        best M rows/s  median  peak RSS")
    for name, v in runs.items():
        peak = max(p for _, _, p in v)
        print(f"  {name:44s} {best[name] / 1e6:8.3f} {median[name] / 1e6:8.3f} {peak:6.0f} MB")
    for label, rate in (("best", best), ("median", median)):
        ours = rate["icpkit score_file (score only)"]
        hand = max(rate["duckdb hand-written SQL"], rate["polars hand-written expression"])
        print(f"[{label}] icpkit score only ÷ best hand-written expression: {ours / hand:.2f}×")
        print(
            f"[{label}] icpkit ÷ numpy lookup-table scan: {ours / rate['numpy lookup-table scan']:.2f}×"
        )
        print(
            f"[{label}] icpkit ÷ pandas row-wise apply: "
            f"{ours / rate['pandas row-wise apply (100k rows)']:.0f}×"
        )
        for name in ("score columns", "all columns"):
            full = rate[f"icpkit score_file ({name}, reasons)"]
            print(f"[{label}] icpkit with reasons ({name}): {full / 1e6:.2f}M rows/s")


if __name__ == "__main__":
    main()
