"""Speed of the segment search against pysubgroup, and icpkit alone at 1M accounts.

Run: ``uv run --frozen python bench/bench_discovery.py [--rows 100000] [--big 1000000]
[--repeats 3] [--baseline OLD/src]``.
pysubgroup pins numpy<2, so it runs in a separate venv (.bench-venv: ``make bench-venv``, or built
here when missing, from the exact pins in bench/pysubgroup-requirements.txt) as a subprocess on the
same data written to a temporary CSV file, with its own selectors; icpkit runs the same task (WRAcc,
depth 3, top-10) on exactly those selectors. The two alternate ``--repeats`` times; prints the
top-10 agreement, best and median times and ratios, and peak memory.

``--baseline`` (the ``src`` folder of another checkout, e.g. ``git archive main src | tar -x -C
/tmp/base``) times the 1M-row search of that code against this one, each run in a fresh
subprocess, alternating, and checks that both give the same top-10.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig
from icpkit.discovery import DepthFirstSearch, SearchTask, condition_table
from icpkit.discovery.quality import WRAcc
from icpkit.rules import Condition

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench-venv"
N_CATEGORICAL, N_NUMERIC = 15, 15


def make_accounts(n: int, seed: int) -> pl.DataFrame:
    """n accounts × 30 attributes with a planted 2-condition segment in the target."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for i in range(N_CATEGORICAL):
        levels = [f"v{k}" for k in range(4 + i % 5)]
        columns[f"cat{i}"] = rng.choice(levels, n)
    for i in range(N_NUMERIC):
        columns[f"num{i}"] = np.round(rng.lognormal(3 + i % 4, 1.0, n), 1)
    frame = pl.DataFrame(columns)
    planted = (frame["cat0"] == "v1").to_numpy() & (frame["num0"].to_numpy() > 30)
    target = rng.random(n) < np.where(planted, 0.5, 0.15)
    return frame.with_columns(target=pl.Series(target))


def ensure_venv() -> Path:
    """The python of .bench-venv, built as ``make bench-venv`` does when missing."""
    python = VENV / "bin" / "python"
    if not python.exists():
        pins = ROOT / "bench" / "pysubgroup-requirements.txt"
        subprocess.run(["uv", "venv", str(VENV), "--python", "3.11"], check=True)
        subprocess.run(
            ["uv", "pip", "install", "--python", str(python), "-r", str(pins)], check=True
        )
    return python


def run_pysubgroup(frame: pl.DataFrame, algorithms: str) -> dict:
    python = ensure_venv()
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "accounts.csv", Path(tmp) / "out.json"
        frame.write_csv(data)
        subprocess.run(
            [
                str(python),
                str(ROOT / "bench" / "pysubgroup_ref.py"),
                str(data),
                str(out),
                algorithms,
            ],
            check=True,
        )
        return json.loads(out.read_text())


def to_condition(record: dict) -> Condition:
    if record["op"] == "range":
        return Condition(record["attr"], "range", (record["lo"], record["hi"]))
    return Condition(record["attr"], "eq", record["value"])


def icpkit_search(  # type: ignore[no-untyped-def]
    frame: pl.DataFrame,
    conditions: list[Condition] | None,
    top_k: int = 10,
    phases: dict[str, float] | None = None,
):
    """Prepare the condition bitsets and run the search; returns (result, seconds).

    ``phases`` (optional) receives the CPU seconds of binning (``condition_table``) and search.
    """
    start, cpu = time.perf_counter(), cpu_seconds()
    attrs = [c for c in frame.columns if c != "target"]
    settings = DiscoveryConfig.model_validate({"min_support": 1e-9, "min_support_count": 1})
    table = condition_table(frame, attrs, settings, conditions)
    binned = cpu_seconds()
    target = frame["target"].to_numpy()
    task = SearchTask(table, target, WRAcc(), 3, 1, top_k)
    result = DepthFirstSearch().run(task)
    if phases is not None:
        phases.update(binning_cpu=binned - cpu, search_cpu=cpu_seconds() - binned)
    return result, time.perf_counter() - start


def peak_mb(func) -> float:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    func()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def spread(values: list[float]) -> str:
    """'best / median' of a list of figures."""
    return f"{min(values):.3f} / {float(np.median(values)):.3f}"


