"""POST /v1/uploads (score a CSV, kept in the workspace) and GET /v1/uploads/{token} (the file)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Response, UploadFile
from fastapi.responses import FileResponse

from icpkit.web.deps import Reader, Workspace, Writer
from icpkit.web.models import UploadResult

router = APIRouter(prefix="/v1", tags=["uploads"])


@router.post("/uploads", status_code=201)
def post_upload(
    _: Writer,
    service: Workspace,
    response: Response,
    file: Annotated[UploadFile, File(description="A CSV of accounts")],
    map_columns: Annotated[bool, Form(alias="map")] = False,
) -> UploadResult:
    """Score a CSV (kept in the workspace); ``download`` and ``Location`` say where the scored
    file is."""
    result = service.score_upload(file.filename or "", file.file.read(), map_columns=map_columns)
    download = f"/v1/uploads/{result['token']}"
    response.headers["Location"] = download
    return UploadResult(n=result["n"], version=result["version"], download=download)


@router.get(
    "/uploads/{token}",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "The scored CSV"}},
)  # fmt: skip
def get_upload(
    _: Reader, service: Workspace, token: Annotated[str, Path(max_length=100)]
) -> FileResponse:
    """A scored upload as CSV."""
    return FileResponse(service.scored_upload(token), media_type="text/csv", filename="scored.csv")
