"""POST /v1/score: score accounts given as JSON records (nothing is stored)."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Query

from icpkit.web.deps import Reader, Workspace
from icpkit.web.models import ScoreRequest, ScoreResponse
from icpkit.web.service import Service

router = APIRouter(prefix="/v1", tags=["score"])


def numbers_not_flags(service: Service, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``true``/``false`` in a column the workspace reads as numbers is a missing value (as the
    CLI reads it), not 1 or 0."""
    schema = service.accounts().schema
    numeric = {c for c, t in schema.items() if t.is_numeric() and t != pl.Boolean}
    return [
        {k: None if isinstance(v, bool) and k in numeric else v for k, v in r.items()}
        for r in records
    ]


@router.post("/score")
def post_score(
    _: Reader,
    service: Workspace,
    body: ScoreRequest,
    map_columns: Annotated[
        bool | None,
        Query(
            alias="map",
            description="The records use the workspace's export headers (mapped like "
            "`score --map`); omitted: detected from the records' fields.",
        ),
    ] = None,
) -> ScoreResponse:
    """Score one or many accounts given in canonical columns or in the workspace's export
    headers (nothing is stored)."""
    records = numbers_not_flags(service, body.accounts)
    return ScoreResponse.model_validate(service.score_records(records, map_columns))
