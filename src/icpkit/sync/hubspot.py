"""HubSpot CRM v3: what is fetched and how.

- **Full pass**: the list endpoint (``GET /crm/v3/objects/{type}``, ``limit=100``, ``after``
  cursor, ``properties``, ``associations=companies``). When the property list would make the URL
  longer than :data:`URL_BUDGET`, the list asks only for ids and the properties come from
  ``POST /crm/v3/objects/{type}/batch/read`` (a body has no length limit that matters).
- **Incremental pass**: the search endpoint (``POST …/search``, properties in the body) for
  records modified in [lo, hi), paged by ``hs_object_id`` (a ``GT`` filter, ascending: a record
  edited while the sync runs cannot shift a page, as offsets would), in time windows bisected
  until each holds at most 10,000 results (search refuses to page past 10,000). Search results
  carry no associations, so they are read for each page through the v4 associations batch
  endpoint: an incremental run never drops a deal's company. Then the archived records (``GET
  …?archived=true``) are deletes. Search calls also keep to the search API's own 5 per second.
- Contacts' modification time is ``lastmodifieddate``; the other objects' ``hs_lastmodifieddate``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from icpkit.sync.client import Api, RateLimiter, SyncError
from icpkit.sync.spec import ObjectSpec, Page, as_text

DEFAULT_BASE = "https://api.hubapi.com"
LIST_LIMIT = 100  # the list endpoint's maximum page
SEARCH_LIMIT = 200  # the search endpoint's maximum page
SEARCH_CAP = 10_000  # search answers 400 for after >= 10,000
SEARCH_PER_SECOND = 5  # the search endpoints' own rate limit
URL_BUDGET = 2_000  # characters of properties= above which properties go in a POST body
PRIMARY_TYPE_IDS = {5, 1}  # deal→company and contact→company "Primary" association types

COMPANIES = ObjectSpec(
    name="companies",
    table="accounts",
    fields=("name", "domain", "industry", "numberofemployees", "annualrevenue", "country",
            "founded_year", "web_technologies", "createdate", "hs_lastmodifieddate"),
    modified="hs_lastmodifieddate",
    columns={"account_id": "id", "name": "name", "domain": "domain", "industry": "industry",
             "employees": "numberofemployees", "annual_revenue": "annualrevenue",
             "country": "country", "founded_year": "founded_year",
             "tech_stack": "web_technologies"},
    drop=("createdate", "hs_lastmodifieddate"),
)  # fmt: skip
DEALS = ObjectSpec(
    name="deals",
    table="deals",
    fields=("dealstage", "pipeline", "amount", "createdate", "closedate", "deal_currency_code",
            "hs_analytics_source", "hs_is_closed_won", "hs_is_closed", "hs_lastmodifieddate"),
    modified="hs_lastmodifieddate",
    columns={"deal_id": "id", "account_id": "company_id", "stage": "dealstage",
             "is_won": "hs_is_closed_won", "is_closed": "hs_is_closed", "amount": "amount",
             "created_at": "createdate", "closed_at": "closedate",
             "currency": "deal_currency_code", "source": "hs_analytics_source"},
    drop=("company_ids", "hs_lastmodifieddate", "pipeline"),
    associate="companies",
)  # fmt: skip
CONTACTS = ObjectSpec(
    name="contacts",
    table="contacts",
    fields=("jobtitle", "createdate", "lastmodifieddate"),
    modified="lastmodifieddate",
    columns={"contact_id": "id", "account_id": "company_id", "title": "jobtitle"},
    drop=("company_ids", "createdate", "lastmodifieddate"),
    associate="companies",
)  # fmt: skip
NOTES = ObjectSpec(
    name="notes",
    table="notes",
    fields=("hs_note_body", "hs_timestamp", "hs_lastmodifieddate"),
    modified="hs_lastmodifieddate",
    columns={"account_id": "company_id", "date": "hs_timestamp", "text": "hs_note_body"},
    drop=("id", "company_ids", "hs_lastmodifieddate"),
    associate="companies",
)  # fmt: skip
OBJECTS = (COMPANIES, DEALS, CONTACTS, NOTES)


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _results(answer: Any, what: str) -> list[dict[str, Any]]:
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) and "id" in r for r in results):
        raise SyncError(f"HubSpot answered {what} without a list of results with ids")
    return results


def _next_after(answer: dict[str, Any]) -> str | None:
    nxt = (answer.get("paging") or {}).get("next") or {}
    after = nxt.get("after") if isinstance(nxt, dict) else None
    return str(after) if after not in (None, "") else None


def _primary(to: list[tuple[str, bool]]) -> str | None:
    """The primary associated id (the one labelled primary, else the first)."""
    return next((i for i, primary in to if primary), to[0][0] if to else None)


class HubSpot:
    """Fetches HubSpot objects through ``api``; see the module text for the method."""

    def __init__(self, api: Api) -> None:
        self.api = api
        # search has its own limit besides the account's: 5 requests per second per token
        clock, sleep = api.limiter.clock, api.limiter.sleep
        self.search_limiter = RateLimiter(SEARCH_PER_SECOND, 1.0, clock=clock, sleep=sleep)

    # -- records ---------------------------------------------------------------------------
    def _row(
        self, spec: ObjectSpec, item: dict[str, Any], assoc: list[tuple[str, bool]] | None
    ) -> dict[str, Any]:
        props = item.get("properties") or {}
        row: dict[str, str | None] = {"id": str(item["id"])}
        for name in (*spec.fields, *spec.extra):
            row[name] = as_text(props.get(name))
        if spec.associate:
            to = assoc or []
            row["company_id"] = _primary(to)
            row["company_ids"] = ";".join(sorted({i for i, _ in to}, key=_id_key)) or None
        return row

    def full(self, spec: ObjectSpec, position: Any) -> Iterator[Page]:
        """Every live record, page by page; ``position`` is the list's ``after`` cursor."""
        wanted = [*spec.fields, *spec.extra]
        in_url = len(quote(",".join(wanted))) <= URL_BUDGET
        after = position
        while True:
            params: dict[str, Any] = {"limit": LIST_LIMIT, "archived": "false"}
            if in_url:
                params["properties"] = ",".join(wanted)
            if spec.associate:
                params["associations"] = spec.associate
            if after:
                params["after"] = after
            answer = self.api.get(f"/crm/v3/objects/{spec.name}", params)
            items = _results(answer, f"GET /crm/v3/objects/{spec.name}")
            if not in_url and items:
                items = self._with_properties(spec, items, wanted)
            assoc = {str(i["id"]): _list_assoc(i, spec.associate) for i in items}
            more = [k for k, i in zip(assoc, items, strict=True) if _assoc_paged(i, spec.associate)]
            assoc.update(self._associations(spec, more))  # the list showed only a first page
            rows = [self._row(spec, i, assoc[str(i["id"])]) for i in items]
            after = _next_after(answer)
            yield rows, [], after, "records"
            if after is None:
                return

    def _with_properties(
        self, spec: ObjectSpec, items: list[dict[str, Any]], wanted: list[str]
    ) -> list[dict[str, Any]]:
        """The list page's items with their properties read by id in a POST body."""
        answer = self.api.post(
            f"/crm/v3/objects/{spec.name}/batch/read",
            {"properties": wanted, "inputs": [{"id": str(i["id"])} for i in items]},
        )
        found = {str(r["id"]): r for r in _results(answer, f"{spec.name} batch/read")}
        return [{**i, "properties": found.get(str(i["id"]), {}).get("properties", {})}
                for i in items]  # fmt: skip

    def incremental(
        self, spec: ObjectSpec, lo: datetime, hi: datetime, position: Any, phase: str
    ) -> Iterator[Page]:
        """Records modified in [lo, hi) through search, then the archived ones as deletes."""
        if phase == "records":
            state = position or {"windows": [[_ms(lo), _ms(hi)]], "last_id": None}
            yield from self._search(spec, state)
            position = None
        yield from self._archived(spec, position)

    def _search(self, spec: ObjectSpec, state: dict[str, Any]) -> Iterator[Page]:
        windows: list[list[str]] = [list(w) for w in state["windows"]]
        last_id: str | None = state["last_id"]
        while windows:
            start, end = windows[0]
            self.search_limiter.acquire()
            answer = self.api.post(
                f"/crm/v3/objects/{spec.name}/search",
                self._search_body(spec, start, end, last_id),
            )
            items = _results(answer, f"POST /crm/v3/objects/{spec.name}/search")
            total = int(answer.get("total") or 0)
            if last_id is None and total > SEARCH_CAP and int(end) - int(start) > 1:
                middle = str((int(start) + int(end)) // 2)
                windows[0:1] = [[start, middle], [middle, end]]
                continue  # the window is too big for search: halve it, read nothing from it
            assoc = self._associations(spec, [str(i["id"]) for i in items])
            rows = [self._row(spec, i, assoc.get(str(i["id"]))) for i in items]
            if len(items) < SEARCH_LIMIT or _next_after(answer) is None:
                windows.pop(0)
                last_id = None
            else:
                last_id = str(items[-1]["id"])
            yield rows, [], {"windows": windows, "last_id": last_id}, "records"

    def _search_body(
        self, spec: ObjectSpec, start: str, end: str, last_id: str | None
    ) -> dict[str, Any]:
        filters = [
            {"propertyName": spec.modified, "operator": "GTE", "value": start},
            {"propertyName": spec.modified, "operator": "LT", "value": end},
        ]
        if last_id is not None:
            filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": last_id})
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": [*spec.fields, *spec.extra],
            "limit": SEARCH_LIMIT,
            "after": "0",
        }

    def _associations(self, spec: ObjectSpec, ids: list[str]) -> dict[str, list[tuple[str, bool]]]:
        """id → [(associated id, primary?)] through the v4 batch endpoint, every page of it."""
        found: dict[str, list[tuple[str, bool]]] = {i: [] for i in ids}
        if not spec.associate or not ids:
            return found
        inputs: list[dict[str, str]] = [{"id": i} for i in ids]
        path = f"/crm/v4/associations/{spec.name}/{spec.associate}/batch/read"
        while inputs:
            answer = self.api.post(path, {"inputs": inputs})
            results = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(results, list):
                raise SyncError(f"HubSpot answered POST {path} without results")
            inputs = []
            for result in results:
                source = str((result.get("from") or {}).get("id"))
                for to in result.get("to") or []:
                    types = to.get("associationTypes") or []
                    primary = any(
                        t.get("typeId") in PRIMARY_TYPE_IDS or t.get("label") == "Primary"
                        for t in types
                    )
                    found.setdefault(source, []).append((str(to.get("toObjectId")), primary))
                if after := _next_after(result):  # more than one page of associations
                    inputs.append({"id": source, "after": after})
        return found

    def _archived(self, spec: ObjectSpec, after: Any) -> Iterator[Page]:
        while True:
            params: dict[str, Any] = {"limit": LIST_LIMIT, "archived": "true"}
            if after:
                params["after"] = after
            answer = self.api.get(f"/crm/v3/objects/{spec.name}", params)
            ids = [str(i["id"]) for i in _results(answer, f"{spec.name} archived list")]
            after = _next_after(answer)
            yield [], ids, after, "deletes"
            if after is None:
                return


def _id_key(value: str) -> tuple[int, str]:
    return (0, f"{int(value):020d}") if value.isdigit() else (1, value)


def _list_assoc(item: dict[str, Any], to: str | None) -> list[tuple[str, bool]] | None:
    """The list endpoint's ``associations.<to>.results`` as [(id, primary?)] (v3 types:
    ``deal_to_company`` is the primary one, ``deal_to_company_unlabeled`` the others)."""
    if to is None:
        return None
    results = ((item.get("associations") or {}).get(to) or {}).get("results") or []
    merged: dict[str, bool] = {}
    for entry in results:
        key = str(entry.get("id"))
        primary = not str(entry.get("type", "")).endswith("unlabeled")
        merged[key] = merged.get(key, False) or primary
    return list(merged.items())


def _assoc_paged(item: dict[str, Any], to: str | None) -> bool:
    """Whether the list showed only the first page of an item's associations."""
    if to is None:
        return False
    block = (item.get("associations") or {}).get(to) or {}
    return _next_after(block) is not None
