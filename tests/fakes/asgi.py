"""Serve a fake CRM (anything with ``handle(httpx.Request) -> httpx.Response``) as an ASGI app,
so one test can run it under a real uvicorn server (sockets, timeouts, slow replies)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


def asgi_app(fake: Any) -> Any:
    """An ASGI app answering with ``fake.handle``; ``fake.delay(request_number)`` seconds are
    slept before the reply is sent (a slow server)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode()
        url = f"http://fake{scope['path']}" + (f"?{query}" if query else "")
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        request = httpx.Request(scope["method"], url, headers=headers, content=body)
        response = fake.handle(request)
        pause = fake.delay(fake.requests)
        if pause:
            await asyncio.sleep(pause)
        await send({
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [(k.encode(), v.encode()) for k, v in response.headers.items()],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": response.content})

    return app
