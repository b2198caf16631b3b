"""The server-rendered pages for reps and RevOps: login, search, account, upload, RevOps, report.

They read the same :class:`Service` as the JSON API and need the same key (the login cookie)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from icpkit.lifecycle.feedback import MAX_REASON
from icpkit.vocab import TIERS
from icpkit.web.deps import COOKIE, Reader, Workspace
from icpkit.web.models import Tier
from icpkit.web.routers.worklist import Query_ as WorklistParams
from icpkit.web.service import NotFound

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


# The RevOps page and the upload page (with its mapping step): routers/revops_pages.py.


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
