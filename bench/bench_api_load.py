"""Single-account scoring latency under load, with and without a build running (issue 30).

Starts ``icpkit serve --workers W`` (separate processes, as in production) over the synthetic
3,000-account workspace of ``bench_api.py`` and drives POST /v1/score open-loop at 50, 100 and
200 requests/s for ``--seconds`` each (``bench_api.drive_async``: one asyncio loop, 16 keep-alive
connections, requests scheduled at fixed times). Each run measures every rate twice, interleaved:
idle, then while a build started through POST /v1/builds runs (a new build is started whenever
the last one finished, so one is running through the whole window; builds run in their own
process). Prints p50/p99 per rate and condition for every run, then the range (min–max) over
the runs, and how many builds finished.

    PYTHONPATH=src python bench/bench_api_load.py [--seconds 60] [--runs 3] [--workers 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import RATES, drive_async, free_port, workspace

from icpkit.web.keys import KeyStore


def _load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


class BuildLoop:
    """Keeps a web build running (POST /v1/builds, poll, start the next) until stopped."""

    def __init__(self, url: str, key: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"})
        self.stop = threading.Event()
        self.finished: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            started = self.client.post("/v1/builds", timeout=30)
            if started.status_code == 409:  # the previous one is still finishing
                time.sleep(0.5)
                continue
            assert started.status_code == 202, started.text[:300]
            job = started.json()["id"]
            while True:
                status = self.client.get(f"/v1/builds/{job}", timeout=30).json()
                if status["status"] != "running":
                    self.finished.append(status["status"])
                    break
                time.sleep(0.5)

    def __enter__(self) -> BuildLoop:
        self.thread.start()
        time.sleep(3.0)  # the build process is past its imports and into the pipeline
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(600)  # let the running build finish: the next window starts idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    options = parser.parse_args()
    print(f"load at the start: {_load()}", flush=True)
    results: dict[tuple[str, int], list[tuple[float, float, int, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root, key, records = workspace(Path(tmp) / "ws")
        write_key, _ = KeyStore(root).create("write")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "icpkit", "serve", "-w", str(root), "--port", str(port),
             "--workers", str(options.workers)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
                for record in records[:200]:  # every worker has its profile and accounts
                    c.post("/v1/score", json={"accounts": [record]})
            for run in range(options.runs):
                for rate in RATES:
                    for condition in ("idle", "build"):
                        loop = BuildLoop(url, write_key) if condition == "build" else None
                        if loop is not None:
                            loop.__enter__()
                        try:
                            s = drive_async(url, key, records, rate, options.seconds)
                        finally:
                            if loop is not None:
                                loop.__exit__()
                        builds = len(loop.finished) if loop is not None else 0
                        results.setdefault((condition, rate), []).append(
                            (s["p50"], s["p99"], int(s["ok"]), int(s["n"]))
                        )
                        print(
                            f"run {run + 1} {rate} req/s {condition:5s}: {s['ok']}/{s['n']} ok, "
                            f"p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms"
                            + (f", builds finished {builds}" if loop is not None else "")
                            + f" (load {_load()})",
                            flush=True,
                        )
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\nrange over {options.runs} runs ({options.seconds:.0f} s per window, "
          f"{options.workers} workers):")  # fmt: skip
    for (condition, rate), rows in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        p50s, p99s = [r[0] for r in rows], [r[1] for r in rows]
        ok = sum(r[2] for r in rows)
        n = sum(r[3] for r in rows)
        print(f"  {rate:3d} req/s {condition:5s}: p50 {min(p50s):.1f}–{max(p50s):.1f} ms, "
              f"p99 {min(p99s):.1f}–{max(p99s):.1f} ms, {ok}/{n} ok")  # fmt: skip
    print(f"load at the end: {_load()}")


if __name__ == "__main__":
    main()
