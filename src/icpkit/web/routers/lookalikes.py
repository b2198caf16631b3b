"""GET /v1/lookalikes: the companies of the configured universe most like the ICP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from icpkit.web.deps import Reader, Workspace
from icpkit.web.models import LookalikesResponse

router = APIRouter(prefix="/v1", tags=["lookalikes"])


@router.get("/lookalikes")
def get_lookalikes(
    _: Reader, service: Workspace, top: Annotated[int, Query(ge=1, le=500)] = 50
) -> LookalikesResponse:
    """The companies of the universe set in `[web] universe` most like the ICP."""
    return LookalikesResponse.model_validate(service.lookalikes(top))
