"""Loading benchmark: icpkit's load + map + normalise + validate against a plain polars read.

Writes a synthetic workspace (CSV) once into a temporary folder, then times in the same process:
  baseline  polars.read_csv of every table file of the workspace (no typing, no checks)
  icpkit    icpkit.data.load_workspace (sniffing, mapping, normalisation, validation)
and prints the ratio. Usage: uv run python bench/bench_loading.py [n_accounts]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from icpkit.config import load_config
from icpkit.data import load_workspace
from icpkit.datasets import make_crm


def _best_of(runs: int, func) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def main(n_accounts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        crm = make_crm(n_accounts, seed=1)
        crm.write_workspace(root)
        rows = sum(frame.height for frame in crm.frames().values())
        n_deals = crm.deals.height
        del crm
        config = load_config(root)
        files = [root / source.path for source in config.sources.values()]
        baseline = _best_of(2, lambda: [pl.read_csv(f, infer_schema_length=10_000) for f in files])
        loaded = _best_of(2, lambda: load_workspace(config, root))
    print(f"{n_accounts:,} accounts, {n_deals:,} deals; {rows:,} rows in {len(files)} tables")
    print(f"  polars read_csv (baseline): {baseline:6.2f} s  {rows / baseline:12,.0f} rows/s")
    print(
        f"  icpkit load_workspace:      {loaded:6.2f} s  {rows / loaded:12,.0f} rows/s"
        f"  ×{loaded / baseline:.1f} the baseline's time"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
