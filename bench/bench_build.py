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
Since issue 30 each run also prints its CPU time (user + system of the child: far less sensitive
to a loaded machine than wall time) and the build's own step timings (the profile's ``timings``).
Goals (issues 23 and 30): Maven < 5 s (then < 3 s), demo < 10 s on a quiet machine.

    uv run --frozen python bench/bench_build.py [--repeats 3] [--only maven|demo]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# ../shared/datasets beside the repo (a worktree one level further down looks one more up)
_FOLDERS = [p / "shared" / "datasets" / "maven-crm-sales-opportunities"
            for p in Path(__file__).resolve().parents[2:4]]  # fmt: skip
MAVEN = next((p for p in _FOLDERS if p.exists()), _FOLDERS[0])


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


CPU: list[float] = []  # CPU seconds (user + system) of each child, in the order run


def _icpkit(args: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "icpkit", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    if done.returncode != 0:
        sys.exit(f"icpkit {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def _steps(root: Path) -> str:
    """The last build's step timings (the profile's ``timings``, issue 30), largest first."""
    raw = json.loads((root / "icp-profile.json").read_text(encoding="utf-8")).get("timings")
    if not raw:
        return "(no timings in the profile)"
    steps = sorted(raw["steps"], key=lambda s: -s["seconds"])
    total = raw["total_seconds"] or 1.0
    parts = [f"{s['name']} {s['seconds']:.2f}s ({100 * s['seconds'] / total:.0f}%)" for s in steps]
    return ", ".join(parts[:8]) + f"; peak RSS {raw.get('peak_rss_mb')} MB"


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
    parser.add_argument("--no-cold", action="store_true", help="Only the compiled mode.")
    parser.add_argument(
        "--baseline", type=Path, help="Also build with this src folder (e.g. main's), interleaved."
    )
    options = parser.parse_args()
    print(f"load before: {_load()}  (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        workspaces = _workspaces(tmp, options.only)
        compiled = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        cold = dict(compiled, PYTHONPYCACHEPREFIX=str(tmp / "no-bytecode"))
        modes = [("compiled", compiled)] + ([] if options.no_cold else [("cold", cold)])
        if options.baseline:  # another source tree (e.g. main's), interleaved: same load
            modes.append(("baseline", dict(compiled, PYTHONPATH=str(options.baseline))))
        for name, root in workspaces.items():
            times: dict[str, list[float]] = {m: [] for m, _ in modes}
            cpu: dict[str, list[float]] = {m: [] for m, _ in modes}
            for _ in range(options.repeats):  # interleaved: both modes see the same load
                for mode, env in modes:
                    times[mode].append(_icpkit(["--quiet", "build", "-w", str(root)], env))
                    cpu[mode].append(CPU[-1])
                    print(f"  {name} {mode}: {times[mode][-1]:.2f} s wall, {cpu[mode][-1]:.2f} s "
                          f"CPU (load {_load()}); steps: {_steps(root)}", flush=True)  # fmt: skip
            for mode in times:
                print(
                    f"{name}: icpkit build {mode}: wall best {min(times[mode]):.2f} s, median "
                    f"{statistics.median(times[mode]):.2f} s | CPU best {min(cpu[mode]):.2f} s, "
                    f"median {statistics.median(cpu[mode]):.2f} s ({options.repeats} runs)"
                )
            if "baseline" in times:
                ratio = statistics.median(cpu["baseline"]) / statistics.median(cpu["compiled"])
                wall = statistics.median(times["baseline"]) / statistics.median(times["compiled"])
                print(f"{name}: baseline/this tree {ratio:.2f}x CPU, {wall:.2f}x wall (medians)")
            if "cold" in times:
                ratio = statistics.median(times["cold"]) / statistics.median(times["compiled"])
                print(f"{name}: cold/compiled {ratio:.2f}x (median wall)")
    print(f"load after: {_load()}")


if __name__ == "__main__":
    main()