def compare(rows: int, algorithms: str, repeats: int = 3) -> None:
    """pysubgroup and icpkit on the same task, alternating ``repeats`` times."""
    frame = make_accounts(rows, 0)
    ours_s: list[float] = []
    theirs_s: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    cpu_ratios: dict[str, list[float]] = {}
    for _ in range(repeats):
        ref = run_pysubgroup(frame, algorithms)
        conditions = [to_condition(r) for r in ref["selectors"]]
        cpu = cpu_seconds()
        result, seconds = icpkit_search(frame, conditions)
        cpu = cpu_seconds() - cpu
        ours_s.append(seconds)
        ours = [round(c.quality, 12) for c in result.candidates]
        texts_ours = {
            " AND ".join(sorted(str(c) for c in cand.segment)) for cand in result.candidates
        }
        for name, run in ref["runs"].items():
            theirs = [round(t["quality"], 12) for t in run["top"]]
            same = np.allclose(sorted(theirs, reverse=True), ours, rtol=1e-9, atol=1e-12)
            texts_ref = {
                " AND ".join(sorted(str(to_condition(s)) for s in t["segment"])) for t in run["top"]
            }
            theirs_s.setdefault(name, []).append(run["seconds"])
            ratios.setdefault(name, []).append(run["seconds"] / seconds)
            if "cpu" in run:
                cpu_ratios.setdefault(name, []).append(run["cpu"] / cpu)
            print(
                f"  run {len(ours_s)}: pysubgroup {name} {run['seconds']:.3f} s "
                f"({run.get('cpu', math.nan):.3f} s CPU), icpkit {seconds:.3f} s ({cpu:.3f} s "
                f"CPU) → {run['seconds'] / seconds:.1f}× wall, "
                f"{run.get('cpu', math.nan) / cpu:.1f}× CPU; same top-10 qualities: {same}; "
                f"same segments: {len(texts_ref & texts_ours)}/10",
                flush=True,
            )
    print(f"{rows:,} accounts × 30 attributes, {len(conditions)} selectors, WRAcc top-10, depth 3")
    print(
        f"  icpkit DepthFirstSearch: {spread(ours_s)} s best / median of {repeats} "
        f"({result.n_evaluated:,} segments counted)"
    )
    for name in theirs_s:
        r = ratios[name]
        print(
            f"  pysubgroup {name}: {spread(theirs_s[name])} s; icpkit faster by "
            f"{max(r):.1f}× best, {float(np.median(r)):.1f}× median in wall time (ratio per "
            f"alternating pair)"
        )
        if cpu_ratios.get(name):
            c = cpu_ratios[name]
            print(f"    in CPU time: {max(c):.1f}× best, {float(np.median(c)):.1f}× median")
    print(
        f"  peak memory: icpkit {peak_mb(lambda: icpkit_search(frame, conditions)):.0f} MB "
        f"(tracemalloc, search incl. bitsets); pysubgroup process max RSS "
        f"{ref['max_rss_mb']:.0f} MB"
    )


