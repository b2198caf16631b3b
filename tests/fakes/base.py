"""What both fake CRMs share: bearer auth, a request counter, injected faults, a rate limit."""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable
from typing import Any

import httpx


class Killed(BaseException):
    """Raised from inside a request to stop a sync dead, as SIGKILL would (a BaseException:
    no retry and no ``except Exception`` catches it)."""


def reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip


class FakeCrm:
    """``faults``: request number (1-based) → "429" | "500" | "503" | "garbage" | "kill";
    ``delays``: request number → seconds the ASGI server waits before answering."""

    def __init__(
        self, token: str, *, clock: Callable[[], float] = time.monotonic,
        rate: tuple[int, float] | None = None,
    ) -> None:  # fmt: skip
        self.token = token
        self.clock = clock
        self.rate = rate
        self.sent: collections.deque[float] = collections.deque()
        self.requests = 0
        self.refused_rate = 0
        self.faults: dict[int, str] = {}
        self.delays: dict[int, float] = {}
        self.kill_at: int | None = None
        self.log: list[tuple[str, str]] = []  # (method, path with query)

    def delay(self, number: int) -> float:
        return self.delays.get(number, 0.0)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        n = self.requests
        self.log.append((request.method, str(request.url.raw_path.decode())))
        if self.kill_at is not None and n >= self.kill_at:
            self.kill_at = None
            raise Killed(f"killed at request {n}")
        fault = self.faults.get(n)
        if fault == "429":
            return reply(429, {"status": "error", "category": "RATE_LIMITS"}, {"Retry-After": "3"})
        if fault in ("500", "503"):
            return reply(int(fault), {"status": "error", "category": "INTERNAL_ERROR"})
        if fault == "garbage":
            return httpx.Response(200, content=b"<html>login</html>")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.unauthorized()
        if self.rate is not None and self._over_rate():
            self.refused_rate += 1
            return reply(429, {"status": "error", "category": "RATE_LIMITS"}, {"Retry-After": "1"})
        return self.route(request)

    def _over_rate(self) -> bool:
        assert self.rate is not None
        limit, window = self.rate
        now = self.clock()
        while self.sent and now - self.sent[0] >= window:
            self.sent.popleft()
        if len(self.sent) >= limit:
            return True
        self.sent.append(now)
        return False

    def unauthorized(self) -> httpx.Response:
        raise NotImplementedError

    def route(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError


class FakeClock:
    """A monotonic clock that ``sleep`` advances instantly; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
