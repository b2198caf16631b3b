"""POST /v1/feedback (a rep's verdict), GET /v1/feedback (the latest), GET /v1/feedback/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from icpkit.lifecycle.feedback import FeedbackEntry
from icpkit.web.deps import Reader, Workspace
from icpkit.web.models import FeedbackList, FeedbackRequest

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post(
    "/feedback",
    status_code=201,
    responses={200: {"model": FeedbackEntry, "description": "The same verdict was given already"}},
)
def post_feedback(
    key: Reader, service: Workspace, body: FeedbackRequest, response: Response
) -> FeedbackEntry:
    """Mark the tier an account is shown as right (claimed = shown) or wrong, with a reason.

    201 with ``Location`` when stored. The same verdict (account, claimed tier, reason) by the same
    key on the same version within 10 minutes is stored once: the repeat answers 200 with the
    first verdict. ``Idempotency-Key`` makes any repeat return the first answer."""
    entry, created = service.give_feedback(key, body.account_id, body.claimed_tier, body.reason)
    response.headers["Location"] = f"/v1/feedback/{entry.id}"
    if not created:
        response.status_code = 200
    return entry


@router.get("/feedback")
def get_feedback(
    _: Reader, service: Workspace, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> FeedbackList:
    """Reps' verdicts, newest first, with the agreement per tier the next build reports."""
    return FeedbackList.model_validate(service.feedback(limit))


@router.get("/feedback/{entry_id}")
def get_feedback_entry(
    _: Reader, service: Workspace, entry_id: Annotated[str, Path(max_length=64)]
) -> FeedbackEntry:
    """One stored verdict."""
    return service.feedback_entry(entry_id)