def cpu_seconds() -> float:
    """CPU time of this process and its threads (polars sorts and filters on several)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def big(rows: int, repeats: int = 3) -> None:
    frame = make_accounts(rows, 1)
    walls, cpus = [], []
    for _ in range(repeats):
        cpu = cpu_seconds()
        result, seconds = icpkit_search(frame, None)
        cpus.append(cpu_seconds() - cpu)
        walls.append(seconds)
        print(
            f"{rows:,} accounts × 30 attributes, icpkit's own conditions ({result.n_conditions}), "
            f"WRAcc top-10, depth 3: {seconds:.2f} s wall ({cpus[-1]:.2f} s CPU) incl. binning "
            f"and bitsets; top: {result.candidates[0].segment}",
            flush=True,
        )
    print(f"  best / median of {repeats}: {spread(walls)} s wall, {spread(cpus)} s CPU")
    popcount_rate(frame)
    print(f"  peak memory: {peak_mb(lambda: icpkit_search(frame, None)):.0f} MB (tracemalloc)")


def popcount_rate(frame: pl.DataFrame, repeats: int = 3) -> None:
    """How close the search's inner loop comes to the machine's popcount rate (issue 30).

    The search counts children by gather (or an in-place slice) + AND + popcount over packed
    words (``_BitsetCounter.part``); its rate is the bytes of words it counts per second of CPU
    inside that function. The ceiling is a plain ``np.bitwise_count`` + row sum of an array of
    the same words' size, already in memory (no gather, no AND). Best of ``repeats`` each.
    """
    from icpkit.discovery import search

    # the inner loop: `part` (children counts are two of them) gathers or slices, ANDs and
    # popcounts tiles; its bytes are the words handed to popcount, its time the CPU inside it
    counter_cls = search._BitsetCounter
    inner = getattr(counter_cls, "part", None) or counter_cls.children
    name = "part" if hasattr(counter_cls, "part") else "children"
    original_popcount = search.popcount
    spent = {"bytes": 0, "cpu": 0.0, "tile": 0}

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.process_time()
        out = inner(self, *args, **kwargs)
        spent["cpu"] += time.process_time() - started
        spent["tile"] = max(spent["tile"], self.width)
        return out

    def popcount(bits, scratch=None):  # type: ignore[no-untyped-def]
        spent["bytes"] += bits.nbytes
        return original_popcount(bits, scratch)

    rates = []
    setattr(counter_cls, name, counted)
    search.popcount = popcount
    try:
        for _ in range(repeats):
            spent.update(bytes=0, cpu=0.0)
            icpkit_search(frame, None)
            rates.append(spent["bytes"] / max(spent["cpu"], 1e-9))
    finally:
        setattr(counter_cls, name, inner)
        search.popcount = original_popcount
    words = np.random.default_rng(0).integers(0, 2**63, (512, spent["tile"]), dtype=np.uint64)
    plain = []
    for _ in range(repeats):
        started, n = time.process_time(), 0
        while time.process_time() - started < 0.5:
            np.bitwise_count(words).sum(axis=-1, dtype=np.uint32)
            n += 1
        plain.append(n * words.nbytes / (time.process_time() - started))
    print(
        f"  popcount: the search's inner loop counted {max(rates) / 1e9:.2f} GB/s of words "
        f"(gather + AND + popcount, CPU time in _BitsetCounter.{name}); a plain numpy "
        f"bitwise_count + row sum of the same word width in memory {max(plain) / 1e9:.2f} GB/s: "
        f"{max(rates) / max(plain):.0%} of it"
    )


def once(rows: int) -> None:
    """One 1M-row run in this process (the child of ``--baseline``): JSON on stdout."""
    frame = make_accounts(rows, 1)
    cpu, phases = cpu_seconds(), {}
    result, seconds = icpkit_search(frame, None, phases=phases)
    top = [
        [" AND ".join(sorted(str(c) for c in cand.segment)), cand.quality, cand.size]
        for cand in result.candidates
    ]
    record = {"wall": seconds, "cpu": cpu_seconds() - cpu, "top": top, **phases}
    print(json.dumps(record))


def against_baseline(rows: int, baseline: Path, repeats: int) -> None:
    """This code and ``baseline`` (a src folder), each in a fresh process, alternating."""
    runs: dict[str, list[dict]] = {"baseline": [], "current": []}
    for _ in range(repeats):
        for name, src in (("baseline", baseline), ("current", ROOT / "src")):
            env = {**os.environ, "PYTHONPATH": str(src)}
            out = subprocess.run(
                [sys.executable, __file__, "--once", str(rows)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
            r = runs[name][-1]
            print(
                f"  {name}: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU "
                f"(binning {r['binning_cpu']:.2f}, search {r['search_cpu']:.2f})",
                flush=True,
            )
    same = all(r["top"] == runs["baseline"][0]["top"] for r in runs["baseline"] + runs["current"])
    print(f"{rows:,} × 30, icpkit's own conditions, incl. binning: best / median of {repeats}")
    for name, rs in runs.items():
        print(
            f"  {name}: {spread([r['wall'] for r in rs])} s wall, "
            f"{spread([r['cpu'] for r in rs])} s CPU"
        )
    cpu_ratio = [
        b["cpu"] / c["cpu"] for b, c in zip(runs["baseline"], runs["current"], strict=True)
    ]
    print(
        f"  baseline CPU / current CPU per pair: best {max(cpu_ratio):.2f}×, median "
        f"{float(np.median(cpu_ratio)):.2f}×; identical top-10 (segments, qualities, sizes): {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--algorithms", default="DFS,Apriori,BestFirstSearch")
    parser.add_argument(
        "--no-reference", action="store_true", help="Skip pysubgroup (no .bench-venv to run it)."
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="src folder of the code to compare with")
    parser.add_argument("--once", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        once(args.once)
        return
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    if args.baseline:
        against_baseline(args.big, args.baseline.resolve(), args.repeats)
        return
    if not args.no_reference:
        compare(args.rows, args.algorithms, args.repeats)
    if args.big:
        big(args.big, args.repeats)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
