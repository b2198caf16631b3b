"""`push hubspot`: CRM v3 batch requests checked by a local HTTP server against the documented
shape; retries on 429/5xx; an interrupted push resumed sends every record exactly once."""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from icpkit.export.push import PROPERTIES, PushError, hubspot_requests, push, write_dry_run
from icpkit.vocab import TIERS


class FakeHubSpot:
    """Accepts POST /crm/v3/objects/companies/batch/{update,upsert} as HubSpot documents them."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.script: list[int] = []  # statuses to answer before accepting (429, 500, …)
        self.problems: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.check(self.path, self.headers, body)
                status = fake.script.pop(0) if fake.script else 200
                if status == 200:
                    fake.received += [str(i["id"]) for i in body["inputs"]]
                    payload = {"status": "COMPLETE", "results": []}
                else:
                    payload = {"status": "error", "message": "slow down"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check(self, path: str, headers: Any, body: dict[str, Any]) -> None:
        upsert = path == "/crm/v3/objects/companies/batch/upsert"
        if path != "/crm/v3/objects/companies/batch/update" and not upsert:
            self.problems.append(f"path {path}")
        if headers.get("Authorization") != "Bearer secret-token":
            self.problems.append("no bearer token")
        if headers.get("Content-Type") != "application/json":
            self.problems.append("content type")
        inputs = body.get("inputs")
        if set(body) != {"inputs"} or not isinstance(inputs, list) or not 1 <= len(inputs) <= 100:
            self.problems.append("inputs: 1 to 100 items")
            return
        for item in inputs:
            want = {"id", "properties"} | ({"idProperty"} if upsert else set())
            if set(item) != want or not isinstance(item["id"], str):
                self.problems.append(f"input keys {sorted(item)}")
            props = item.get("properties", {})
            if set(props) != set(PROPERTIES) or not all(isinstance(v, str) for v in props.values()):
                self.problems.append("properties: four strings")
            if props.get("icp_tier") not in TIERS:
                self.problems.append("icp_tier value")

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def hubspot() -> Any:
    fake = FakeHubSpot()
    yield fake
    fake.close()


def companies(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "Record ID": [str(1000 + i) for i in range(n)],
            "icp_tier": [TIERS[i % 4] for i in range(n)],
            "icp_fit_score": [i % 100 for i in range(n)],
            "icp_reasons": [f"industry = 'Software' (+{i % 9})" for i in range(n)],
            "icp_version": ["v2"] * n,
        }
    )


def test_requests_follow_the_batch_update_and_upsert_shapes(
    hubspot: FakeHubSpot, tmp_path: Path
) -> None:
    update = hubspot_requests(companies(250))
    assert [len(r.body["inputs"]) for r in update] == [100, 100, 50]
    push(update, "secret-token", tmp_path / "log.jsonl", base_url=hubspot.url)
    upsert = hubspot_requests(
        companies(5).rename({"Record ID": "account_id"}), id_property="icp_key"
    )
    push(upsert, "secret-token", tmp_path / "log2.jsonl", base_url=hubspot.url)
    assert hubspot.problems == []
    assert len(hubspot.received) == 255


def test_dry_run_writes_the_requests(tmp_path: Path) -> None:
    paths = write_dry_run(hubspot_requests(companies(120)), tmp_path)
    first = json.loads(paths[0].read_text())
    assert first["method"] == "POST" and first["path"].endswith("/batch/update")
    assert len(paths) == 2 and len(first["body"]["inputs"]) == 100


def test_rate_limit_and_server_errors_are_retried(hubspot: FakeHubSpot, tmp_path: Path) -> None:
    hubspot.script = [429, 500, 503]
    waits: list[float] = []
    counts = push(
        hubspot_requests(companies(10)), "secret-token", tmp_path / "log.jsonl",
        base_url=hubspot.url, sleep=waits.append,
    )  # fmt: skip
    assert counts == {"sent": 1, "skipped": 0, "batches": 1}
    assert waits == [0.0, 2.0, 4.0]  # Retry-After honoured, then exponential backoff
    hubspot.script = [500] * 10
    with pytest.raises(PushError):
        push(hubspot_requests(companies(3)), "secret-token", tmp_path / "l2.jsonl",
             base_url=hubspot.url, retries=2, sleep=lambda s: None)  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_interrupted_push_resumed_sends_every_record_exactly_once(
    hubspot: FakeHubSpot, tmp_path: Path, seed: int
) -> None:
    table = companies(1234)
    requests = hubspot_requests(table)
    stop_after = random.Random(seed).randrange(1, len(requests) - 1)
    log = tmp_path / "log.jsonl"
    calls = {"n": 0}

    class Interrupted(Exception):
        pass

    def sleep_then_die(_: float) -> None:  # the interruption: the process dies mid-push
        raise Interrupted

    hubspot.script = [200] * stop_after + [500]
    with pytest.raises(Interrupted):
        push(requests, "secret-token", log, base_url=hubspot.url, sleep=sleep_then_die)
    calls["n"] = len(hubspot.received)
    assert 0 < calls["n"] < table.height
    counts = push(requests, "secret-token", log, base_url=hubspot.url)
    assert counts["skipped"] == stop_after and counts["sent"] == len(requests) - stop_after
    assert sorted(hubspot.received) == sorted(table["Record ID"].to_list())
    assert len(hubspot.received) == len(set(hubspot.received))
    assert hubspot.problems == []
