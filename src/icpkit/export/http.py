"""One JSON request to a CRM's API, hardened: httpx for the transport, tenacity for the retries.

What a CRM client (``icpkit push`` today, the coming sync) may rely on:

- **No redirect is followed.** A batch API that answers 3xx is misconfigured or hostile; following
  it would resend the bearer token to whatever origin the ``Location`` names (and, for a 301/302,
  turn the write into a bodiless GET that "succeeds"). A 3xx is an error naming the request.
- **A deadline for the whole request**, not per socket read: a reply trickled a byte at a time
  fails after ``timeout`` seconds like a silent one, and is retried like any network error.
- **``Retry-After`` read safely**: delta-seconds or an HTTP-date; a negative, ``inf``, ``nan`` or
  unreadable value falls back to exponential backoff; a wait longer than ``max_wait`` is not
  slept through silently: the request fails at once, saying when to try again.
- **No reply text in an error**: a 4xx body may quote the record it refused (a customer's e-mail,
  a phone number), so only structured error codes (``category``, ``errorCode``, ``statusCode``…)
  and a request id are shown.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

from icpkit.errors import IcpError

DEFAULT_MAX_WAIT = 120.0  # seconds: the longest Retry-After a run sits through
MAX_REPLY = 32 * 2**20  # bytes: a batch API's answer is far smaller; more is a broken server
_CODE_KEYS = ("category", "subCategory", "errorCode", "statusCode", "code", "error")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")  # INVALID_FIELD, invalid_grant: no spaces
_REQUEST_ID = re.compile(r"^[0-9a-fA-F-]{16,64}$")  # HubSpot's correlationId (a UUID)


class HttpError(IcpError):
    """A CRM refused a request for good, redirected it, or kept failing after every retry."""

    kind = "http"


@dataclass(frozen=True)
class HttpPolicy:
    """How hard to try: ``retries`` after the first attempt, ``backoff`` × 2^k seconds between
    them, ``timeout`` seconds for a whole request (connect, send, wait and read the reply), and
    ``max_wait`` seconds: the longest ``Retry-After`` obeyed."""

    retries: int = 5
    backoff: float = 1.0
    timeout: float = 30.0
    max_wait: float = DEFAULT_MAX_WAIT
    max_reply: int = MAX_REPLY


class _Transient(Exception):
    """A failure that may pass on a later try; ``wait`` is the server's Retry-After, if any."""

    def __init__(self, why: str, wait: float | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.wait = wait


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds to wait, or None when absent or unreadable.

    Delta-seconds (``120``) or an HTTP-date (``Wed, 21 Oct 2026 07:28:00 GMT``, in the past: 0).
    A huge number stays huge (``inf`` for 400 digits) so the caller's cap refuses it; a negative
    number, ``inf``, ``nan`` or text is unreadable (the caller backs off instead).
    """
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_codes(reply: bytes) -> str:
    """The structured error codes of an error reply (never its messages), for a message."""
    try:
        answer: Any = json.loads(reply)
    except (ValueError, UnicodeDecodeError):
        return "no error code in the reply"
    codes: list[str] = []
    request_id = None
    items = answer if isinstance(answer, list) else [answer]
    for item in items[:20]:
        if not isinstance(item, dict):
            continue
        nested = [e for e in item.get("errors") or [] if isinstance(e, dict)][:20]
        for entry in (item, *nested):
            for key in _CODE_KEYS:
                value = entry.get(key)
                if isinstance(value, str) and _CODE.match(value) and value not in codes:
                    codes.append(value)
        rid = item.get("correlationId") or item.get("requestId")
        if isinstance(rid, str) and _REQUEST_ID.match(rid):
            request_id = rid
    text = ", ".join(codes[:8]) or "no error code in the reply"
    return text + (f" (request id {request_id})" if request_id else "")


def _origin(url: str) -> str:
    """scheme://host[:port], without any user:password@ a Location may carry."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}".lower()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "forever"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.0f} days"


@dataclass(frozen=True)
class Call:
    """One request to send: ``what`` names it in messages (``batch 3 of 12 (POST /path)``)."""

    method: str
    url: str
    body: bytes
    token: str
    service: str
    what: str


def send(
    client: httpx.Client,
    call: Call,
    policy: HttpPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    error: type[IcpError] = HttpError,
) -> bytes:
    """Send ``call`` until the service accepts it (2xx: the reply's body), retrying 429, 5xx,
    network errors and timeouts; anything else raises ``error`` naming the request."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.retries + 1),
        wait=lambda state: _wait(state, policy.backoff),
        retry=tenacity.retry_if_exception_type(_Transient),
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(_attempt, client, call, policy, error)
    except _Transient as exc:
        raise error(
            f"{call.service} {exc.why} after {policy.retries} tries, at {call.what}"
        ) from None


def _wait(state: tenacity.RetryCallState, backoff: float) -> float:
    failure = state.outcome.exception() if state.outcome else None
    if isinstance(failure, _Transient) and failure.wait is not None:
        return failure.wait
    return backoff * 2 ** (state.attempt_number - 1)


def _attempt(client: httpx.Client, call: Call, policy: HttpPolicy, error: type[IcpError]) -> bytes:
    deadline = time.monotonic() + policy.timeout
    headers = {"Authorization": f"Bearer {call.token}", "Content-Type": "application/json"}
    watchdog = _Watchdog(client, policy.timeout)
    try:
        with client.stream(
            call.method, call.url, content=call.body, headers=headers,
            extensions={"trace": watchdog.trace},
        ) as response:  # fmt: skip
            status = response.status_code
            if 300 <= status < 400:
                raise error(_redirect_message(call, response.headers.get("Location")))
            reply = _read(response, deadline, call, policy, error)
            retry_header = response.headers.get("Retry-After")
    except httpx.TimeoutException:
        raise _Transient(f"did not answer within {policy.timeout:g} s") from None
    except httpx.TransportError as exc:
        if watchdog.fired:
            raise _Transient(f"did not answer within {policy.timeout:g} s") from None
        raise _Transient(f"unreachable ({type(exc).__name__})") from None
    finally:
        watchdog.cancel()
    if 200 <= status < 300:
        return reply
    if status == 429 or status >= 500:
        wait = retry_after(retry_header)
        if wait is not None and wait > policy.max_wait:
            raise error(_too_long_message(call, wait, policy.max_wait))
        raise _Transient(f"answered {status}", wait)
    codes = error_codes(reply)
    if call.token:  # a server that echoes the token back must not get it printed
        codes = codes.replace(call.token, "[token]")
    raise error(f"{call.service} refused {call.what} with {status}: {codes}")


# The connection each client last opened: a request reuses it (one at a time per client).
_STREAMS: weakref.WeakKeyDictionary[httpx.Client, Any] = weakref.WeakKeyDictionary()
_CONNECTED = ("connection.connect_tcp.complete", "connection.start_tls.complete")


class _Watchdog:
    """Cuts a request's connection when its deadline passes. httpx's timeouts are per socket
    operation, so a server sending its status line or headers a byte at a time would never hit
    one; the body's deadline is checked as it is read, but the headers come before it."""

    def __init__(self, client: httpx.Client, seconds: float) -> None:
        self.client = client
        self.fired = False
        self.timer = threading.Timer(seconds, self._cut)
        self.timer.daemon = True
        self.timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event in _CONNECTED:
            _STREAMS[self.client] = info.get("return_value")

    def _cut(self) -> None:
        stream = _STREAMS.get(self.client)
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        self.fired = True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read (a close() may not)

    def cancel(self) -> None:
        self.timer.cancel()


def _read(
    response: httpx.Response,
    deadline: float,
    call: Call,
    policy: HttpPolicy,
    error: type[IcpError],
) -> bytes:
    """The reply's body, within the request's deadline and the size limit."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_reply:
            raise error(
                f"{call.service} answered {call.what} with more than "
                f"{policy.max_reply // 2**20} MB: not a batch API's reply"
            )
        if time.monotonic() > deadline:
            raise _Transient(f"did not answer within {policy.timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _redirect_message(call: Call, location: str | None) -> str:
    target = urljoin_origin(call.url, location)
    where = (
        "within the same origin"
        if target == _origin(call.url)
        else f"to another origin ({target})"
        if target
        else "without a Location"
    )
    return (
        f"{call.service} redirected {call.what} {where}; redirects are not followed (the token "
        "would go with them) and this batch is not marked sent. Check the base URL."
    )


def urljoin_origin(base: str, location: str | None) -> str:
    """The origin (scheme://host:port) a ``Location`` header points to, relative or absolute."""
    if not location:
        return ""
    try:
        return _origin(str(httpx.URL(base).join(location)))
    except (httpx.InvalidURL, ValueError):
        return "an unreadable address"


def _too_long_message(call: Call, wait: float, max_wait: float) -> str:
    try:
        at = datetime.now(UTC) + timedelta(seconds=wait)
        when = f"after {at:%Y-%m-%d %H:%M} UTC"
    except (OverflowError, ValueError):  # inf, or past year 9999
        when = "later"
    return (
        f"{call.service} asked to wait {_duration(wait)} before {call.what} (Retry-After), "
        f"longer than the {max_wait:g} s allowed (--max-wait). Nothing from this batch on was "
        f"sent; run the same command again {when} to resume."
    )
