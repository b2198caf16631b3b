"""GET /v1/versions, /v1/diff, /v1/drift: the saved versions and how they compare."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from icpkit.web.deps import Reader, Version, Workspace, version_param
from icpkit.web.models import DiffResponse, DriftResponse, VersionList

router = APIRouter(prefix="/v1", tags=["versions"])
Ref = Annotated[str, Query(max_length=20, description="3, v3, latest or previous")]


@router.get("/versions")
def get_versions(_: Reader, service: Workspace) -> VersionList:
    """Every saved version, oldest first."""
    return VersionList.model_validate({"versions": service.versions()})


@router.get("/diff")
def get_diff(_: Reader, service: Workspace, a: Ref = "previous", b: Ref = "latest") -> DiffResponse:
    """What changed from version a to b, in words, with the tier migration."""
    return DiffResponse.model_validate(service.diff(version_param("a", a), version_param("b", b)))


@router.get("/drift")
def get_drift(_: Reader, service: Workspace, version: Version) -> DriftResponse:
    """Keep, review or rebuild, with the reasons."""
    return DriftResponse.model_validate(service.drift(version))
