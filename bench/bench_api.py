"""HTTP API latency and throughput against calling ``score_accounts`` in the same process.

Starts ``icpkit serve`` (a separate process, as in production) on a free local port over a
synthetic workspace, then drives POST /v1/score open-loop: single-account requests at 50, 100 and
200 requests/s (scheduled at fixed times, so a slow server cannot slow the load down), and batches
of 1,000 accounts back to back. Prints p50/p99 latency per rate and the ratios to the in-process
baseline. The single-account load comes from one asyncio loop on 16 keep-alive connections (a
client that costs little CPU of its own); ``--threads`` uses the first version's client instead,
32 threads of httpx, whose own CPU and GIL waits show up in the latencies on a busy machine.
Usage: python bench/bench_api.py [SECONDS_PER_RATE=30] [--threads]
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import tomli_w

from icpkit import datasets, pipeline
from icpkit.web.keys import KeyStore

RATES = (50, 100, 200)
BATCH = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def workspace(root: Path) -> tuple[Path, str, list[dict[str, object]]]:
    datasets.make_crm(3000, seed=7).write_workspace(root)
    raw = tomllib.loads((root / "icpkit.toml").read_text())
    raw["web"] = {**raw.get("web", {}), "rate_per_minute": 1e9, "rate_burst": 1_000_000}
    (root / "icpkit.toml").write_text(tomli_w.dumps(raw))
    pipeline.build_and_save(pipeline.Workspace.open(root))
    key, _ = KeyStore(root).create("read")
    accounts = pipeline.Workspace.open(root).load().accounts
    records = accounts.with_columns(pl.col("account_id").cast(pl.Utf8)).head(BATCH).to_dicts()
    return root, key, records


def in_process(root: Path, records: list[dict[str, object]]) -> tuple[float, float]:
    """Median seconds of one single-account score and of one 1,000-account batch, in process."""
    profile = pipeline.Workspace.open(root).store.get("latest").profile()
    frame = pl.DataFrame(records, infer_schema_length=None)
    one = []
    for i in range(300):
        start = time.perf_counter()
        pipeline.score_accounts(profile, frame.slice(i % BATCH, 1))
        one.append(time.perf_counter() - start)
    batch = []
    for _ in range(10):
        start = time.perf_counter()
        pipeline.score_accounts(profile, frame)
        batch.append(time.perf_counter() - start)
    return float(np.median(one)), float(np.median(batch))


def drive(
    url: str, key: str, records: list[dict[str, object]], rate: int, seconds: float
) -> dict[str, float]:
    n = int(rate * seconds)
    local = threading.local()
    headers = {"Authorization": f"Bearer {key}"}

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, headers=headers, timeout=30)
        return local.client

    start_at = time.perf_counter() + 0.5

    def one(i: int) -> tuple[float, float, int]:
        due = start_at + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        sent = time.perf_counter()
        r = client().post("/v1/score", json={"accounts": [records[i % len(records)]]})
        done = time.perf_counter()
        return done - sent, done - due, r.status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(one, range(n)))
    latency = np.array([r[0] for r in results]) * 1000
    from_due = np.array([r[1] for r in results]) * 1000
    ok = sum(r[2] == 200 for r in results)
    return {
        "n": n,
        "ok": ok,
        "p50": float(np.percentile(latency, 50)),
        "p99": float(np.percentile(latency, 99)),
        "p99_from_schedule": float(np.percentile(from_due, 99)),
    }


def drive_async(
    url: str, key: str, records: list[dict[str, object]], rate: int, seconds: float
) -> dict[str, float]:
    """``drive`` with a lean client: one asyncio loop writing HTTP/1.1 on 16 keep-alive
    connections, so the client's own CPU (and GIL) cost stays a small part of each latency."""
    host, port = url.removeprefix("http://").split(":")
    n = int(rate * seconds)
    bodies = [json.dumps({"accounts": [records[i % len(records)]]}).encode() for i in range(n)]
    head = (
        "POST /v1/score HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: {n}\r\n\r\n"
    )

    async def run() -> list[tuple[float, float, int]]:
        pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        for _ in range(16):
            pool.put_nowait(await asyncio.open_connection(host, int(port)))
        loop = asyncio.get_running_loop()
        start_at = loop.time() + 0.5

        async def one(i: int) -> tuple[float, float, int]:
            due = start_at + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            reader, writer = await pool.get()
            sent = loop.time()
            writer.write(head.format(host=host, key=key, n=len(bodies[i])).encode() + bodies[i])
            status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
            length = next(
                int(h.split(b":")[1]) for h in lines if h.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            done = loop.time()
            pool.put_nowait((reader, writer))
            return done - sent, done - due, int(status_line.split()[1])

        results = await asyncio.gather(*(one(i) for i in range(n)))
        while not pool.empty():
            pool.get_nowait()[1].close()
        return results

    results = asyncio.run(run())
    latency = np.array([r[0] for r in results]) * 1000
    from_due = np.array([r[1] for r in results]) * 1000
    return {
        "n": n,
        "ok": sum(r[2] == 200 for r in results),
        "p50": float(np.percentile(latency, 50)),
        "p99": float(np.percentile(latency, 99)),
        "p99_from_schedule": float(np.percentile(from_due, 99)),
    }


def main(seconds: float, lean: bool = True) -> None:
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        root, key, records = workspace(Path(tmp) / "ws")
        base_one, base_batch = in_process(root, records)
        print(
            f"in process: one account {base_one * 1000:.2f} ms; {BATCH} accounts {base_batch * 1000:.1f} ms"
        )
        port = free_port()
        icpkit = str(Path(sys.executable).with_name("icpkit"))
        server = subprocess.Popen(
            [icpkit, "serve", "-w", str(root), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(url + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
                for record in records[:50]:  # warm up: profile and accounts cached
                    c.post("/v1/score", json={"accounts": [record]})
                for rate in RATES:
                    s = (drive_async if lean else drive)(url, key, records, rate, seconds)
                    print(
                        f"{rate} req/s for {seconds:.0f} s: {s['ok']}/{s['n']} ok; p50 {s['p50']:.2f} ms, "
                        f"p99 {s['p99']:.2f} ms (p99 from schedule {s['p99_from_schedule']:.2f} ms); "
                        f"p50 = {s['p50'] / (base_one * 1000):.1f}x in-process"
                    )
                times = []
                for _ in range(10):
                    start = time.perf_counter()
                    r = c.post("/v1/score", json={"accounts": records}, timeout=60)
                    times.append(time.perf_counter() - start)
                    assert r.status_code == 200, r.text[:200]
                batch = float(np.median(times))
                print(
                    f"batch of {BATCH}: {batch * 1000:.1f} ms = {BATCH / batch:,.0f} accounts/s over HTTP "
                    f"vs {BATCH / base_batch:,.0f} in process ({batch / base_batch:.1f}x)"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--threads"]
    main(float(args[0]) if args else 30.0, lean="--threads" not in sys.argv)
