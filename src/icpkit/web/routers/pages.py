"""The server-rendered pages for reps and RevOps: login, search, account, upload, RevOps, report.

They read the same :class:`Service` as the JSON API and need the same key (the login cookie)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from icpkit.errors import ConfigError, IcpError
from icpkit.lifecycle.feedback import MAX_REASON
from icpkit.vocab import TIERS
from icpkit.web.deps import COOKIE, Reader, Workspace, Writer
from icpkit.web.models import Tier
from icpkit.web.routers.worklist import Query_ as WorklistParams
from icpkit.web.service import NotFound, public_message

HERE = Path(__file__).parent.parent
PAGE_SIZE = 25
INTERVAL = re.compile(r" \[[^\]]*\]")
router = APIRouter(include_in_schema=False)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters["no_intervals"] = no_intervals
    return env


def no_intervals(text: str) -> str:
    """A sentence for reps: confidence intervals ('1.5× [1.2, 1.8]') left to the analysts."""
    return INTERVAL.sub("", text)


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    pages: Environment = request.app.state.pages
    body = pages.get_template(name).render(page=name.removesuffix(".html"), **context)
    return HTMLResponse(body, status_code=status)


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    allowed = {"style.css": "text/css", "build.js": "text/javascript"}
    if name not in allowed:
        raise NotFound("no such file")
    return FileResponse(HERE / "static" / name, media_type=allowed[name])


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return page(request, "login.html")


@router.post("/login", response_model=None)
def login(
    request: Request, service: Workspace, key: Annotated[str, Form(max_length=200)]
) -> Response:
    record = service.keys.verify(key.strip())
    if record is None:
        return page(request, "login.html", status=401, failed=True)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        key.strip(),
        httponly=True,
        samesite="strict",
        secure=service.settings.secure_cookie,
        max_age=8 * 3600,
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    key: Reader,
    service: Workspace,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    results = service.search(q, PAGE_SIZE, offset) if q.strip() else None
    return page(
        request, "search.html", q=q, results=results, offset=offset, size=PAGE_SIZE,
        scope=key.scope,
    )  # fmt: skip


@router.post("/accounts/{account_id:path}/feedback")
def account_feedback(
    key: Reader,
    service: Workspace,
    account_id: str,
    claimed_tier: Annotated[Tier, Form()],
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
) -> RedirectResponse:
    service.give_feedback(key, account_id, claimed_tier, reason)
    return RedirectResponse(
        f"/accounts/{quote(account_id, safe='')}?feedback=saved#feedback", status_code=303
    )


@router.get("/accounts/{account_id:path}", response_class=HTMLResponse)
def account_page(
    request: Request,
    key: Reader,
    service: Workspace,
    account_id: str,
    feedback: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    return page(
        request,
        "account.html",
        a=service.account(account_id),
        scope=key.scope,
        tiers=TIERS,
        thanked=feedback == "saved",
    )


# ----------------------------------------------------------------------------- rep worklist

WORKLIST_SORTS = (
    ("priority", "Priority (work now first)"), ("-fit_score", "Fit score, highest first"),
    ("-intent_score", "Intent, highest first"), ("name", "Name A–Z"), ("tier", "Tier"),
    ("owner", "Owner"), ("territory", "Territory"), ("industry", "Industry"),
)  # fmt: skip


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request, key: Reader, service: Workspace, query: WorklistParams
) -> HTMLResponse:
    """This week's accounts by priority x tier, filtered and paged like GET /v1/worklist."""
    result = service.worklist(query)
    params = {**query.filters(), "sort": query.sort, "limit": str(query.limit)}
    return page(
        request, "worklist.html", scope=key.scope, w=result, sorts=WORKLIST_SORTS,
        query=urlencode(params),
    )  # fmt: skip


@router.post("/revops/build")
def revops_build(key: Writer, service: Workspace) -> RedirectResponse:
    service.builds.start(key.key_id)
    return RedirectResponse("/revops#build", status_code=303)


@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request, key: Writer) -> HTMLResponse:
    return page(request, "upload.html", scope=key.scope)


@router.post("/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    key: Writer,
    service: Workspace,
    file: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form()] = "",
    map_columns: Annotated[bool, Form(alias="map")] = False,
) -> HTMLResponse:
    if file is not None and file.filename:
        name, content = file.filename, file.file.read()
    elif text.strip():
        name, content = "pasted.csv", text.encode()
    else:
        raise ConfigError("choose a CSV file or paste CSV text")
    result = service.score_upload(name, content, map_columns=map_columns)
    frame = result["preview"]
    first = [
        c
        for c in ("account_id", "name", "domain", "tier", "fit_score", "reasons")
        if c in frame.columns
    ]
    return page(
        request,
        "upload.html",
        scope=key.scope,
        result=result,
        columns=first,
        rows=frame.select(first).head(100).rows(),
    )


@router.get("/uploads/{token}.csv", response_class=FileResponse)
def download(_: Reader, service: Workspace, token: str) -> FileResponse:
    return FileResponse(service.scored_upload(token), media_type="text/csv", filename="scored.csv")


@router.get("/revops", response_class=HTMLResponse)
def revops(request: Request, key: Reader, service: Workspace) -> HTMLResponse:
    versions = service.versions()
    diff = service.diff("previous", "latest") if len(versions) > 1 else None
    try:
        drift: dict[str, Any] | None = service.drift("latest") if versions else None
        drift_error = None
    except IcpError as exc:
        drift, drift_error = None, public_message(exc.message, service.root)
    number, profile = service.profile() if versions else (None, None)
    return page(
        request,
        "revops.html",
        scope=key.scope,
        versions=list(reversed(versions)),
        diff=diff,
        drift=drift,
        drift_error=drift_error,
        version=number,
        profile=profile,
        check=service.check_lines(),
        build=service.builds.latest(),
        feedback=service.feedback(limit=50),
    )


@router.get("/revops/report", response_class=HTMLResponse)
def report(_: Reader, service: Workspace) -> HTMLResponse:
    html = service.report_html().read_text(encoding="utf-8")
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; script-src 'none'; frame-ancestors 'none'"
        },
    )
