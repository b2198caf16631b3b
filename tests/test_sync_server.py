"""`icpkit sync` through the CLI against a fake HubSpot served by a real local uvicorn server:
sockets, a reply slower than the deadline (cut and retried), the summary printed, the data equal."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fakes.asgi import asgi_app
from fakes.hubspot import FakeHubSpot
from fakes.seed import load_hubspot
from icpkit.cli import app
from icpkit.datasets import make_crm
from icpkit.sync import hubspot as spec

uvicorn = pytest.importorskip("uvicorn")


@pytest.fixture
def served() -> Iterator[tuple[FakeHubSpot, str]]:
    fake = FakeHubSpot()
    load_hubspot(fake, make_crm(120, seed=2))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi_app(fake), log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield fake, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


def test_cli_sync_over_a_real_server_retries_a_slow_reply(
    served: tuple[FakeHubSpot, str], tmp_path: Path
) -> None:
    fake, url = served
    (tmp_path / "icpkit.toml").write_text("[sync]\ntimeout_seconds = 1.0\n")
    fake.delays = {2: 4.0}  # the second request answers after the deadline
    result = CliRunner().invoke(
        app, ["sync", "hubspot", "-w", str(tmp_path), "--base-url", url],
        env={"HUBSPOT_TOKEN": fake.token},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    retried = re.search(r"\((\d+) retried\)", result.output)
    assert retried and int(retried[1]) >= 1  # (more on a loaded machine: each is retried)
    assert fake.token not in result.output
    got = pl.read_parquet(tmp_path / "crm/hubspot/deals.parquet").to_dicts()
    assert {r["id"]: r for r in got} == fake.expected("deals", spec.DEALS.stored)


def test_cli_sync_errors_are_one_line(served: tuple[FakeHubSpot, str], tmp_path: Path) -> None:
    _, url = served
    result = CliRunner().invoke(
        app, ["sync", "hubspot", "-w", str(tmp_path), "--base-url", url],
        env={"HUBSPOT_TOKEN": "wrong-token"},
    )  # fmt: skip
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "401" in lines[0] and "HUBSPOT_TOKEN" in lines[0]
    assert not list(tmp_path.rglob("*.parquet"))
