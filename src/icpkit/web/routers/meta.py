"""``/healthz`` (no key) and ``/openapi.json`` (a key, like every other route)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from icpkit.version import VERSION
from icpkit.web.deps import Reader
from icpkit.web.models import Health

router = APIRouter()


@router.get("/healthz", tags=["meta"])
def healthz() -> Health:
    """Liveness: no key needed, says nothing about the workspace."""
    return Health(status="ok", version=VERSION)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _: Reader) -> dict[str, Any]:
    """The OpenAPI document; it needs a key like every route but /healthz."""
    schema: dict[str, Any] = request.app.openapi()
    return schema
