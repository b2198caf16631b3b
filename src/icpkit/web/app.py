"""The HTTP edge: JSON API under /v1 and server-rendered pages, over :class:`Service`.

Every request but ``/healthz`` and the login page needs an API key (``Authorization: Bearer``,
``X-API-Key``, or the login cookie of the pages); uploads need a ``write`` key. Every error leaves
as one JSON shape (pages: the same fields in an HTML page); no traceback or path ever does.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from icpkit.errors import ConfigError, IcpError, InsufficientDataError, SchemaError, StoreError
from icpkit.lifecycle.feedback import MAX_REASON
from icpkit.profile import FeedbackSection
from icpkit.themes.pii import MAX_QUOTE
from icpkit.version import VERSION
from icpkit.vocab import TIERS
from icpkit.web.builds import BuildBusy, NoSuchBuild
from icpkit.web.keys import KeyRecord
from icpkit.web.security import BodyLimit, RateLimiter, error_body
from icpkit.web.service import NotFound, Service, public_message

HERE = Path(__file__).parent
COOKIE = "icpkit_key"
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
    422: "invalid_input",
    429: "rate_limited",
}


class ApiError(Exception):
    """An HTTP-level refusal (auth, scope, rate) raised by the guards."""

    def __init__(
        self, status: int, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The one shape of every error response."""

    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "Bad request"),
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


class ScoreRequest(BaseModel):
    """Accounts to score, as records in icpkit's canonical column names."""

    accounts: list[dict[str, str | int | float | bool | list[str] | None]] = Field(
        min_length=1,
        description="One record per account: account_id, industry, employees, tech_stack (list), …",
    )


Tier = Literal["Tier 1", "Tier 2", "Tier 3", "Non-fit"]
assert tuple(Tier.__args__) == TIERS  # type: ignore[attr-defined]


class FeedbackRequest(BaseModel):
    """A rep's verdict on the tier the latest version shows for an account."""

    account_id: str = Field(min_length=1, max_length=200)
    claimed_tier: Tier = Field(description="The tier the rep thinks is right (= shown: agreed).")
    reason: str = Field("", max_length=MAX_REASON, description="Why; stored without e-mails, "
                        f"phones, links or contact names, cut to {MAX_QUOTE} characters.")  # fmt: skip


class FeedbackItem(BaseModel):
    """One stored verdict."""

    id: str
    at: str
    by_key: str = Field(description="The API key's id (never an e-mail).")
    by_name: str
    version: int
    account_id: str
    tier_shown: Tier
    tier_claimed: Tier
    reason: str
    fit_score: int | None = None
    criteria_met: list[str] = Field(default_factory=list)
    disputed: bool


class FeedbackList(BaseModel):
    """The latest verdicts, newest first, and the summary the next build reports."""

    n: int
    entries: list[FeedbackItem]
    summary: FeedbackSection | None
    agreement_rate: float | None
    warnings: list[str] = Field(default_factory=list)


class BuildStatus(BaseModel):
    """A build started from the web: its stage, the share done, and the version it saved."""

    id: str
    status: Literal["running", "done", "failed"]
    stage: str
    progress: float = Field(ge=0, le=1)
    started_at: str
    by_key: str
    finished_at: str | None = None
    version: int | None = None
    error: str | None = None


class LookalikesResponse(BaseModel):
    """The companies of the configured universe most like the ICP, customers excluded."""

    version: int
    n: int
    targets: list[dict[str, str | int | float | list[str] | None]]


def caller(request: Request) -> KeyRecord:
    """The key of the request (header, or the pages' cookie), checked and rate-limited."""
    service: Service = request.app.state.service
    limiter: RateLimiter = request.app.state.limiter
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    key = key or request.headers.get("x-api-key", "") or request.cookies.get(COOKIE, "")
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


