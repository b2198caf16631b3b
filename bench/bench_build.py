"""The whole `icpkit build` as a user waits for it: a new process, imports included.

Two workspaces: the real Maven CRM (../shared/datasets/maven-crm-sales-opportunities, preset maven;
skipped when absent) and the 3,000-account synthetic demo CRM. Each is built by `python -m icpkit
build` in a fresh process, in two modes interleaved, ``--repeats`` times each:

  compiled   the environment as `make env` leaves it (bytecode compiled once)
  cold       the same with PYTHONPYCACHEPREFIX pointing at an empty folder: with
             PYTHONDONTWRITEBYTECODE=1 (as on these machines) every process compiles scipy,
             scikit-learn, pandas and icpkit from source, which is what every command paid before
             `make env` compiled the bytecode

and prints best and median wall time of each, their ratio, and the load average before and after.
Goals (issues 23 and 30): Maven < 5 s (then < 3 s), demo < 10 s on a quiet machine.

    uv run --frozen python bench/bench_build.py [--repeats 3] [--only maven|demo]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAVEN = (
    Path(__file__).resolve().parents[2] / "shared" / "datasets" / "maven-crm-sales-opportunities"
)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _icpkit(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "icpkit", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"icpkit {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def _workspaces(tmp: Path, only: str | None) -> dict[str, Path]:
    env = dict(os.environ)
    found: dict[str, Path] = {}
    if only in (None, "maven"):
        if MAVEN.exists():
            _icpkit(["init", str(MAVEN), "--preset", "maven", "-w", str(tmp / "maven")], env)
            found["maven"] = tmp / "maven"
        else:
            print(f"maven: skipped ({MAVEN} not found)")
    if only in (None, "demo"):
        from icpkit.datasets import make_crm

        make_crm(3000, seed=7).write_workspace(tmp / "demo")
        found["demo"] = tmp / "demo"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["maven", "demo"])
    options = parser.parse_args()
    print(f"load before: {_load()}  (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        workspaces = _workspaces(tmp, options.only)
        compiled = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        cold = dict(compiled, PYTHONPYCACHEPREFIX=str(tmp / "no-bytecode"))
        for name, root in workspaces.items():
            times: dict[str, list[float]] = {"compiled": [], "cold": []}
            for _ in range(options.repeats):  # interleaved: both modes see the same load
                for mode, env in (("compiled", compiled), ("cold", cold)):
                    times[mode].append(_icpkit(["--quiet", "build", "-w", str(root)], env))
            best = {m: min(t) for m, t in times.items()}
            median = {m: statistics.median(t) for m, t in times.items()}
            print(
                f"{name}: icpkit build  compiled best {best['compiled']:.2f} s, median "
                f"{median['compiled']:.2f} s | cold best {best['cold']:.2f} s, median "
                f"{median['cold']:.2f} s | cold/compiled {median['cold'] / median['compiled']:.2f}x"
                f" (median, {options.repeats} runs each)"
            )
    print(f"load after: {_load()}")


if __name__ == "__main__":
    main()
