"""The RevOps page (charts, data quality, verdicts, builds) and the upload page with its mapping
step: the CRM export's own headers are matched to icpkit's fields (the guesses of ``init``, with
their confidence), the user corrects them, the file is scored and the mapping remembered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from icpkit.errors import ConfigError, SchemaError
from icpkit.lifecycle.overview import ago
from icpkit.web import upload_steps
from icpkit.web.deps import Reader, Workspace, Writer
from icpkit.web.revops_view import gather
from icpkit.web.routers.pages import page

router = APIRouter(include_in_schema=False)
FIRST = ("account_id", "name", "domain")
SCORES = ("tier", "fit_score", "reasons")
PREVIEW_ROWS = 100


@router.post("/revops/build")
def revops_build(key: Writer, service: Workspace) -> RedirectResponse:
    service.builds.start(key.key_id)
    return RedirectResponse("/revops#build", status_code=303)


@router.get("/revops", response_class=HTMLResponse)
def revops(request: Request, key: Reader, service: Workspace) -> HTMLResponse:
    now = datetime.now(UTC)
    data = gather(service, now)
    versions = service.versions()
    diff = service.diff("previous", "latest") if len(versions) > 1 else None
    number, profile = service.profile() if versions else (None, None)
    return page(
        request,
        "revops.html",
        scope=key.scope,
        o=data.overview,
        charts=data.charts,
        diff=diff,
        drift=data.drift,
        drift_error=data.drift_error,
        version=number,
        profile=profile,
        build=service.builds.latest(),
        feedback=service.feedback(limit=50),
        audit=service.audit(limit=20),
        ago=lambda at: ago(at, now),
    )


@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request, key: Writer) -> HTMLResponse:
    return page(request, "upload.html", scope=key.scope)


def _scored(request: Request, scope: str, result: dict[str, Any]) -> HTMLResponse:
    """The page with a scored upload: its identity columns (under the file's own headers when
    mapped), the tier, the score and the reasons."""
    frame: pl.DataFrame = result["preview"]
    mapping: dict[str, str] = result.get("mapping") or {}
    first = [mapping.get(c, c) for c in FIRST]
    columns = list(dict.fromkeys(c for c in (*first, *SCORES) if c in frame.columns))
    headers = [next((f for f, h in mapping.items() if h == c), c) for c in columns]
    return page(
        request,
        "upload.html",
        scope=scope,
        result=result,
        columns=headers,
        rows=frame.select(columns).head(PREVIEW_ROWS).rows(),
    )


@router.post("/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    key: Writer,
    service: Workspace,
    file: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form()] = "",
    map_columns: Annotated[bool, Form(alias="map")] = False,
) -> HTMLResponse:
    """Score a file at once when its headers are icpkit's names (or ``map``: the workspace's
    own export mapping); otherwise keep it and show the mapping step."""
    if file is not None and file.filename:
        name, content = file.filename, file.file.read()
    elif text.strip():
        name, content = "pasted.csv", text.encode()
    else:
        raise ConfigError("choose a CSV file or paste CSV text")
    if map_columns:
        return _scored(request, key.scope, service.score_upload(name, content, map_columns=True))
    pending = upload_steps.keep_upload(service, name, content)
    if not pending.proposal.needs_mapping:
        upload_steps.pending_file(service, pending.token).unlink(missing_ok=True)
        return _scored(request, key.scope, service.score_upload(name, content, map_columns=False))
    return page(request, "upload.html", scope=key.scope, pending=pending)


@router.post("/upload/map", response_class=HTMLResponse)
async def upload_map(request: Request, key: Writer, service: Workspace) -> HTMLResponse:
    """Score a kept upload with the columns mapped as chosen in the page (``column-<i>``: the
    field of the file's i-th column, empty to keep it as it is)."""
    form = await request.form()
    token, name = str(form.get("token", "")), str(form.get("name", "upload.csv"))
    path = await run_in_threadpool(upload_steps.pending_file, service, token)
    columns = await run_in_threadpool(upload_steps.header_of, path)
    choices = {c: str(form.get(f"column-{i}", "")) for i, c in enumerate(columns)}
    try:
        result = await run_in_threadpool(upload_steps.score_mapped, service, token, choices, name)
    except SchemaError as exc:  # a mapping that cannot be used: the step again, saying why
        pending = await run_in_threadpool(upload_steps.proposal_of, service, token, name)
        return page(request, "upload.html", status=422, scope=key.scope, pending=pending,
                    chosen=choices, problems=[str(p) for p in exc.problems] or [exc.message])  # fmt: skip
    return _scored(request, key.scope, result)


@router.get("/uploads/{token}.csv", response_class=FileResponse)
def download(_: Reader, service: Workspace, token: str) -> FileResponse:
    return FileResponse(service.scored_upload(token), media_type="text/csv", filename="scored.csv")
