"""GET /v1/worklist (this week's accounts by priority x tier, filtered, sorted, paged with totals)
and GET /v1/worklist.csv (every matching row); the /worklist page reads the same query."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from icpkit.signals.priority import ACTIONS
from icpkit.web.deps import Reader, Version, Workspace
from icpkit.web.models import Tier
from icpkit.worklist import MAX_LIMIT, WorklistQuery

router = APIRouter(prefix="/v1", tags=["worklist"])
Priority = Literal["work now", "work this week", "nurture", "watch", "do not chase"]
assert tuple(Priority.__args__) == ACTIONS  # type: ignore[attr-defined]
Text = Annotated[str, Query(max_length=200)]


class WorklistRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str
    name: str | None
    domain: str | None
    owner: str | None
    territory: str | None
    industry: str | None
    tier: Tier
    fit_score: int
    intent: Literal["hot", "warm", "cold"]
    intent_score: float | None
    priority: Priority
    first_why_now: str
    why_now: str


class WorklistPage(BaseModel):
    """One page of the worklist: ``total`` rows match the filters; ``counts`` per priority."""

    model_config = ConfigDict(extra="forbid")

    as_of: str
    note: str
    total: int
    limit: int
    offset: int
    sort: str
    filters: dict[str, str]
    counts: dict[str, int]
    rows: list[WorklistRow]
    choices: dict[str, list[str]]


def worklist_query(
    owner: Annotated[
        str, Query(max_length=200, description="Account owner, exactly (any case).")
    ] = "",
    territory: Annotated[
        str, Query(max_length=200, description="Territory or region, exactly (any case).")
    ] = "",
    tier: Annotated[
        str, Query(max_length=20, description="One tier: Tier 1, Tier 2, Tier 3 or Non-fit.")
    ] = "",
    priority: Annotated[
        str, Query(max_length=20, description="One priority: " + ", ".join(ACTIONS) + ".")
    ] = "",
    industry: Annotated[str, Query(max_length=200, description="Industry (any case).")] = "",
    sort: Annotated[
        str,
        Query(
            max_length=30,
            description="priority (default), fit_score, intent_score, name, tier, "
            "owner, territory or industry; '-' in front: descending.",
        ),
    ] = "priority",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> WorklistQuery:
    """The worklist query of a request (a malformed value is a 400)."""
    return WorklistQuery(
        owner=owner, territory=territory, tier=tier, priority=priority, industry=industry,
        sort=sort, limit=limit, offset=offset,
    )  # fmt: skip


Query_ = Annotated[WorklistQuery, Depends(worklist_query)]


@router.get("/worklist")
def get_worklist(_: Reader, service: Workspace, query: Query_, version: Version) -> WorklistPage:
    """This week's accounts, work now first: priority is fit tier x intent (never one blended
    number), with name, domain, owner, territory, industry and the first "why now" reason."""
    page: dict[str, Any] = service.worklist(query, version).to_dict()
    return WorklistPage.model_validate(page)


@router.get(
    "/worklist.csv",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "Every matching row",
        }
    },
)
def get_worklist_csv(_: Reader, service: Workspace, query: Query_, version: Version) -> Response:
    """Every row the filters keep, in the chosen order (no paging), as CSV."""
    return Response(
        service.worklist_csv(query, version),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="worklist.csv"'},
    )
