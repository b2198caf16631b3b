"""One CRM API connection for a sync: metered, rate-limited, retried, JSON only.

Every attempt (retries included) goes through :class:`MeteredTransport`, which waits for the
client-side rate limit before sending and counts the attempts and the answers that were retried
(429, 5xx), so a sync reports exactly how many API calls it made. Retries, ``Retry-After``, the
whole-request deadline and the refusal to follow redirects come from :mod:`icpkit.export.http`.
The token travels only in the ``Authorization`` header: it is never logged, stored or put in a
message.
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from icpkit.errors import IcpError
from icpkit.export.http import Call, HttpPolicy, send


class SyncError(IcpError):
    """A sync could not finish: the CRM refused it, kept failing, or answered nonsense.

    Whatever was fetched before stays in the staging area and the next run resumes from it; the
    synced tables and cursors are never half-written.
    """

    kind = "sync"


class RateLimiter:
    """At most ``limit`` requests in any ``window`` seconds (a sliding window, client side).

    HubSpot allows 190 requests per 10 s for a private app on Professional/Enterprise; waiting
    before the server refuses is cheaper than a 429 and its back-off.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self.sent: collections.deque[float] = collections.deque()
        self.waited = 0.0

    def acquire(self) -> None:
        """Block until one more request fits in the window, then count it."""
        if self.limit <= 0:
            return
        now = self.clock()
        while self.sent and now - self.sent[0] >= self.window:
            self.sent.popleft()
        if len(self.sent) >= self.limit:
            pause = self.window - (now - self.sent[0])
            if pause > 0:
                self.waited += pause
                self.sleep(pause)
            now = self.clock()
            while self.sent and now - self.sent[0] >= self.window:
                self.sent.popleft()
        self.sent.append(now)


@dataclass
class Meter:
    """What the connection did: attempts sent, attempts retried (429/5xx/timeouts), the last
    status (so a 401 or a 403 can be explained), and the error codes of the last refusal."""

    calls: int = 0
    retried: int = 0
    last_status: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)


class MeteredTransport(httpx.BaseTransport):
    """Wraps a transport: waits for the rate limiter, counts every attempt and its status."""

    def __init__(self, inner: httpx.BaseTransport, limiter: RateLimiter, meter: Meter) -> None:
        self.inner = inner
        self.limiter = limiter
        self.meter = meter

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.limiter.acquire()
        self.meter.calls += 1
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError:
            self.meter.retried += 1
            raise
        self.meter.last_status = response.status_code
        self.meter.statuses[response.status_code] += 1
        if response.status_code == 429 or response.status_code >= 500:
            self.meter.retried += 1
        return response

    def close(self) -> None:
        self.inner.close()


class Api:
    """A JSON API at ``base_url`` with a bearer ``token``; ``service`` names it in messages."""

    def __init__(
        self,
        service: str,
        base_url: str,
        token: str,
        *,
        policy: HttpPolicy,
        limiter: RateLimiter,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        token_hint: str = "the token",
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.sleep = sleep
        self.meter = Meter()
        self.limiter = limiter
        self.token_hint = token_hint
        self._token = token
        inner = transport if transport is not None else httpx.HTTPTransport()
        self.client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(policy.timeout),
            transport=MeteredTransport(inner, limiter, self.meter),
        )

    def __repr__(self) -> str:  # never the token
        return f"Api({self.service!r}, {self.base_url!r})"

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` (relative to the base URL, or a server-given path) as JSON."""
        query = f"?{urlencode(params, doseq=True)}" if params else ""
        return self._call("GET", path + query, b"")

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a JSON body to ``path``; long property lists go here, never in a URL."""
        return self._call("POST", path, json.dumps(body).encode())

    def _call(self, method: str, path: str, body: bytes) -> Any:
        shown = path.split("?", 1)[0]
        call = Call(method, self.base_url + path, body, self._token, self.service,
                    f"{method} {shown}")  # fmt: skip
        try:
            reply = send(self.client, call, self.policy, sleep=self.sleep, error=SyncError)
        except SyncError as exc:
            raise SyncError(self._explain(exc.message)) from None
        try:
            return json.loads(reply)
        except (ValueError, UnicodeDecodeError):
            raise SyncError(
                f"{self.service} answered {method} {shown} with a reply that is not JSON "
                f"({len(reply):,} bytes); nothing was committed from this page. Check the "
                "base URL (a proxy or login page answers HTML)."
            ) from None

    def _explain(self, message: str) -> str:
        status = self.meter.last_status
        if status == 401:
            return (
                f"{self.service} refused {self.token_hint} (401 Unauthorized): it is wrong, "
                f"expired or revoked; set a valid one. Nothing was committed. ({message})"
            )
        if "REQUEST_LIMIT_EXCEEDED" in message:
            return (
                f"{self.service} says the org's API request limit is used up "
                "(REQUEST_LIMIT_EXCEEDED, a rolling 24-hour limit); what was fetched is kept and "
                "the next run resumes from it once the limit allows."
            )
        if status == 403:
            return (
                f"{self.service} refused access (403): {self.token_hint} lacks a scope or "
                f"permission this sync needs (see docs/sync.md). ({message})"
            )
        return message
