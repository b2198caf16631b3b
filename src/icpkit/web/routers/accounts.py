"""GET /v1/accounts (search and list, paged) and GET /v1/accounts/{id} (one account, why)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from icpkit.web.deps import Reader, Version, Workspace
from icpkit.web.models import AccountDetail, AccountList

router = APIRouter(prefix="/v1", tags=["accounts"])
MAX_LIMIT = 500


@router.get("/accounts")
def search_accounts(
    _: Reader,
    service: Workspace,
    q: Annotated[
        str,
        Query(
            max_length=200,
            description="Part of a name, domain or id; a close spelling of a "
            "name; or a pasted URL or e-mail address (its domain). Empty: every account.",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AccountList:
    """Accounts matching q (all without it), best fit first, one page with the total."""
    page = service.search(q, limit, offset)
    return AccountList.model_validate(
        {"query": page.query, "total": page.total, "limit": limit, "offset": offset,
         "accounts": page.rows}
    )  # fmt: skip


@router.get("/accounts/{account_id:path}")
def get_account(_: Reader, service: Workspace, account_id: str, version: Version) -> AccountDetail:
    """Tier, score, reasons, points in words, criteria met and missed, disqualifiers, whom to
    reach, talking points and why now. Ids may contain '/'."""
    return AccountDetail.model_validate(service.account(account_id, version))
