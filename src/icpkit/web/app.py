"""The HTTP edge: JSON API under /v1 and server-rendered pages, over :class:`Service`.

``create_app`` only assembles: the service and rate limiter in ``app.state``, the error handlers
(:mod:`icpkit.web.errors`), the middleware (security headers and log, CORS, idempotency, body
limit) and the routers (:mod:`icpkit.web.routers`: one per /v1 tag, the pages, /healthz and the
schema). Every request but ``/healthz`` and the login page needs an API key (``Authorization:
Bearer``, ``X-API-Key``, or the login cookie of the pages) — ``/openapi.json`` too; uploads and
builds need a ``write`` key (:mod:`icpkit.web.deps`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

from icpkit.version import VERSION
from icpkit.web import errors
from icpkit.web.errors import ERRORS, route_of
from icpkit.web.idempotency import Idempotency, IdempotencyStore
from icpkit.web.routers import API, embed, meta, pages, revops_pages
from icpkit.web.security import BodyLimit, RateLimiter
from icpkit.web.service import Service

log = logging.getLogger("icpkit.web")
DESCRIPTION = (
    "Score accounts against the Ideal Customer Profile; read the profile, its versions, diffs "
    "and drift. Every endpoint but /healthz (this schema too) needs an API key (`icpkit keys "
    "create`), sent as `Authorization: Bearer <key>` or `X-API-Key`. Every POST takes an "
    "`Idempotency-Key`: a repeat with the same key returns the first answer (kept 24 hours in "
    "the workspace). A malformed parameter is a 400, an invalid body a 422; every error has one "
    'shape: `{"error": {"status", "code", "message", "details"}}`.'
)


def create_app(workspace: Path | str = ".") -> FastAPI:
    """The FastAPI application serving one workspace."""
    service = Service(workspace)
    settings = service.settings
    app = FastAPI(
        title="icpkit",
        version=VERSION,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by routers.meta, behind the key check
        responses=ERRORS,
    )
    app.state.service = service
    app.state.limiter = RateLimiter(settings.rate_per_minute, settings.rate_burst)
    app.state.pages = pages.environment()
    errors.install(app, app.state.pages, service.root)

    @app.middleware("http")
    async def headers_and_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/embed/"):  # the card sets its own frame policy
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'",
        )
        # Route templates only: no query string, no account names or ids in the log.
        log.info(
            "%s %s %s %.1fms key=%s",
            request.method,
            route_of(request),
            response.status_code,
            (time.perf_counter() - start) * 1000,
            getattr(request.state, "key_id", "-"),
        )
        return response

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key"],
            expose_headers=["Location", "Idempotent-Replayed", "Retry-After"],
        )
    store = IdempotencyStore(service.root / ".icpkit" / "web" / "idempotency.sqlite")
    app.add_middleware(Idempotency, store=store)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    app.include_router(meta.router)
    for router in API:
        app.include_router(router)
    app.include_router(revops_pages.router)  # before pages: /upload, /revops
    app.include_router(pages.router)
    app.include_router(embed.router)  # /embed/…: framed by [web] frame_ancestors only
    app.include_router(embed.api)
    return app


WORKSPACE_ENV = "ICPKIT_SERVE_WORKSPACE"  # set by `icpkit serve --workers N` for its workers


def app_from_environment() -> FastAPI:
    """The application of the workspace named by ``ICPKIT_SERVE_WORKSPACE`` (uvicorn workers)."""
    return create_app(os.environ.get(WORKSPACE_ENV, "."))
