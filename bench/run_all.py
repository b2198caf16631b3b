"""Run every benchmark (`make bench`): each bench_*.py in its own process, one after another.

Each script prints its own ratios against baselines run in the same process; results worth keeping
go to bench/RESULTS.md with the date and command. Pass script names to run only some:
`uv run python bench/run_all.py bench_scoring`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem in names or s.name in names]
    failed = []
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(
            f"=== {script.name}: exit {code} after {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
