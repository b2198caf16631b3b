"""Server CPU per single-account POST /v1/score, in process, against ``score_accounts``.

Drives the FastAPI app through ASGI directly (no HTTP client, no sockets), so the CPU time of the
process over N requests is the server's own cost per request: auth, body limit, validation,
scoring, JSON out, the log line. Compares, in the same process: the API with the dict fast path,
the API with every request through the frame path (``fast_rows = 0``), and calling
``pipeline.score_accounts`` on a one-row frame. Run it on an older checkout too
(``PYTHONPATH=old/src``) to compare before and after; it works on both.

Usage: python bench/bench_api_cpu.py [REQUESTS=500]
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
from bench_api import workspace  # the same synthetic workspace as the HTTP benchmark

from icpkit import pipeline
from icpkit.web.app import create_app


async def post(app: Any, body: bytes, key: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/score",
        "raw_path": b"/v1/score",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {key}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    delivered = False
    never = asyncio.Event()
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def per_request(app: Any, key: str, bodies: list[bytes]) -> float:
    """CPU seconds of the whole process per request (the app's threads included)."""

    async def run() -> None:
        for body in bodies[:50]:  # warm up: profile, accounts, plans cached
            assert await post(app, body, key) == 200
        start = time.process_time()
        for body in bodies:
            status = await post(app, body, key)
            assert status == 200, status
        holder.append((time.process_time() - start) / len(bodies))

    holder: list[float] = []
    asyncio.run(run())
    return holder[0]


def main(n: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("icpkit.web").handlers[:] = [logging.NullHandler()]  # formatted, not printed
    logging.getLogger("icpkit.web").propagate = False
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        _, key, raw = workspace(root)
        records = json.loads(json.dumps(raw, default=str))  # as a client sends them
        app = create_app(root)
        service = app.state.service
        bodies = [json.dumps({"accounts": [records[i % len(records)]]}).encode() for i in range(n)]
        profile = pipeline.Workspace.open(root).store.get("latest").profile()
        frame = pl.DataFrame(records, infer_schema_length=None)
        start = time.process_time()
        for i in range(n):
            pipeline.score_accounts(profile, frame.slice(i % len(records), 1))
        baseline = (time.process_time() - start) / n
        api = per_request(app, key, bodies)
        print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print(f"score_accounts in process, 1 account: {baseline * 1000:.2f} ms CPU")
        print(
            f"POST /v1/score, 1 account: {api * 1000:.2f} ms CPU ({api / baseline:.2f}x in-process)"
        )
        if hasattr(service, "fast_rows"):
            service.fast_rows = 0
            frame_path = per_request(app, key, bodies)
            service.fast_rows = 100
            print(
                f"POST /v1/score through the frame path: {frame_path * 1000:.2f} ms CPU "
                f"({frame_path / baseline:.2f}x in-process; fast path {frame_path / api:.1f}x less)"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
