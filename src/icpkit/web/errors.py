"""Every error leaves as one JSON shape (pages: the same fields in an HTML page); no traceback and
no server path ever does. A malformed query, path or header parameter is a 400; a body that does
not validate is a 422.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment
from starlette.exceptions import HTTPException as StarletteHTTPException

from icpkit.errors import ConfigError, IcpError, InsufficientDataError, SchemaError, StoreError
from icpkit.web.builds import BuildBusy, NoSuchBuild
from icpkit.web.deps import ApiError
from icpkit.web.messages import public_message
from icpkit.web.models import ErrorResponse
from icpkit.web.security import error_body
from icpkit.web.service import NotFound

log = logging.getLogger("icpkit.web")

STATUS_OF: dict[type[IcpError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    NoSuchBuild: (404, "not_found"),
    BuildBusy: (409, "conflict"),
    SchemaError: (422, "invalid_input"),
    InsufficientDataError: (422, "insufficient_data"),
    StoreError: (404, "no_version"),
    ConfigError: (400, "bad_request"),
}
CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}
PARAMETERS = ("query", "path", "header", "cookie")

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "Bad request (a malformed parameter)"),
        (401, "No valid API key"),
        (403, "The key lacks the scope"),
        (404, "Not found"),
        (405, "Method not allowed"),
        (409, "A build is running already"),
        (413, "Body too large"),
        (422, "Invalid input"),
        (429, "Rate limited"),
        (500, "Internal error"),
    )
}


def route_of(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or "(unrouted)"


def install(app: FastAPI, pages: Environment, root: Path) -> None:
    """The exception handlers of the app: one shape, public messages only."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return public_message(value, root)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    def wants_html(request: Request) -> bool:
        path = request.url.path
        return not path.startswith("/v1") and "text/html" in request.headers.get("accept", "")

    def respond(
        request: Request,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        message, details = clean(message), clean(details)
        if wants_html(request):
            if status == 401:
                return RedirectResponse("/login", status_code=303)
            body = pages.get_template("error.html").render(
                status=status, code=code, message=message, details=details, page="error"
            )
            return HTMLResponse(body, status_code=status, headers=headers)
        return JSONResponse(error_body(status, code, message, details), status, headers=headers)

    def handler(kind: type[Exception]) -> Callable[[Any], Any]:
        return app.exception_handler(kind)

    @handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        code = CODE_OF_STATUS.get(exc.status, "error")
        return respond(request, exc.status, code, exc.message, exc.details, exc.headers)

    @handler(IcpError)
    async def icp_error(request: Request, exc: IcpError) -> Response:
        status, code = next(
            (v for k, v in STATUS_OF.items() if isinstance(exc, k)), (400, "bad_request")
        )
        details = None
        if isinstance(exc, SchemaError) and exc.problems:
            details = [
                {k: p.to_dict()[k] for k in ("row", "column", "message", "expected")}
                for p in exc.problems[:50]
            ]
        return respond(request, status, code, exc.message, details)

    @handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        details = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ())),
                "message": err.get("msg", ""),
            }
            for err in errors
        ]
        if errors and all(tuple(err.get("loc", ()))[:1] in [(p,) for p in PARAMETERS]
                          for err in errors):  # fmt: skip
            return respond(request, 400, "bad_request", "a parameter is not valid", details)
        return respond(request, 422, "invalid_input", "the request is not valid", details)

    @handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = CODE_OF_STATUS.get(exc.status_code, "error")
        message = str(exc.detail) if exc.detail else code.replace("_", " ")
        return respond(request, exc.status_code, code, message, None, dict(exc.headers or {}))

    @handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.error(
            "internal error on %s %s: %s", request.method, route_of(request), type(exc).__name__
        )
        return respond(request, 500, "internal", "internal error; the server log has the cause")
