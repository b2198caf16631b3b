"""The whole build on a large CRM: 100k accounts, 1M deals, 300k contacts, 500k notes, 2M signals.

Issue 30's goal: `icpkit build` on that CRM in < 2 min and < 4 GB. The CRM is generated: the
synthetic generator's tables for ``--accounts`` accounts (``make_crm``; the planted ICP, outcomes
and signal effects), then deals, notes and signals resampled up to the sizes asked (the original
rows kept, copies with new ids and dates moved by up to ``--jitter-days``, so every account keeps
its own outcome mix) and contacts sampled down. The tables are written as Parquet into a temporary
workspace; the build runs in a new process (`python -m icpkit --quiet build`), as a user runs it,
``--repeats`` times. Printed per run: wall and CPU seconds, the peak RSS of the build process
(ru_maxrss of the child) and every build step from the profile's ``timings``, largest first.

    uv run --frozen python bench/bench_build_large.py [--accounts 100000] [--deals 1000000]
        [--contacts 300000] [--notes 500000] [--signals 2000000] [--repeats 1]
        [--keep DIR [--reuse]]

The build uses the workspace's ``[build] workers`` (default 1; 2: the themes in a second process);
CPU is summed over both processes and memory is given both ways: the largest process's peak and
the peak of both processes' resident memory summed (sampled every 0.1 s from /proc).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _resized(frame: pl.DataFrame, n: int, seed: int, ids: str | None, dates: list[str],
             jitter: int) -> pl.DataFrame:  # fmt: skip
    """``frame`` with ``n`` rows: its own rows first, then copies (new ids, moved dates)."""
    if n <= frame.height:
        return frame.sample(n, seed=seed).sort(frame.columns[0])
    rng = np.random.default_rng(seed)
    extra = frame[rng.integers(0, frame.height, n - frame.height)]
    shift = pl.Series(rng.integers(-jitter, jitter + 1, extra.height)).cast(pl.Int32)
    extra = extra.with_columns(
        [pl.col(c) + pl.duration(days=shift) for c in dates if c in extra.columns]
    )
    if ids is not None:
        extra = extra.with_columns(
            (pl.lit(f"{ids[0]}X") + pl.int_range(extra.height).cast(pl.Utf8)).alias(ids)
        )
    return pl.concat([frame, extra])


def generate(root: Path, options: argparse.Namespace) -> dict[str, int]:
    """Write the large CRM as a Parquet workspace into ``root``; rows per table."""
    from icpkit.datasets import make_crm

    crm = make_crm(options.accounts, seed=options.seed)
    jitter = options.jitter_days
    crm = dataclasses.replace(
        crm,
        deals=_resized(crm.deals, options.deals, 1, "deal_id", ["created_at", "closed_at"], jitter),
        contacts=_resized(crm.contacts, options.contacts, 2, "contact_id", [], jitter),
        notes=_resized(crm.notes, options.notes, 3, None, ["date"], jitter),
        signals=_resized(crm.signals, options.signals, 4, None, ["date"], jitter),
    )
    crm.write_workspace(root, fmt="parquet")
    return {name: frame.height for name, frame in crm.frames().items()}


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and every process below it, summed (MiB; Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:  # ended meanwhile
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        todo += [int(c) for c in children]
    return total / 1024


def _build(root: Path) -> tuple[float, float, float, float]:
    """(wall s, CPU s of every process, peak RSS MB of the largest process, peak summed RSS MB
    of the build and its second process, sampled every 0.1 s) of one `icpkit build`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "icpkit", "--quiet", "build", "-w", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
    )
    peak_sum = [0.0]

    def sample() -> None:
        while process.poll() is None:
            peak_sum[0] = max(peak_sum[0], _tree_rss_mb(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        sys.exit(f"icpkit build failed ({process.returncode}):\n{output}")
    # CPU: the build and its second process (reaped by the build, so counted in its children)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024, peak_sum[0]  # ru_maxrss in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    parser.add_argument("--notes", type=int, default=500_000)
    parser.add_argument("--signals", type=int, default=2_000_000)
    parser.add_argument("--jitter-days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="Write the workspace here and keep it.")
    parser.add_argument(
        "--reuse", action="store_true",
        help="With --keep: build the workspace already there (generated by an earlier run).",
    )  # fmt: skip
    options = parser.parse_args()
    print(f"load before: {_load()}  (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    with tempfile.TemporaryDirectory() as tmp_name:
        root = options.keep or Path(tmp_name) / "large"
        if options.reuse and options.keep is not None and (root / "icpkit.toml").exists():
            print(f"reusing the workspace in {root}")
        else:
            started = time.perf_counter()
            rows = generate(root, options)
            print(f"generated in {time.perf_counter() - started:.1f} s: "
                  + ", ".join(f"{k} {v:,}" for k, v in rows.items()), flush=True)  # fmt: skip
        walls: list[float] = []
        for _ in range(options.repeats):
            wall, cpu, rss, rss_sum = _build(root)
            walls.append(wall)
            timings = json.loads((root / "icp-profile.json").read_text(encoding="utf-8"))
            timings = timings["timings"]
            steps = sorted(timings["steps"], key=lambda s: -s["seconds"])
            print(f"build: {wall:.1f} s wall, {cpu:.1f} s CPU (all processes), peak RSS "
                  f"{rss:,.0f} MB (largest process), {rss_sum:,.0f} MB (all processes at once, "
                  f"sampled) (load {_load()})", flush=True)  # fmt: skip
            print("  steps: " + ", ".join(f"{s['name']} {s['seconds']:.1f}s" for s in steps))
            for side in timings.get("second_process") or []:
                print(f"  second process: {side['name']} {side['seconds']:.1f}s, peak RSS "
                      f"{timings.get('second_process_peak_rss_mb') or 0:,.0f} MB")  # fmt: skip
        if len(walls) > 1:
            print(f"best {min(walls):.1f} s, median {statistics.median(walls):.1f} s")
    print(f"load after: {_load()}")


if __name__ == "__main__":
    main()
