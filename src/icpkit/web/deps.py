"""The dependencies every router shares: the workspace's service, the key check (with the rate
limit), the write scope, and the parameters whose malformed values are a 400.

The key is read from ``Authorization: Bearer``, ``X-API-Key`` or the pages' login cookie; the first
two are declared as OpenAPI ``securitySchemes`` (``bearer``, ``apiKey``) so clients see how to
authenticate. The schemes are declared with ``auto_error=False``: the check below raises the
API's own 401 in the one error shape.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from icpkit.web.keys import KeyRecord
from icpkit.web.security import RateLimiter
from icpkit.web.service import Service

COOKIE = "icpkit_key"
VERSION = re.compile(r"^(latest|live|newest|previous|[vV]?[0-9]{1,9})$")

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="Authorization: Bearer <key>"
)
api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey", description="X-API-Key: <key>"
)


class ApiError(Exception):
    """An HTTP-level refusal (auth, scope, rate, a malformed parameter) raised by the guards."""

    def __init__(
        self, status: int, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}


def get_service(request: Request) -> Service:
    """The workspace this app serves."""
    service: Service = request.app.state.service
    return service


Workspace = Annotated[Service, Depends(get_service)]


def caller(
    request: Request,
    service: Workspace,
    token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
    header: Annotated[str | None, Security(api_key)] = None,
) -> KeyRecord:
    """The key of the request (header, or the pages' cookie), checked and rate-limited."""
    limiter: RateLimiter = request.app.state.limiter
    key = (token.credentials.strip() if token is not None else "") or (header or "").strip()
    key = key or request.cookies.get(COOKIE, "")
    if not key:
        raise ApiError(401, "an API key is required (Authorization: Bearer <key>)")
    record = service.keys.verify(key)
    if record is None:
        raise ApiError(401, "the API key is not valid or was revoked")
    wait = limiter.take(record.key_id)
    if wait > 0:
        raise ApiError(
            429,
            "too many requests for this API key; retry later",
            {"retry_after_seconds": round(wait, 2)},
            {"Retry-After": RateLimiter.retry_after(wait)},
        )
    request.state.key_id = record.key_id
    return record


def writer(record: Annotated[KeyRecord, Depends(caller)]) -> KeyRecord:
    """A key with write scope."""
    if record.scope != "write":
        raise ApiError(403, "this needs a key with write scope", {"scope": record.scope})
    return record


Reader = Annotated[KeyRecord, Depends(caller)]
Writer = Annotated[KeyRecord, Depends(writer)]


def version_param(name: str, value: str) -> str:
    """A version reference, or a 400 naming the parameter (``abc`` is malformed, not missing)."""
    value = value.strip()
    if not VERSION.match(value):
        raise ApiError(
            400,
            f"{name} must be a version number (3 or v3), 'latest' (the version in use), "
            "'live', 'newest' or 'previous'",
            {"parameter": name},
        )
    return value


def version(
    version: Annotated[
        str, Query(max_length=20, description="3, v3, latest or previous")
    ] = "latest",
) -> str:
    return version_param("version", version)


Version = Annotated[str, Depends(version)]
