"""Lookalikes at scale: an N-row company universe streamed from Parquet → the ranked target list.

    uv run --frozen python bench/bench_lookalikes.py                  # 10M rows
    uv run --frozen python bench/bench_lookalikes.py --rows 1000000

1. A synthetic CRM (3,000 accounts, planted ICP) is written to a workspace and built. The universe
   is generated in batches straight to Parquet in a temp dir (never whole in memory): a block of
   ``make_universe`` (at most 1M companies under the same planted ICP, with disguised customers
   and duplicate listings) repeated with fresh ids, names and domains until N rows.
2. Each run is a fresh child process, so its peak RSS is its own (the data is generated in another
   child: Linux carries the parent's peak into a spawned child): ``score_file`` alone (every row
   must be scored: the floor), then ``find_targets`` (= ``icpkit lookalikes``) with the exact
   search and with ``--index ann``. Same top-N? (list recall of ANN against exact.)
3. The similarity kernel alone, exact vs ANN, for two seed sets: the CRM's best customers (a few
   hundred: the usual case) and a large seed set of universe rows (``--seeds``): rows/s and the
   tie-aware recall@k of the neighbours (an ANN neighbour counts when its exact similarity
   reaches the exact k-th best).

``--text-only --repeat 3``: the cost of the description part alone, with and without it in
alternating child processes (see :func:`text_cost`).
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
import polars as pl
import pyarrow.parquet as pq

BASE_ROWS = 1_000_000
TOP = 500
K = 5


def make_world(root: Path) -> Path:
    """The CRM workspace, built (profile stored)."""
    from icpkit.datasets import make_crm
    from icpkit.pipeline import Workspace, build_and_save

    ws = root / "ws"
    make_crm(3000, seed=7).write_workspace(ws)
    build_and_save(Workspace.open(ws))
    return ws


def make_universe_parquet(path: Path, rows: int) -> None:
    """``rows`` companies written batch by batch: a base block, then copies of it whose ids,
    names and domains are new (a number added), disguised customers kept as they are."""
    from icpkit.datasets import make_crm, make_universe

    crm = make_crm(3000, seed=7)
    base = make_universe(crm, min(rows, BASE_ROWS), seed=3)
    writer: pq.ParquetWriter | None = None
    done = replica = 0
    while done < rows:
        block = base.head(rows - done)
        if replica:
            plain = pl.col("customer_variant_of").is_null()
            block = block.with_columns(
                (pl.lit(f"R{replica}-") + pl.col("account_id")).alias("account_id"),
                pl.when(plain)
                .then(pl.col("name") + pl.lit(f" {replica}"))
                .otherwise(pl.col("name"))
                .alias("name"),
                pl.when(plain)
                .then(pl.col("domain").str.replace(r"([^.]+)(\.[^.]+)$", f"${{1}}{replica}$2"))
                .otherwise(pl.col("domain"))
                .alias("domain"),
                (pl.lit(f"R{replica}-") + pl.col("duplicate_of")).alias("duplicate_of"),
            )
        table = block.to_arrow()
        writer = writer or pq.ParquetWriter(str(path), table.schema)
        writer.write_table(table, row_group_size=200_000)
        done += block.height
        replica += 1
    assert writer is not None
    writer.close()


# ---------------------------------------------------------------------------------------------
# Child processes: one run each, peak RSS its own


def _child(kind: str, ws: Path, src: Path, dst: Path, queue: Any) -> None:
    import icpkit.lookalikes  # noqa: F401  (imports before the clock starts)
    from icpkit.pipeline import Workspace, find_targets
    from icpkit.scoring.bulk import score_file

    workspace = Workspace.open(ws)
    profile = workspace.store.get("latest").profile()
    if kind == "notext":  # the same run with the description part off (lookalikes.text_weight 0)
        config = workspace.config
        off = config.lookalikes.model_copy(update={"text_weight": 0.0})
        workspace = Workspace(
            root=workspace.root, config=config.model_copy(update={"lookalikes": off})
        )
        kind = "exact"
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if kind == "score_file":
        rows = score_file(profile, src, dst, reasons=False)
        extra: dict[str, Any] = {}
    else:
        result = find_targets(workspace, src, dst, top=TOP, index=kind)
        rows = result.n_universe
        extra = {"excluded": result.n_excluded, "duplicates": result.n_duplicates}
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    extra["cpu"] = round(
        after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2
    )  # every thread of the process
    extra["text"] = result.text.get("used") if kind != "score_file" else None
    peak_mb = after.ru_maxrss / 1024
    queue.put((rows, seconds, peak_mb, extra))


def measure(kind: str, ws: Path, src: Path, dst: Path) -> tuple[int, float, float, dict[str, Any]]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(kind, ws, src, dst, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _prepare(root: Path, rows: int) -> None:
    make_world(root)
    make_universe_parquet(root / "universe.parquet", rows)


def prepare(root: Path, rows: int) -> None:
    """The workspace and the universe, made in a child process: Linux carries a process's peak RSS
    over fork and exec, so a parent that had held the generated data would inflate every child's
    figure (it did: 1.4 GB reported for runs that peak at 0.65 GB)."""
    proc = mp.get_context("spawn").Process(target=_prepare, args=(root, rows))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"generating the universe failed (exit {proc.exitcode})")


# ---------------------------------------------------------------------------------------------
# The similarity kernel: exact vs ANN on the same rows


def exact_kth(space: Any, vectors: np.ndarray, k: int) -> np.ndarray:
    """The exact k-th best similarity of each row (blocked, bounded memory)."""
    m = space.best.shape[1]
    out = np.empty(len(vectors), dtype=np.float32)
    step = max(1, 4_000_000 // m)
    for start in range(0, len(vectors), step):
        block = vectors[start : start + step] @ space.best
        out[start : start + step] = np.partition(block, m - k, axis=1)[:, m - k]
    return out


def kernel(label: str, card: Any, seeds: pl.DataFrame, queries: pl.DataFrame, nprobe: int) -> None:
    from icpkit.lookalikes.rank import _Space

    exact = _Space(card, seeds, K)
    started = time.perf_counter()
    ann = _Space(card, seeds, K, index="ann", nprobe=nprobe)
    build = time.perf_counter() - started
    assert ann.ann is not None
    table = exact.table(queries)
    times = {}
    results = {}
    for name, space in (("exact", exact), ("ann", ann)):
        started = time.perf_counter()
        results[name] = space.compare(table)
        times[name] = time.perf_counter() - started
    vectors = exact.encode(exact._codes(table))
    kth = exact_kth(exact, vectors, K)
    _, ids = ann.ann.search(vectors, K)
    found = np.einsum("nd,nkd->nk", vectors, exact.best.T[np.maximum(ids, 0)])
    found[ids < 0] = -1.0
    recall = float((found >= kth[:, None] - 1e-6).mean())
    gap = float(np.abs(results["exact"][0] - results["ann"][0]).mean())
    n = queries.height
    print(
        f"  kernel, {label}: {seeds.height:,} seeds × {n:,} rows, nlist {ann.ann.nlist}, "
        f"nprobe {ann.ann.nprobe}: exact {n / times['exact']:,.0f} rows/s, ANN "
        f"{n / times['ann']:,.0f} rows/s ({times['exact'] / times['ann']:.2f}× exact; index "
        f"built in {build:.2f} s); recall@{K} {recall:.3f}, mean |Δ similarity| {gap:.4f}",
        flush=True,
    )


def text_cost(root: Path, ws: Path, src: Path, repeat: int) -> None:
    """``find_targets`` with the description part (text_weight as configured) and without it
    (text_weight 0), alternating, each run in its own child: wall and CPU, best and median, and
    the ratios; the two lists compared (the text part may reorder, not change the sizes)."""
    runs: dict[str, list[tuple[float, float]]] = {"exact": [], "notext": []}
    for r in range(repeat):
        for kind in ("exact", "notext") if r % 2 == 0 else ("notext", "exact"):
            rows, seconds, peak, extra = measure(kind, ws, src, root / f"{kind}.parquet")
            runs[kind].append((seconds, extra["cpu"]))
            print(
                f"  {kind:7s} run {r + 1}: {rows:,} rows {seconds:7.1f} s wall {extra['cpu']:7.1f} s "
                f"CPU {rows / seconds:>10,.0f} rows/s peak RSS {peak:6.0f} MB text used "
                f"{extra['text']} load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    for i, what in ((0, "wall"), (1, "CPU")):
        with_text = sorted(t[i] for t in runs["exact"])
        without = sorted(t[i] for t in runs["notext"])
        best = with_text[0] / without[0]
        median = float(np.median(with_text)) / float(np.median(without))
        pairs = [a[i] / b[i] for a, b in zip(runs["exact"], runs["notext"], strict=True)]
        print(
            f"  {what}: with descriptions best {with_text[0]:.1f} s / median "
            f"{np.median(with_text):.1f} s; without best {without[0]:.1f} s / median "
            f"{np.median(without):.1f} s; ratio best {best:.2f}×, median {median:.2f}×, per pair "
            f"{', '.join(f'{p:.2f}×' for p in pairs)}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seeds", type=int, default=50_000, help="large seed set (kernel)")
    parser.add_argument("--queries", type=int, default=200_000, help="rows (kernel)")
    parser.add_argument("--nprobe", type=int, default=8)
    parser.add_argument(
        "--text-only",
        action="store_true",
        help="only the description part's cost: exact runs with and without it, interleaved",
    )
    parser.add_argument("--repeat", type=int, default=3, help="interleaved pairs (--text-only)")
    parser.add_argument(
        "--dir", type=Path, help="keep the workspace and universe here (reused when present)"
    )
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.dir or Path(tmp)
        started = time.perf_counter()
        if not (root / "universe.parquet").exists():
            root.mkdir(parents=True, exist_ok=True)
            prepare(root, args.rows)
        ws = root / "ws"
        src = root / "universe.parquet"
        parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{args.rows:,} companies, {src.stat().st_size / 1e6:.0f} MB Parquet, generated in "
            f"{time.perf_counter() - started:.0f} s (this process's peak RSS {parent:.0f} MB, a "
            "floor under each child's figure)",
            flush=True,
        )
        if args.text_only:
            text_cost(root, ws, src, args.repeat)
            print(f"done, load {os.getloadavg()}")
            return
        rates = {}
        for kind in ("score_file", "exact", "ann"):
            dst = root / f"{kind}.parquet"
            rows, seconds, peak, extra = measure(kind, ws, src, dst)
            rates[kind] = rows / seconds
            print(
                f"  {kind:10s} {rows:>12,} rows {seconds:8.1f} s {rows / seconds:>10,.0f} rows/s  "
                f"peak RSS {peak:6.0f} MB  {extra}  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        exact = pl.read_parquet(root / "exact.parquet")
        ann = pl.read_parquet(root / "ann.parquet")
        overlap = len(set(exact["company_id"]) & set(ann["company_id"])) / exact.height
        universe_mean = pl.scan_parquet(src).select(pl.col("p_win_true").mean()).collect().item()
        print(
            f"  lookalikes ÷ score_file: {rates['exact'] / rates['score_file']:.2f}×; ANN ÷ exact "
            f"{rates['ann'] / rates['exact']:.2f}×; top-{exact.height} recall of ANN "
            f"{overlap:.3f} (same order: {exact['company_id'].equals(ann['company_id'])}); "
            f"top-{exact.height} true win probability {exact['p_win_true'].mean():.3f} = "
            f"{exact['p_win_true'].mean() / universe_mean:.2f}× the universe mean",
            flush=True,
        )

        from icpkit.lookalikes.rank import _best_accounts, _with_attributes
        from icpkit.pipeline import Workspace
        from icpkit.scoring.apply import ScoringPlan

        workspace = Workspace.open(ws)
        plan = ScoringPlan.from_profile(workspace.store.get("latest").profile())
        head = pl.read_parquet(src, n_rows=args.queries + args.seeds)
        head = _with_attributes(head, plan, 0)
        queries = head.head(args.queries)
        best = _best_accounts(workspace.load())
        kernel("the CRM's best customers", plan.card, best, queries, args.nprobe)
        seeds = head.slice(args.queries, args.seeds)
        kernel(
            "a large seed set",
            plan.card,
            seeds,
            queries.head(max(1, args.queries // 10)),
            args.nprobe,
        )
    print(f"done, load {os.getloadavg()}")


if __name__ == "__main__":
    main()
