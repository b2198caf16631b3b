"""The worklist's cost over the ranking it reads: ``prioritize`` alone (the baseline, what `icpkit
prioritize` always paid) vs ``worklist_table`` (the same ranking + names, owner, territory,
industry, first why-now) and one filtered, sorted page of it (``select``: what every
``GET /v1/worklist`` request pays once the table is cached per version).

Prints ratios against the baseline run in the same process; never asserts a time.

    PYTHONPATH=src python bench/bench_worklist.py --rows 200000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from icpkit.signals.priority import prioritize
from icpkit.worklist import WorklistQuery, select, worklist_table


def frames(n: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"A{i:08d}" for i in range(n)]
    fit = pl.DataFrame(
        {
            "account_id": ids,
            "fit_score": rng.integers(0, 101, n),
            "tier": rng.choice(["Tier 1", "Tier 2", "Tier 3", "Non-fit"], n),
        }
    )
    hot = rng.random(n)
    intent = pl.DataFrame(
        {
            "account_id": ids,
            "intent_score": hot * 100,
            "intent": np.where(hot > 0.9, "hot", np.where(hot > 0.7, "warm", "cold")),
            "why_now": np.where(
                hot > 0.7,
                "raised Series B $25M 13 days ago: deals opened within 124 days of funding are "
                "opened 3.2× [2.7, 3.7] as often; has a leadership change 40 days ago",
                "",
            ),
        }
    )
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "name": [f"Company {i}" for i in range(n)],
            "domain": [f"company-{i}.example.com" for i in range(n)],
            "industry": rng.choice(["Software", "Retail", "Energy", "Media"], n),
            "region": rng.choice(["EMEA", "APAC", "LATAM", "North America"], n),
            "owner": rng.choice([f"Rep {k}" for k in range(40)], n),
        }
    )
    return fit, intent, accounts


def best(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    fit, intent, accounts = frames(args.rows)
    base = best(lambda: prioritize(fit, intent), args.repeats)
    table = worklist_table(fit, intent, accounts)
    full = best(lambda: worklist_table(fit, intent, accounts), args.repeats)
    query = WorklistQuery(owner="rep 7", tier="Tier 1", sort="-fit_score", limit=50, offset=50)
    page = best(lambda: select(table, query), args.repeats)
    first = best(lambda: select(table, WorklistQuery()), args.repeats)
    print(f"{args.rows:,} accounts, best of {args.repeats}")
    print(f"  prioritize (baseline)              {base * 1000:8.1f} ms  1.00×")
    print(f"  worklist_table (ranking + names)   {full * 1000:8.1f} ms  {full / base:.2f}×")
    print(f"  select: first page, no filter      {first * 1000:8.1f} ms  {first / base:.2f}×")
    print(f"  select: owner+tier, -fit, page 2   {page * 1000:8.1f} ms  {page / base:.2f}×")


if __name__ == "__main__":
    main()
