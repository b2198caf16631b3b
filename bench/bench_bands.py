"""What the bands beside the tiers cost (issue 27): scoring with and without calibrated_score and
fit_band, on the same rows in the same process, and the API's per-record path.

    uv run --frozen python bench/bench_bands.py              # 1,000,000 rows
    uv run --frozen python bench/bench_bands.py --rows 200000

Prints the ratio (with bands ÷ without); each timing is the best of --repeats interleaved runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_scoring import make_parquet, make_profile


def best(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from icpkit.scoring.apply import ScoringPlan
    from icpkit.scoring.bands import calibrate_one

    path = make_parquet(args.rows)
    plan = ScoringPlan.from_profile(make_profile(path))
    table = pq.read_table(path, columns=list(plan.columns))
    without = ("fit_score", "tier")
    banded = (*without, "calibrated_score", "fit_band")
    plan.score_table(table, reasons=False, outputs=banded)  # warm up (thread pool, caches)
    base = more = float("inf")
    for _ in range(args.repeats):  # interleaved: a loaded machine slows both alike
        base = min(base, best(lambda: plan.score_table(table, reasons=False, outputs=without), 1))
        more = min(more, best(lambda: plan.score_table(table, reasons=False, outputs=banded), 1))
    print(f"{args.rows:,} rows, fit_score + tier:               {base:.3f} s")
    print(
        f"{args.rows:,} rows, + calibrated_score + fit_band:   {more:.3f} s  ({more / base:.3f}x)"
    )
    scores = np.random.default_rng(0).integers(0, 101, 10_000)
    n = len(scores)
    one = best(lambda: [calibrate_one(int(s), plan.cuts, plan.bands) for s in scores], 3) / n
    print(f"one record (API fast path): {one * 1e6:.2f} us per calibrate_one")


if __name__ == "__main__":
    main()
