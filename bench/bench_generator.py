"""Benchmark of the synthetic CRM generator: seconds and rows/s at 100k and 1M accounts.

Run: ``uv run --frozen python bench/bench_generator.py [--sizes 100000 1000000]``.
The target is 1M accounts with all their tables in under a minute. The ratio line compares the
time per account at each size with the smallest size in the same process (1.0 = linear scaling).
"""

from __future__ import annotations

import argparse
import time

from icpkit.datasets import make_crm


def measure(n_accounts: int, seed: int = 0) -> tuple[float, dict[str, int]]:
    """Seconds to generate a CRM of ``n_accounts`` and the row count of each table."""
    began = time.perf_counter()
    crm = make_crm(n_accounts, seed=seed)
    seconds = time.perf_counter() - began
    return seconds, {name: frame.height for name, frame in crm.frames().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    measure(1_000)  # warm-up: imports and first-call overheads stay out of the figures
    baseline: float | None = None
    for n in args.sizes:
        seconds, rows = measure(n)
        total = sum(rows.values())
        per_account = seconds / n
        baseline = baseline or per_account
        print(
            f"{n:>9,} accounts: {seconds:6.1f} s | {n / seconds:>10,.0f} accounts/s | "
            f"{rows['deals']:>9,} deals | {total:>10,} rows in all "
            f"({total / seconds:,.0f} rows/s) | "
            f"time per account ×{per_account / baseline:.2f} vs {args.sizes[0]:,}"
        )


if __name__ == "__main__":
    main()
