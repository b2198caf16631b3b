"""`push` against a hostile or broken CRM (issue 25): a local HTTP server that redirects to another
origin, asks to wait for hours or forever, trickles its reply a byte at a time, quotes a customer's
e-mail in a 400; and two pushes with the same log at once."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from icpkit.export.http import error_codes, retry_after
from icpkit.export.push import PushError, hubspot_requests, push

TOKEN = "secret-token"
Respond = Callable[[BaseHTTPRequestHandler, int], None]


def reply(handler: BaseHTTPRequestHandler, status: int, body: Any = None, **headers: str) -> None:
    data = json.dumps({"status": "COMPLETE", "results": []} if body is None else body).encode()
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class Server:
    """A local server: ``respond(handler, n)`` answers the n-th request (0-based); every request
    is kept as (method, path, Authorization header, company ids in the body)."""

    def __init__(self, respond: Respond | None = None) -> None:
        self.respond: Respond = respond or (lambda h, n: reply(h, 200))
        self.seen: list[tuple[str, str, str | None, list[str]]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ids = [str(i["id"]) for i in json.loads(raw)["inputs"]] if raw else []
                with server.lock:
                    n = len(server.seen)
                    server.seen.append(
                        (self.command, self.path, self.headers.get("Authorization"), ids)
                    )
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server.respond(self, n)  # a reset: the client gave up (a deadline)

            do_GET = do_POST = do_PATCH = handle_any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def ids(self) -> list[str]:
        return [i for *_, ids in self.seen for i in ids]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def crm() -> Any:
    server = Server()
    yield server
    server.close()


@pytest.fixture
def elsewhere() -> Any:
    """Another origin (another port): where a hostile redirect points."""
    server = Server()
    yield server
    server.close()


def companies(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "Record ID": [str(1000 + i) for i in range(n)],
            "icp_tier": ["Tier 1"] * n,
            "icp_fit_score": ["80"] * n,
            "icp_reasons": ["Software (+10)"] * n,
            "icp_version": ["v1"] * n,
            "icp_calibrated_score": ["70"] * n,
            "icp_band": ["good"] * n,
        }
    )


def logged(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_an_error_and_the_token_stays_home(
    crm: Server, elsewhere: Server, tmp_path: Path, status: int
) -> None:
    where = elsewhere.url.replace("http://", f"http://user:{TOKEN}@")
    crm.respond = lambda h, n: reply(h, status, {}, Location=f"{where}/steal")
    log = tmp_path / "push-log.jsonl"
    requests = hubspot_requests(companies(150))
    with pytest.raises(PushError, match=r"batch 1 of 2 .*another origin") as caught:
        push(requests, TOKEN, log, base_url=crm.url, sleep=lambda s: None)
    assert elsewhere.seen == []  # nothing followed: the token never left for the other origin
    assert TOKEN not in str(caught.value)
    assert logged(log) == []  # nothing marked sent: a resume sends every batch
    crm.respond = lambda h, n: reply(h, 200)
    counts = push(requests, TOKEN, log, base_url=crm.url)
    assert counts["sent"] == 2 and sorted(crm.ids[-150:]) == sorted(companies(150)["Record ID"])


def test_a_redirect_within_the_same_origin_is_not_followed_either(
    crm: Server, tmp_path: Path
) -> None:
    crm.respond = lambda h, n: reply(h, 302, {}, Location="/elsewhere") if n == 0 else reply(h, 200)
    with pytest.raises(PushError, match=r"redirected batch 1 of 1 .*same origin"):
        push(hubspot_requests(companies(3)), TOKEN, tmp_path / "log.jsonl", base_url=crm.url)
    assert len(crm.seen) == 1 and logged(tmp_path / "log.jsonl") == []


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-5", "soon", "", "1e3", "0x10"])
def test_an_unreadable_retry_after_backs_off_instead_of_crashing(
    crm: Server, tmp_path: Path, value: str
) -> None:
    crm.respond = lambda h, n: reply(h, 429, {}, Retry_After=value) if n < 2 else reply(h, 200)
    waits: list[float] = []
    counts = push(hubspot_requests(companies(5)), TOKEN, tmp_path / "log.jsonl",
                  base_url=crm.url, sleep=waits.append)  # fmt: skip
    assert counts["sent"] == 1 and waits == [1.0, 2.0]  # exponential backoff, no traceback


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("7200", "2.0 h"),
        ("9" * 400, "forever"),
        ("Fri, 01 Jan 2100 00:00:00 GMT", "after 2100-01-01 00:00 UTC"),
    ],
)
def test_a_retry_after_beyond_the_cap_stops_and_says_when_to_resume(
    crm: Server, tmp_path: Path, value: str, shown: str
) -> None:
    crm.respond = lambda h, n: reply(h, 200) if n == 0 else reply(h, 503, {}, Retry_After=value)
    log = tmp_path / "log.jsonl"
    waits: list[float] = []
    requests = hubspot_requests(companies(250))
    with pytest.raises(PushError, match="batch 2 of 3") as caught:
        push(requests, TOKEN, log, base_url=crm.url, sleep=waits.append)
    message = str(caught.value)
    assert shown in message and "--max-wait" in message and "run the same command again" in message
    assert waits == [] and len(logged(log)) == 1  # no silent sleep; batch 1 stays sent


def test_a_retry_after_within_the_cap_is_obeyed_and_the_cap_is_a_setting(
    crm: Server, tmp_path: Path
) -> None:
    crm.respond = lambda h, n: reply(h, 429, {}, Retry_After="600") if n < 2 else reply(h, 200)
    waits: list[float] = []
    requests = hubspot_requests(companies(5))
    with pytest.raises(PushError, match="10 min"):
        push(requests, TOKEN, tmp_path / "a.jsonl", base_url=crm.url, sleep=waits.append)
    push(requests, TOKEN, tmp_path / "b.jsonl", base_url=crm.url, sleep=waits.append,
         max_wait=900)  # fmt: skip
    assert waits == [600.0]


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert retry_after("30", now) == 30.0
    assert retry_after(" 2 ", now) == 2.0
    assert retry_after("Mon, 07 Dec 2026 12:01:30 GMT", now) == 90.0
    assert retry_after("Sun, 06 Dec 2026 12:00:00 GMT", now) == 0.0  # in the past: now
    assert retry_after("9" * 400, now) == float("inf")  # huge: the cap refuses it
    for bad in (None, "inf", "nan", "-1", "1e9", "tomorrow", "Mon, 99 Foo 2026 99:99:99 GMT"):
        assert retry_after(bad, now) is None


def test_a_reply_trickled_byte_by_byte_times_out(crm: Server, tmp_path: Path) -> None:
    def trickle(handler: BaseHTTPRequestHandler, n: int) -> None:
        data = json.dumps({"status": "COMPLETE", "results": [], "pad": "x" * 100}).encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        for byte in data:  # each byte well within any per-read timeout; the whole far beyond
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.05)

    crm.respond = trickle
    log = tmp_path / "log.jsonl"
    start = time.monotonic()
    with pytest.raises(PushError, match=r"did not answer within 0.5 s after 1 tries, at batch 1"):
        push(hubspot_requests(companies(3)), TOKEN, log, base_url=crm.url, timeout=0.5,
             retries=1, sleep=lambda s: None)  # fmt: skip
    assert time.monotonic() - start < 3.0 and len(crm.seen) == 2 and logged(log) == []


def test_headers_trickled_byte_by_byte_time_out_too(crm: Server, tmp_path: Path) -> None:
    """httpx's timeouts are per read: a status line and headers sent a byte at a time would
    never trip one; the request's deadline cuts the connection."""

    def trickle_headers(handler: BaseHTTPRequestHandler, n: int) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.05)

    crm.respond = trickle_headers
    start = time.monotonic()
    with pytest.raises(PushError, match=r"did not answer within 0.5 s after 0 tries, at batch 1"):
        push(hubspot_requests(companies(3)), TOKEN, tmp_path / "log.jsonl", base_url=crm.url,
             timeout=0.5, retries=0)  # fmt: skip
    assert time.monotonic() - start < 3.0


