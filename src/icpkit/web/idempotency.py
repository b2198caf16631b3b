"""``Idempotency-Key`` on every POST under /v1: a repeat with the same key (from the same API key)
gets the first answer again, status, headers and body, without running the request twice.

Answers are kept in ``.icpkit/web/idempotency.sqlite`` in the workspace, so a repeat after a
restart is answered too, for :data:`KEEP_HOURS` hours. Only successful (2xx) answers are kept: a
refused or failed request may be retried with the same key. The same key with a different request
(method, path, query, content type or body) is a 422 ``idempotency_key_reused``. Concurrent
requests with one key run one after the other, so the second gets the first's answer.

Neither the API key nor the body is stored: the slot is a hash of the credential and the key,
the request is compared by its hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import anyio

from icpkit.web.security import ASGIApp, Message, Receive, Scope, Send, error_body

KEEP_HOURS = 24
MAX_KEY = 255
HEADER = b"idempotency-key"
log = logging.getLogger("icpkit.web")


class IdempotencyStore:
    """The kept answers of one workspace (SQLite, one row per slot)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS answers (slot TEXT PRIMARY KEY, request TEXT NOT NULL, "
            "status INTEGER NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL, at REAL NOT NULL)"
        )
        return conn

    def lock(self, slot: str) -> threading.Lock:
        with self._guard:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            return self._locks.setdefault(slot, threading.Lock())

    def get(self, slot: str) -> tuple[str, int, list[list[str]], bytes] | None:
        """The kept answer of ``slot`` (None: none, or the store cannot be read)."""
        try:
            return self._get(slot)
        except (sqlite3.Error, OSError, ValueError) as exc:
            log.warning("idempotency store not readable (%s); answering afresh", type(exc).__name__)
            return None

    def put(
        self, slot: str, request: str, status: int, headers: list[list[str]], body: bytes
    ) -> None:
        """Keep an answer (a store that cannot be written, e.g. read-only, keeps nothing)."""
        try:
            self._put(slot, request, status, headers, body)
        except (sqlite3.Error, OSError) as exc:
            log.warning("idempotency store not writable (%s); answer not kept", type(exc).__name__)

    def _get(self, slot: str) -> tuple[str, int, list[list[str]], bytes] | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT request, status, headers, body FROM answers WHERE slot = ? AND at > ?",
                (slot, time.time() - KEEP_HOURS * 3600),
            ).fetchone()
        conn.close()
        if row is None:
            return None
        return str(row[0]), int(row[1]), json.loads(row[2]), bytes(row[3])

    def _put(
        self, slot: str, request: str, status: int, headers: list[list[str]], body: bytes
    ) -> None:
        now = time.time()
        with self._connect() as conn:
            conn.execute("DELETE FROM answers WHERE at <= ?", (now - KEEP_HOURS * 3600,))
            conn.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?)",
                (slot, request, status, json.dumps(headers), body, now),
            )
        conn.close()


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(status, code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await _answer(send, status, headers, body)


class Idempotency:
    """The ASGI middleware: answers a repeated POST from the store (see the module docstring)."""

    def __init__(self, app: ASGIApp, store: IdempotencyStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or scope["method"] != "POST" or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= MAX_KEY or not all(32 < c < 127 for c in key):
            await _error(send, 400, "bad_request",
                         f"Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters")  # fmt: skip
            return
        credential = headers.get(b"authorization", b"") or headers.get(b"x-api-key", b"")
        if not credential.strip():
            await self.app(scope, receive, send)  # the key check answers 401
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        slot = _digest(credential, key)
        request = _digest(
            path.encode(), scope.get("query_string", b""), headers.get(b"content-type", b""), body
        )
        lock = self.store.lock(slot)
        await anyio.to_thread.run_sync(lock.acquire)
        try:
            kept = await anyio.to_thread.run_sync(self.store.get, slot)
            if kept is not None:
                if kept[0] != request:
                    await _error(send, 422, "idempotency_key_reused",
                                 "this Idempotency-Key was used with a different request")  # fmt: skip
                    return
                _, status, kept_headers, kept_body = kept
                out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept_headers]
                await _answer(send, status, [*out, (b"idempotent-replayed", b"true")], kept_body)
                return
            await self._run(scope, receive, body, send, slot, request)
        finally:
            lock.release()

    async def _run(
        self, scope: Scope, receive: Receive, body: bytes, send: Send, slot: str, request: str
    ) -> None:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, capture)
        status = int(start.get("status", 500))
        if 200 <= status < 300:
            kept = [
                [k.decode("latin-1"), v.decode("latin-1")]
                for k, v in start.get("headers", [])
                if k.lower() not in (b"set-cookie", b"date", b"server")
            ]
            await anyio.to_thread.run_sync(
                self.store.put, slot, request, status, kept, b"".join(parts)
            )
