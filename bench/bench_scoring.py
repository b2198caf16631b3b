"""Bulk scoring speed: N accounts from Parquet, a 20-attribute scorecard, read → score → write.

Every method reads the same Parquet file, computes the same integer score per row from the same
points table and writes account_id + fit_score to Parquet. Baselines, run in this same script:
a plain numpy lookup-table scan, hand-written duckdb SQL (CASE WHEN … summed), a hand-written
polars expression (when/then chains and replace_strict), and pandas row-wise apply (on 100k rows).
Each method runs in a fresh child process so its peak memory (max RSS) is its own.

    uv run --frozen python bench/bench_scoring.py            # 10M rows, 3 interleaved runs each
    uv run --frozen python bench/bench_scoring.py --rows 1000000 --repeat 1
    uv run --frozen python bench/bench_scoring.py --only "score + tier" reasons duckdb bare \
        --baseline-src ../main/src                  # before/after, interleaved

Every run prints wall time and the CPU seconds of all its threads (the machine is shared: CPU
moves less with the load than wall time does).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
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


def run_icpkit_tier(src: Path, dst: Path, profile: Any) -> int:
    """Score + tier (the issue's "score + tier" comparison with hand-written SQL)."""
    from icpkit.scoring import score_file

    return score_file(profile, src, dst, keep=["account_id"], outputs=("fit_score", "tier"))


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


def run_bare_read(src: Path, dst: Path, profile: Any) -> int:
    """The physical floor: pyarrow reading the columns scoring reads (+ account_id), text as
    dictionaries, in the batches and with the buffering ``score_file`` reads them; nothing
    written (``dst`` is left alone)."""
    from icpkit.scoring import Scorecard

    card = Scorecard.from_dict(profile.scorecard)
    columns = ["account_id", *card.columns]
    text = [f.column for f in card.features if f.kind == "categorical"]
    handle = pq.ParquetFile(str(src), read_dictionary=text, pre_buffer=False, buffer_size=1 << 20)
    return sum(b.num_rows for b in handle.iter_batches(batch_size=500_000, columns=columns))


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run_duckdb(src: Path, dst: Path, profile: Any, tier: bool = False) -> int:
    """Hand-written SQL: one CASE WHEN per attribute, summed, COPY to Parquet (with ``tier``,
    also the tier from the profile's cuts: the bench profile has no criterion or
    disqualifier, so a tier is the score's band)."""
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
    score = f"CAST({base} + {' + '.join(terms)} AS SMALLINT)"
    select = f"SELECT account_id, {score} AS fit_score FROM read_parquet('{src}')"
    if tier:
        assert not profile.criteria and not profile.disqualifiers, "tiers here are score bands"
        c = profile.tiers.cuts
        select = (
            "SELECT account_id, fit_score, CASE WHEN fit_score >= "
            f"{c.tier1} THEN 'Tier 1' WHEN fit_score >= {c.tier2} THEN 'Tier 2' WHEN "
            f"fit_score >= {c.tier3} THEN 'Tier 3' ELSE 'Non-fit' END AS tier FROM ({select})"
        )
    query = f"COPY ({select}) TO '{dst}' (FORMAT PARQUET)"
    con = duckdb.connect()
    con.execute(query)
    return int(con.execute(f"SELECT count(*) FROM read_parquet('{dst}')").fetchone()[0])


def run_duckdb_tier(src: Path, dst: Path, profile: Any) -> int:
    return run_duckdb(src, dst, profile, tier=True)


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
    "icpkit score_file (score + tier)": run_icpkit_tier,
    "icpkit score_file (score columns, reasons)": run_icpkit_reasons,
    "icpkit score_file (all columns, reasons)": run_icpkit_full,
    "numpy lookup-table scan": run_numpy,
    "duckdb hand-written SQL": run_duckdb,
    "duckdb hand-written SQL (score + tier)": run_duckdb_tier,
    "pyarrow bare read (same columns)": run_bare_read,
    "polars hand-written expression": run_polars,
    "pandas row-wise apply (100k rows)": run_pandas_rowwise,
}


def _child(
    method: Any, src: Path, dst: Path, profile_json: str, queue: Any, code: str | None = None
) -> None:
    if code is not None:  # another checkout's icpkit (--baseline-src), imported from there
        sys.path.insert(0, code)
    import duckdb  # noqa: F401  (every library is imported before the clock starts)
    import pandas  # noqa: F401
    import polars  # noqa: F401

    import icpkit.scoring  # noqa: F401
    from icpkit.profile import IcpProfile

    profile = IcpProfile.from_json(profile_json)
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    rows = method(src, dst, profile)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    queue.put((rows, seconds, after.ru_maxrss / 1024, cpu))


