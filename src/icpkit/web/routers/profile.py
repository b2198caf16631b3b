"""GET /v1/profile: the ICP of a version as JSON."""

from __future__ import annotations

from fastapi import APIRouter

from icpkit.web.deps import Reader, Version, Workspace
from icpkit.web.models import ProfileResponse

router = APIRouter(prefix="/v1", tags=["profile"])


@router.get("/profile")
def get_profile(_: Reader, service: Workspace, version: Version) -> ProfileResponse:
    """The ICP of a version (default: the latest) as JSON."""
    number, profile = service.profile(version)
    return ProfileResponse(version=number, profile=profile)
