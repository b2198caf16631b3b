"""POST /v1/builds (start a build of a new version) and GET /v1/builds/{id} (its status)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from icpkit.web.deps import Reader, Workspace, Writer
from icpkit.web.models import BuildStatus

router = APIRouter(prefix="/v1", tags=["builds"])


@router.post("/builds", status_code=202)
def post_build(key: Writer, service: Workspace, response: Response) -> BuildStatus:
    """Start a build of a new version in the background (one at a time: 409 while one runs);
    ``Location`` is where to follow it."""
    job = service.builds.start(key.key_id)
    response.headers["Location"] = f"/v1/builds/{job.id}"
    return BuildStatus.model_validate(job.to_dict())


@router.get("/builds/{build_id}")
def get_build(
    _: Reader, service: Workspace, build_id: Annotated[str, Path(max_length=64)]
) -> BuildStatus:
    """Status, stage and progress (0-1) of a build started from the web (kept across restarts)."""
    return BuildStatus.model_validate(service.builds.get(build_id).to_dict())