def test_two_pushes_with_the_same_log_at_once_the_second_refuses(
    crm: Server, tmp_path: Path
) -> None:
    first_arrived, release = threading.Event(), threading.Event()

    def slow_first(handler: BaseHTTPRequestHandler, n: int) -> None:
        if n == 0:
            first_arrived.set()
            release.wait(10)
        reply(handler, 200)

    crm.respond = slow_first
    rows = companies(300)
    requests = hubspot_requests(rows)
    log = tmp_path / "push-log.jsonl"
    outcome: list[Any] = []
    worker = threading.Thread(
        target=lambda: outcome.append(push(requests, TOKEN, log, base_url=crm.url))
    )
    worker.start()
    try:
        assert first_arrived.wait(10)
        with pytest.raises(PushError, match="another push is running"):
            push(requests, TOKEN, log, base_url=crm.url)
    finally:
        release.set()
        worker.join(10)
    assert outcome and outcome[0]["sent"] == 3
    assert sorted(crm.ids) == sorted(rows["Record ID"].to_list())  # each record exactly once
    assert push(requests, TOKEN, log, base_url=crm.url)["skipped"] == 3  # the lock is released


PII_BODIES = [
    {
        "status": "error",
        "message": "Property values were not valid: jane.doe@acme.com, +1 (555) 123-4567",
        "category": "VALIDATION_ERROR",
        "correlationId": "8d4b3c8e-1f2a-4b5c-9d6e-7f8091a2b3c4",
        "errors": [{"message": "Jane Doe's email", "code": "INVALID_EMAIL"}],
    },
    [{"message": "jane.doe@acme.com may not be changed", "errorCode": "INVALID_FIELD"}],
    {"error": "Jane Doe jane.doe@acme.com", "detail": "call +44 20 7946 0958"},
    "<html>jane.doe@acme.com</html>",
    {"error": TOKEN, "code": f"bad-{TOKEN}"},  # a token echoed back
]


@pytest.mark.parametrize(
    "body", PII_BODIES, ids=["hubspot", "salesforce", "free text", "html", "token"]
)
def test_a_refusal_shows_error_codes_never_the_reply_text(
    crm: Server, tmp_path: Path, body: Any
) -> None:
    crm.respond = lambda h, n: reply(h, 400, body)
    with pytest.raises(PushError, match=r"refused batch 1 of 1 .* with 400") as caught:
        push(hubspot_requests(companies(3)), TOKEN, tmp_path / "log.jsonl", base_url=crm.url)
    message = str(caught.value)
    for secret in ("jane", "Jane", "555", "7946", "acme", TOKEN):
        assert secret not in message, message
    assert error_codes(json.dumps(PII_BODIES[0]).encode()) == (
        "VALIDATION_ERROR, INVALID_EMAIL (request id 8d4b3c8e-1f2a-4b5c-9d6e-7f8091a2b3c4)"
    )
    assert error_codes(json.dumps(PII_BODIES[1]).encode()) == "INVALID_FIELD"


def test_a_huge_reply_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 2**20] * 64))

    with pytest.raises(PushError, match="more than 32 MB"):
        push(hubspot_requests(companies(3)), TOKEN, tmp_path / "log.jsonl",
             base_url="https://crm.test", transport=httpx.MockTransport(endless))  # fmt: skip
    assert logged(tmp_path / "log.jsonl") == []
