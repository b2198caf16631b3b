"""What a build pays to import: CPU seconds of each heavy import, in a fresh process per tree.

Each repeat starts a new interpreter per source tree (interleaved, so both see the same load) and
imports, in order, the packages a build needs; the CPU time (user + system, getrusage) of each
import is what that package adds on top of those before it. Issue 30 (bsmall): the build's
floor is scikit-learn, whose ``sklearn.utils.fixes`` imports scipy.stats and pandas at module
level, so those come with any scikit-learn import.

    PYTHONPATH=src python bench/bench_build_imports.py [--repeats 3] [--baseline /tmp/main/src]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ORDER = [
    "numpy", "polars", "pyarrow", "pydantic", "scipy.special", "scipy.stats", "pandas",
    "sklearn.linear_model", "sklearn.tree", "icpkit.config", "icpkit.profile", "icpkit.cli",
    "icpkit.pipeline",
]  # fmt: skip
OPTIONAL = ["sqlglot", "jinja2", "icpkit.report", "scipy.cluster"]

_CHILD = """
import importlib, json, resource, sys
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
start = cpu(); out = {}
for name in ORDER:
    before = cpu(); importlib.import_module(name); out[name] = cpu() - before
out["total"] = cpu() - start
out["loaded"] = [m for m in OPTIONAL if m in sys.modules]
print(json.dumps(out))
"""


def _run(src: str) -> dict:
    env = dict(os.environ, PYTHONPATH=src, PYTHONDONTWRITEBYTECODE="1")
    code = f"ORDER = {ORDER!r}\nOPTIONAL = {OPTIONAL!r}\n" + _CHILD
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stderr)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="Another src folder, interleaved.")
    options = parser.parse_args()
    trees = {"this tree": os.environ.get("PYTHONPATH", "src")}
    if options.baseline:
        trees["baseline"] = str(options.baseline)
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs: dict[str, list[dict]] = {t: [] for t in trees}
    for _ in range(options.repeats):
        for tree, src in trees.items():
            runs[tree].append(_run(src))
    for tree, results in runs.items():
        print(f"{tree}: total import CPU best {min(r['total'] for r in results):.3f} s, median "
              f"{statistics.median(r['total'] for r in results):.3f} s; also loaded: "
              f"{results[-1]['loaded'] or 'none of ' + ', '.join(OPTIONAL)}")  # fmt: skip
        print("  " + ", ".join(f"{m} {min(r[m] for r in results):.3f}" for m in ORDER))
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
