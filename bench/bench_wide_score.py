"""Scoring wide files: `score_file` time against the number of columns (it must grow linearly).

A CSV of ROWS rows and N columns (5 attributes the profile reads, the rest filler text), scored
with a 5-attribute scorecard to CSV; each width runs in this process after a warm-up, so the
ratios between widths compare like with like.

    uv run --frozen python bench/bench_wide_score.py                 # 2k, 10k, 50k columns
    uv run --frozen python bench/bench_wide_score.py --columns 1000 4000 --rows 200
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl


def make_csv(path: Path, columns: int, rows: int) -> None:
    rng = np.random.default_rng(0)
    data = {
        "industry": rng.choice(["Software", "Retail", "Energy"], rows),
        "employees": rng.choice(["51-200", "10", "1,001-5,000"], rows),
        "country": rng.choice(["US", "Germany", "FR"], rows),
        "ownership": rng.choice(["Private", "Public"], rows),
        "annual_revenue": rng.choice(["$12.5M", "3000000", ""], rows),
    }
    filler = {f"extra_{i}": np.full(rows, f"v{i % 7}") for i in range(columns - len(data))}
    pl.DataFrame({**data, **filler}).write_csv(path)


def profile():
    from icpkit.profile import IcpProfile
    from icpkit.scoring import FitScorer

    rng = np.random.default_rng(1)
    frame = pl.DataFrame(
        {
            "industry": rng.choice(["Software", "Retail", "Energy"], 500),
            "employees": rng.choice([125.5, 10.0, 3000.5], 500),
            "country": rng.choice(["US", "DE", "FR"], 500),
            "ownership": rng.choice(["Private", "Public"], 500),
            "annual_revenue": rng.choice([12.5e6, 3e6, None], 500),
        }
    )
    y = (frame["industry"] == "Software").to_numpy().astype(int) ^ (rng.random(500) < 0.2)
    card = FitScorer(random_state=0).fit(frame, y).scorecard_.to_dict()
    return IcpProfile(scorecard=card, tiers={"cuts": {"tier1": 70, "tier2": 50, "tier3": 30}})


def main() -> None:
    from icpkit.scoring import score_file

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--columns", type=int, nargs="+", default=[2_000, 10_000, 50_000])
    parser.add_argument("--rows", type=int, default=1_000)
    args = parser.parse_args()
    scored = profile()
    with tempfile.TemporaryDirectory() as tmp:
        make_csv(Path(tmp) / "warm.csv", 50, args.rows)
        score_file(scored, Path(tmp) / "warm.csv", Path(tmp) / "warm_out.csv")
        base = None
        for n in args.columns:
            src = Path(tmp) / f"wide_{n}.csv"
            make_csv(src, n, args.rows)
            start = time.perf_counter()
            score_file(scored, src, Path(tmp) / "out.csv", max_columns=n)
            seconds = time.perf_counter() - start
            base = base or (seconds / n)
            print(
                f"{n:>7,} columns × {args.rows:,} rows: {seconds:6.2f} s "
                f"({seconds / n * 1e6:6.1f} µs per column; ×{seconds / n / base:.2f} of the "
                "narrowest per column)",
                flush=True,
            )


if __name__ == "__main__":
    main()
