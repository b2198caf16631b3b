"""The account card a CRM shows in a frame: ``/embed/accounts/{id}`` and
``/embed/accounts?domain=``, opened by a signed expiring link (:mod:`icpkit.web.embed`) or an API
key, framed only by the origins of ``[web] frame_ancestors``; ``POST /v1/embed-links`` mints a
link (write key)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from icpkit.web.deps import COOKIE, Workspace, Writer
from icpkit.web.embed import EmbedLinks, EmbedRefused
from icpkit.web.security import RateLimiter
from icpkit.web.service import NotFound, Service

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/v1", tags=["embed"])
Text = Annotated[str, Query(max_length=300)]


def frame_policy(service: Service) -> str:
    """The card's Content-Security-Policy: framed only by the configured origins."""
    origins = " ".join(service.settings.frame_ancestors) or "'none'"
    return (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'none'; "
        f"base-uri 'none'; frame-ancestors {origins}"
    )


def _card(request: Request, service: Service, status: int, **context: object) -> HTMLResponse:
    body = request.app.state.pages.get_template("embed.html").render(page="embed", **context)
    return HTMLResponse(
        body,
        status_code=status,
        headers={"Content-Security-Policy": frame_policy(service), "Cache-Control": "no-store"},
    )


def _allowed(
    request: Request, service: Service, kind: Literal["id", "domain"], value: str, exp: str,
    sig: str,
) -> str:  # fmt: skip
    """'' when the request may see the card; else why not (a signed link, else a key)."""
    limiter: RateLimiter = request.app.state.limiter
    if sig or exp:
        try:
            EmbedLinks.from_settings(service.settings).verify(kind, value, exp, sig)
        except EmbedRefused as exc:
            return str(exc)
        who = "embed"
    else:
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else ""
        key = key or request.headers.get("x-api-key", "").strip() or request.cookies.get(COOKIE, "")
        record = service.keys.verify(key) if key else None
        if record is None:
            return "this card needs a signed link from your CRM (or an API key)"
        who = record.key_id
    if limiter.take(f"embed:{who}") > 0:
        return "too many cards opened at once; reload in a minute"
    request.state.key_id = who
    return ""


def _show(request: Request, service: Service, account_id: str, shared: int = 1) -> HTMLResponse:
    try:
        a = service.account(account_id)
    except NotFound:
        return _card(request, service, 404, refused="icpkit has no account with this id")
    return _card(request, service, 200, a=a, shared=shared)


@router.get("/embed/accounts", response_class=HTMLResponse)
def embed_by_domain(
    request: Request, service: Workspace, domain: Text = "", exp: Text = "", sig: Text = ""
) -> HTMLResponse:
    """The card of the best-fitting account with this domain."""
    refused = _allowed(request, service, "domain", domain, exp, sig)
    if refused:
        return _card(request, service, 403, refused=refused)
    try:
        account_id, shared = service.account_by_domain(domain)
    except NotFound:
        return _card(request, service, 404, refused="icpkit has no account with this domain")
    return _show(request, service, account_id, shared)


@router.get("/embed/accounts/{account_id:path}", response_class=HTMLResponse)
def embed_account(
    request: Request, service: Workspace, account_id: str, exp: Text = "", sig: Text = ""
) -> HTMLResponse:
    """The card of one account."""
    refused = _allowed(request, service, "id", account_id, exp, sig)
    if refused:
        return _card(request, service, 403, refused=refused)
    return _show(request, service, account_id)


class EmbedLinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str | None = Field(None, max_length=300, description="The account's id, or:")
    domain: str | None = Field(None, max_length=300, description="its domain (or a URL).")
    minutes: int = Field(60, ge=1, le=60 * 24 * 365, description="How long the link works.")


class EmbedLink(BaseModel):
    path: str = Field(description="The card's path and signed query; prefix the server's URL.")
    expires_at: int = Field(description="When the link stops working (Unix seconds).")


@api.post("/embed-links")
def mint_embed_link(_: Writer, service: Workspace, body: EmbedLinkRequest) -> EmbedLink:
    """A signed link to one account's card (by id or domain), for a CRM that cannot sign
    itself. Needs a write key and the embed secret in the server's environment."""
    if (body.account_id is None) == (body.domain is None):
        from icpkit.errors import ConfigError

        raise ConfigError("give exactly one of account_id and domain")
    links = EmbedLinks.from_settings(service.settings)
    if body.account_id is not None:
        path, expires = links.mint("id", body.account_id, body.minutes * 60)
    else:
        path, expires = links.mint("domain", body.domain or "", body.minutes * 60)
    return EmbedLink(path=path, expires_at=expires)