def create_app(workspace: Path | str = ".") -> FastAPI:
    """The FastAPI application serving one workspace."""
    service = Service(workspace)
    settings = service.settings
    limiter = RateLimiter(settings.rate_per_minute, settings.rate_burst)
    pages = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    app = FastAPI(
        title="icpkit",
        version=VERSION,
        description="Score accounts against the Ideal Customer Profile; read the profile, its "
        "versions, diffs and drift. Every endpoint but /healthz needs an API key "
        "(`icpkit keys create`), sent as `Authorization: Bearer <key>` or `X-API-Key`.",
        docs_url=None,
        redoc_url=None,
        responses=ERRORS,
    )
    app.state.service = service
    app.state.limiter = limiter

    # ------------------------------------------------------------------ errors

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
        if wants_html(request):
            if status == 401:
                return RedirectResponse("/login", status_code=303)
            body = pages.get_template("error.html").render(
                status=status, code=code, message=message, details=details, page="error"
            )
            return HTMLResponse(body, status_code=status, headers=headers)
        return JSONResponse(error_body(status, code, message, details), status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        code = CODE_OF_STATUS.get(exc.status, "error")
        return respond(request, exc.status, code, exc.message, exc.details, exc.headers)

    @app.exception_handler(IcpError)
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
        return respond(request, status, code, public_message(exc.message, service.root), details)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ())),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        return respond(request, 422, "invalid_input", "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = CODE_OF_STATUS.get(exc.status_code, "error")
        message = str(exc.detail) if exc.detail else code.replace("_", " ")
        return respond(request, exc.status_code, code, message, None, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.error(
            "internal error on %s %s: %s", request.method, _route(request), type(exc).__name__
        )
        return respond(request, 500, "internal", "internal error; the server log has the cause")

    # ------------------------------------------------------------------ middleware

    @app.middleware("http")
    async def headers_and_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
            "frame-ancestors 'self'",
        )
        # Route templates only: no query string, no account names or ids in the log.
        log.info(
            "%s %s %s %.1fms key=%s",
            request.method,
            _route(request),
            response.status_code,
            (time.perf_counter() - start) * 1000,
            getattr(request.state, "key_id", "-"),
        )
        return response

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    # ------------------------------------------------------------------ JSON API

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        """Liveness: no key needed, says nothing about the workspace."""
        return {"status": "ok", "version": VERSION}

    @app.get("/v1/profile", tags=["profile"])
    def get_profile(_: Reader, version: str = "latest") -> dict[str, Any]:
        """The ICP of a version (default: the latest) as JSON."""
        number, profile = service.profile(version)
        return {"version": number, "profile": json.loads(profile.to_json())}

    @app.get("/v1/versions", tags=["profile"])
    def get_versions(_: Reader) -> dict[str, Any]:
        """Every saved version, oldest first."""
        return {"versions": service.versions()}

    @app.get("/v1/diff", tags=["profile"])
    def get_diff(_: Reader, a: str = "previous", b: str = "latest") -> dict[str, Any]:
        """What changed from version a to b, in words, with the tier migration."""
        return service.diff(a, b)

    @app.get("/v1/drift", tags=["profile"])
    def get_drift(_: Reader, version: str = "latest") -> dict[str, Any]:
        """Keep, review or rebuild, with the reasons."""
        return service.drift(version)

    @app.get("/v1/accounts", tags=["accounts"])
    def search_accounts(
        _: Reader, q: Annotated[str, Query(min_length=1, max_length=200)]
    ) -> dict[str, Any]:
        """Accounts of the workspace whose name, domain or id contains q."""
        return {"accounts": service.search(q)}

    @app.get("/v1/accounts/{account_id}", tags=["accounts"])
    def get_account(_: Reader, account_id: str, version: str = "latest") -> dict[str, Any]:
        """Tier, score, reasons, points in words, criteria met and missed, disqualifiers."""
        return service.account(account_id, version)

    @app.post("/v1/score", tags=["scoring"])
    def post_score(
        _: Reader,
        body: ScoreRequest,
        map_columns: Annotated[
            bool | None,
            Query(
                alias="map",
                description="The records use the workspace's export headers (mapped like "
                "`score --map`); omitted: detected from the records' fields.",
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Score one or many accounts given in canonical columns or in the workspace's export
        headers (nothing is stored)."""
        return service.score_records(body.accounts, map_columns)

    @app.post("/v1/feedback", tags=["feedback"], status_code=201)
    def post_feedback(key: Reader, body: FeedbackRequest) -> FeedbackItem:
        """Mark the tier an account is shown as right (claimed = shown) or wrong, with a reason."""
        return FeedbackItem(
            **service.give_feedback(key, body.account_id, body.claimed_tier, body.reason)
        )

    @app.get("/v1/feedback", tags=["feedback"])
    def get_feedback(_: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> FeedbackList:
        """Reps' verdicts, newest first, with the agreement per tier the next build reports."""
        return FeedbackList(**service.feedback(limit))

    @app.post("/v1/builds", tags=["profile"], status_code=202)
    def post_build(key: Writer) -> BuildStatus:
        """Start a build of a new version in the background (one at a time: 409 while one runs)."""
        return BuildStatus(**service.builds.start(key.key_id).to_dict())

    @app.get("/v1/builds/{build_id}", tags=["profile"])
    def get_build(_: Reader, build_id: str) -> BuildStatus:
        """Status, stage and progress (0-1) of a build started from the web."""
        return BuildStatus(**service.builds.get(build_id).to_dict())

    @app.get("/v1/lookalikes", tags=["accounts"])
    def get_lookalikes(
        _: Reader, top: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> LookalikesResponse:
        """The companies of the universe set in `[web] universe` most like the ICP."""
        return LookalikesResponse(**service.lookalikes(top))

    @app.post("/v1/uploads", tags=["scoring"])
    def post_upload(
        _: Writer,
        file: Annotated[UploadFile, File(description="A CSV of accounts")],
        map_columns: Annotated[bool, Form(alias="map")] = False,
    ) -> dict[str, Any]:
        """Score a CSV (kept in the workspace); returns where to download the scored file."""
        result = service.score_upload(
            file.filename or "", file.file.read(), map_columns=map_columns
        )
        return {
            "n": result["n"],
            "version": result["version"],
            "download": f"/v1/uploads/{result['token']}",
        }

    @app.get("/v1/uploads/{token}", tags=["scoring"], response_class=FileResponse)
    def get_upload(_: Reader, token: str) -> FileResponse:
        """A scored upload as CSV."""
        return FileResponse(
            service.scored_upload(token), media_type="text/csv", filename="scored.csv"
        )

    # ------------------------------------------------------------------ pages

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = pages.get_template(name).render(page=name.removesuffix(".html"), **context)
        return HTMLResponse(body, status_code=status)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        allowed = {"style.css": "text/css", "build.js": "text/javascript"}
        if name not in allowed:
            raise NotFound("no such file")
        return FileResponse(HERE / "static" / name, media_type=allowed[name])

    @app.get("/login", include_in_schema=False, response_class=HTMLResponse)
    def login_form() -> HTMLResponse:
        return page("login.html")

    @app.post("/login", include_in_schema=False, response_model=None)
    def login(key: Annotated[str, Form(max_length=200)]) -> Response:
        record = service.keys.verify(key.strip())
        if record is None:
            return page("login.html", status=401, failed=True)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            key.strip(),
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookie,
            max_age=8 * 3600,
        )
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> RedirectResponse:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def home(key: Reader, q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
        results = service.search(q) if q.strip() else None
        return page("search.html", q=q, results=results, scope=key.scope)

    @app.get("/accounts/{account_id}", include_in_schema=False, response_class=HTMLResponse)
    def account_page(
        key: Reader, account_id: str, feedback: Annotated[str, Query(max_length=20)] = ""
    ) -> HTMLResponse:
        return page(
            "account.html",
            a=service.account(account_id),
            scope=key.scope,
            tiers=TIERS,
            thanked=feedback == "saved",
        )

    @app.post("/accounts/{account_id}/feedback", include_in_schema=False)
    def account_feedback(
        key: Reader,
        account_id: str,
        claimed_tier: Annotated[Tier, Form()],
        reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
    ) -> RedirectResponse:
        service.give_feedback(key, account_id, claimed_tier, reason)
        return RedirectResponse(
            f"/accounts/{quote(account_id, safe='')}?feedback=saved#feedback", status_code=303
        )

    @app.post("/revops/build", include_in_schema=False)
    def revops_build(key: Writer) -> RedirectResponse:
        service.builds.start(key.key_id)
        return RedirectResponse("/revops#build", status_code=303)

    @app.get("/upload", include_in_schema=False, response_class=HTMLResponse)
    def upload_form(key: Writer) -> HTMLResponse:
        return page("upload.html", scope=key.scope)

    @app.post("/upload", include_in_schema=False, response_class=HTMLResponse)
    def upload(
        key: Writer,
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
            "upload.html",
            scope=key.scope,
            result=result,
            columns=first,
            rows=frame.select(first).head(100).rows(),
        )

    @app.get("/uploads/{token}.csv", include_in_schema=False, response_class=FileResponse)
    def download(_: Reader, token: str) -> FileResponse:
        return FileResponse(
            service.scored_upload(token), media_type="text/csv", filename="scored.csv"
        )

    @app.get("/revops", include_in_schema=False, response_class=HTMLResponse)
    def revops(key: Reader) -> HTMLResponse:
        versions = service.versions()
        diff = service.diff("previous", "latest") if len(versions) > 1 else None
        try:
            drift: dict[str, Any] | None = service.drift("latest") if versions else None
            drift_error = None
        except IcpError as exc:
            drift, drift_error = None, public_message(exc.message, service.root)
        number, profile = service.profile() if versions else (None, None)
        return page(
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

    @app.get("/revops/report", include_in_schema=False, response_class=HTMLResponse)
    def report(_: Reader) -> HTMLResponse:
        html = service.report_html().read_text(encoding="utf-8")
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                "style-src 'self' 'unsafe-inline'; script-src 'none'; frame-ancestors 'self'"
            },
        )

    return app


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or "(unrouted)"