def measure_cpu(
    method: Any, src: Path, dst: Path, profile_json: str, code: str | None = None
) -> tuple[int, float, float, float]:
    """(rows, seconds, peak RSS MB, CPU seconds of all the child's threads) of
    ``method(src, dst, profile)`` in a fresh child process (a module-level function: the child
    imports it by name), with icpkit imported from ``code`` when given."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(method, src, dst, profile_json, queue, code))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def measure(method: Any, src: Path, dst: Path, profile_json: str) -> tuple[int, float, float]:
    """(rows, seconds, peak RSS MB) of ``method(src, dst, profile)`` in a fresh child process."""
    return measure_cpu(method, src, dst, profile_json)[:3]


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
    parser.add_argument(
        "--only", nargs="*", default=None, help="run only the methods whose name has one of these"
    )
    parser.add_argument(
        "--baseline-src",
        default=None,
        help="another checkout's src/ folder: its icpkit runs the score + tier and reasons "
        "methods too, interleaved with this one's ('before' beside 'after')",
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
    methods: dict[str, tuple[Any, str | None]] = {k: (v, None) for k, v in METHODS.items()}
    if args.baseline_src:
        for name in ("score + tier", "score columns, reasons"):
            methods[f"baseline icpkit ({name})"] = (
                METHODS[f"icpkit score_file ({name})"],
                str(Path(args.baseline_src).resolve()),
            )
    if args.only:
        methods = {k: v for k, v in methods.items() if any(o in k for o in args.only)}
    runs: dict[str, list[tuple[int, float, float, float]]] = {name: [] for name in methods}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for rep in range(args.repeat):
            for i, (name, (method, code)) in enumerate(methods.items()):
                if name.startswith("pandas") and rep:  # 300× slower: one run says enough
                    continue
                run = measure_cpu(method, src, out / f"m{i}.parquet", profile.to_json(), code)
                runs[name].append(run)
                rows, seconds, peak, cpu = run
                print(
                    f"  run {rep + 1}  {name:44s} {rows:>11,} rows {seconds:7.2f} s "
                    f"{rows / seconds / 1e6:7.3f} M rows/s  CPU {cpu:6.2f} s  "
                    f"peak RSS {peak:6.0f} MB",
                    flush=True,
                )
        check_agreement(out)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    best = {k: max(r / s for r, s, _, _ in v) for k, v in runs.items()}
    median = {k: float(np.median([r / s for r, s, _, _ in v])) for k, v in runs.items()}
    cpu = {k: min(c for _, _, _, c in v) for k, v in runs.items()}
    print(
        "\nmethod                                        best M rows/s  median  min CPU s  peak RSS"
    )
    for name, v in runs.items():
        peak = max(p for _, _, p, _ in v)
        print(
            f"  {name:44s} {best[name] / 1e6:8.3f} {median[name] / 1e6:8.3f} "
            f"{cpu[name]:8.2f} {peak:6.0f} MB"
        )

    def ratio(ours: str, theirs: str, label: str) -> None:
        if ours not in runs or theirs not in runs:
            return
        pairs = [a[1] / b[1] for a, b in zip(runs[theirs], runs[ours], strict=False)]
        print(
            f"{label}: {best[ours] / best[theirs]:.2f}× best, {median[ours] / median[theirs]:.2f}× "
            f"median, {float(np.median(pairs)):.2f}× median of the runs paired by repeat; "
            f"CPU {cpu[theirs] / cpu[ours]:.2f}× (least CPU seconds of each)"
        )

    tier, sql_tier = "icpkit score_file (score + tier)", "duckdb hand-written SQL (score + tier)"
    ratio(tier, sql_tier, "icpkit score + tier ÷ hand-written DuckDB SQL score + tier")
    ratio(
        tier, "duckdb hand-written SQL", "icpkit score + tier ÷ hand-written DuckDB SQL score only"
    )
    ratio("icpkit score_file (score only)", "duckdb hand-written SQL", "icpkit score only ÷ DuckDB")
    floor = "pyarrow bare read (same columns)"
    ratio(tier, floor, "icpkit score + tier ÷ pyarrow bare read of the same columns (speed)")
    reasons = "icpkit score_file (score columns, reasons)"
    ratio(reasons, floor, "icpkit score columns with reasons ÷ pyarrow bare read (speed)")
    ratio(tier, "baseline icpkit (score + tier)", "score + tier ÷ baseline checkout")
    ratio(reasons, "baseline icpkit (score columns, reasons)", "reasons ÷ baseline checkout")
    for name in ("score columns", "all columns"):
        key = f"icpkit score_file ({name}, reasons)"
        if key in runs:
            print(
                f"icpkit with reasons ({name}): {best[key] / 1e6:.2f}M rows/s best, "
                f"{median[key] / 1e6:.2f}M median"
            )
    for other in ("numpy lookup-table scan", "pandas row-wise apply (100k rows)"):
        ratio("icpkit score_file (score only)", other, f"icpkit score only ÷ {other}")


if __name__ == "__main__":
    main()
