"""A local webhook receiver for alert tests: an HTTP server thread that keeps every POST body."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """What the server received: one dict per POST (parsed JSON, or {'raw': text})."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.posts: list[dict[str, Any]] = []
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        """The apprise URL of this receiver (a generic JSON webhook)."""
        return f"json://127.0.0.1:{self.port}/hook"

    def texts(self) -> list[str]:
        return [json.dumps(p, ensure_ascii=False) for p in self.posts]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """Start a receiver on a free local port; stop it on exit."""
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", errors="replace")
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                body = {"raw": raw}
            holder["r"].posts.append(body)
            holder["r"].paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = Receiver(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
