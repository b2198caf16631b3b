"""A fake HubSpot CRM v3/v4 following the documented shapes.

- ``GET /crm/v3/objects/{type}``: ``limit`` (≤ 100), ``after`` (opaque; here the next id),
  ``properties``, ``associations``, ``archived``; ``paging.next.after`` while more remain.
- ``POST /crm/v3/objects/{type}/search``: filterGroups (AND inside a group, OR across), sorts,
  ``limit`` ≤ 200, ``after`` offsets, ``total``; **400 for after ≥ 10,000** (the search cap);
  no associations in results; 5 requests per second.
- ``POST /crm/v3/objects/{type}/batch/read``: properties by id (≤ 100 inputs).
- ``POST /crm/v4/associations/{from}/{to}/batch/read``: ``results[].to[].toObjectId`` with
  ``associationTypes`` (typeId 5/1 "Primary"); ids without associations come back in ``errors``
  with status 207, as HubSpot does.
- 401 with ``category: INVALID_AUTHENTICATION`` for a wrong token; 190 requests per 10 s.
"""

from __future__ import annotations

import bisect
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

from fakes.base import FakeCrm, reply

MODIFIED = {"contacts": "lastmodifieddate"}  # the others: hs_lastmodifieddate
PRIMARY = {"deals": 5, "contacts": 1, "notes": 190}
DEFAULT_PROPS = {
    "companies": ("name", "domain"),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate"),
    "contacts": ("firstname", "lastname", "email"),
    "notes": ("hs_timestamp",),
}


def iso_ms(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Rec:
    props: dict[str, str | None]
    modified: int
    created: int
    companies: list[str] = field(default_factory=list)  # first: primary
    archived_at: int | None = None


class FakeHubSpot(FakeCrm):
    def __init__(self, token: str = "hs-test-token", *, search_cap: int = 10_000, **kw: Any):
        super().__init__(token, **kw)
        self.search_cap = search_cap
        self.objects: dict[str, dict[int, Rec]] = {k: {} for k in DEFAULT_PROPS}
        self.next_id = 1000
        self.search_sent: list[float] = []
        self.order: dict[str, list[int]] = {}  # kind → ids ascending (ids only ever grow)

    # -- the test's side ---------------------------------------------------------------------
    def add(self, kind: str, props: dict[str, Any], *, companies: list[str] = (),  # type: ignore[assignment]
            modified: int | None = None, created: int | None = None) -> str:  # fmt: skip
        self.next_id += 1
        when = modified if modified is not None else now_ms()
        clean = {k: (None if v is None else str(v)) for k, v in props.items()}
        born = created if created is not None else when
        self.objects[kind][self.next_id] = Rec(clean, when, born, list(companies))
        self.order.pop(kind, None)
        return str(self.next_id)

    def edit(
        self, kind: str, rid: str, *, companies: list[str] | None = None, **props: Any
    ) -> None:
        rec = self.objects[kind][int(rid)]
        rec.props.update({k: (None if v is None else str(v)) for k, v in props.items()})
        if companies is not None:
            rec.companies = list(companies)
        rec.modified = now_ms()

    def archive(self, kind: str, rid: str) -> None:
        rec = self.objects[kind][int(rid)]
        rec.archived_at = now_ms()

    def purge(self, kind: str, rid: str) -> None:
        """Delete for good (past the 90 days of 'archived'): in no list any more."""
        del self.objects[kind][int(rid)]
        self.order.pop(kind, None)

    def live_ids(self, kind: str) -> list[str]:
        return [str(i) for i, r in self.objects[kind].items() if r.archived_at is None]

    def expected(self, kind: str, columns: tuple[str, ...]) -> dict[str, dict[str, str | None]]:
        """The rows a correct sync stores: every live record, the asked columns."""
        rows = {}
        for rid, rec in self.objects[kind].items():
            if rec.archived_at is not None:
                continue
            props = self._props(kind, rid, rec)
            row: dict[str, str | None] = {"id": str(rid)}
            for column in columns[1:]:
                if column == "company_id":
                    row[column] = rec.companies[0] if rec.companies else None
                elif column == "company_ids":
                    ids = sorted(set(rec.companies), key=int)
                    row[column] = ";".join(ids) or None
                else:
                    row[column] = props.get(column)
            rows[str(rid)] = row
        return rows

    # -- the API -----------------------------------------------------------------------------
    def unauthorized(self) -> httpx.Response:
        return reply(401, {
            "status": "error", "message": "Authentication credentials not found.",
            "correlationId": str(uuid.uuid4()), "category": "INVALID_AUTHENTICATION",
        })  # fmt: skip

    def route(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        objects = r"/crm/v3/objects/(\w+)"
        if (m := re.fullmatch(objects, path)) and method == "GET" and m[1] in self.objects:
            return self._list(m[1], parse_qs(request.url.query.decode()))
        if (m := re.fullmatch(objects + "/search", path)) and m[1] in self.objects:
            return self._search(m[1], json.loads(request.content))
        if (m := re.fullmatch(objects + "/batch/read", path)) and m[1] in self.objects:
            return self._batch_read(m[1], json.loads(request.content))
        assoc = r"/crm/v4/associations/(\w+)/companies/batch/read"
        if (m := re.fullmatch(assoc, path)) and m[1] in self.objects:
            return self._associations(m[1], json.loads(request.content))
        return reply(404, {"status": "error", "category": "OBJECT_NOT_FOUND"})

    def _props(self, kind: str, rid: int, rec: Rec) -> dict[str, str | None]:
        return {
            **rec.props,
            "hs_object_id": str(rid),
            "createdate": iso_ms(rec.created),
            MODIFIED.get(kind, "hs_lastmodifieddate"): iso_ms(rec.modified),
        }

    def _value(self, kind: str, rid: int, rec: Rec, name: str) -> float:
        """A property as a number for filters and sorts (times in ms), without formatting it."""
        if name == "hs_object_id":
            return float(rid)
        if name == MODIFIED.get(kind, "hs_lastmodifieddate"):
            return float(rec.modified)
        if name == "createdate":
            return float(rec.created)
        return _number(rec.props.get(name))

    def _item(self, kind: str, rid: int, rec: Rec, wanted: list[str] | None) -> dict[str, Any]:
        props = self._props(kind, rid, rec)
        names = list(wanted) if wanted else list(DEFAULT_PROPS[kind])
        names += ["hs_object_id", "createdate", MODIFIED.get(kind, "hs_lastmodifieddate")]
        item: dict[str, Any] = {
            "id": str(rid),
            "properties": {n: props.get(n) for n in dict.fromkeys(names)},
            "createdAt": iso_ms(rec.created),
            "updatedAt": iso_ms(rec.modified),
            "archived": rec.archived_at is not None,
        }
        if rec.archived_at is not None:
            item["archivedAt"] = iso_ms(rec.archived_at)
        return item

    def _list(self, kind: str, query: dict[str, list[str]]) -> httpx.Response:
        limit = int(query.get("limit", ["10"])[0])
        if limit > 100:
            return reply(400, {"status": "error", "category": "VALIDATION_ERROR"})
        after = int(query.get("after", ["0"])[0])
        archived = query.get("archived", ["false"])[0] == "true"
        wanted = query["properties"][0].split(",") if "properties" in query else None
        assoc = query.get("associations", [""])[0]
        order = self.order.setdefault(kind, sorted(self.objects[kind]))
        ids = []  # the page and the first id after it, found from the 'after' cursor on
        for rid in order[bisect.bisect_left(order, after) :]:
            if (self.objects[kind][rid].archived_at is not None) == archived:
                ids.append(rid)
                if len(ids) > limit:
                    break
        page = ids[:limit]
        results = []
        for rid in page:
            rec = self.objects[kind][rid]
            item = self._item(kind, rid, rec, wanted)
            if assoc == "companies" and rec.companies:
                singular = kind.rstrip("s")
                links = [{"id": rec.companies[0], "type": f"{singular}_to_company"}]
                links += [{"id": c, "type": f"{singular}_to_company_unlabeled"}
                          for c in rec.companies]  # fmt: skip
                item["associations"] = {"companies": {"results": links}}
            results.append(item)
        answer: dict[str, Any] = {"results": results}
        if len(ids) > limit:
            nxt = str(ids[limit])
            answer["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return reply(200, answer)

    def _search(self, kind: str, body: dict[str, Any]) -> httpx.Response:
        now = self.clock()
        self.search_sent = [t for t in self.search_sent if now - t < 1.0]
        if self.rate is not None and len(self.search_sent) >= 5:
            self.refused_rate += 1
            return reply(429, {"status": "error", "category": "RATE_LIMITS"}, {"Retry-After": "1"})
        self.search_sent.append(now)
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
        if limit > 200 or after + limit > self.search_cap:
            return reply(400, {"status": "error", "category": "VALIDATION_ERROR",
                               "message": "Paging past 10,000 results is not supported"})  # fmt: skip
        matches = []
        for rid, rec in self.objects[kind].items():
            if rec.archived_at is None and _matches(
                lambda n, r=rid, c=rec: self._value(kind, r, c, n), body
            ):
                matches.append((rid, rec))
        for sort in reversed(body.get("sorts") or []):
            name, desc = sort["propertyName"], sort.get("direction") == "DESCENDING"
            matches.sort(key=lambda m, n=name: self._value(kind, *m, n), reverse=desc)
        page = matches[after : after + limit]
        answer: dict[str, Any] = {
            "total": len(matches),
            "results": [self._item(kind, rid, rec, body.get("properties")) for rid, rec in page],
        }
        if after + limit < len(matches):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return reply(200, answer)

    def _batch_read(self, kind: str, body: dict[str, Any]) -> httpx.Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return reply(400, {"status": "error", "category": "VALIDATION_ERROR"})
        results = []
        for entry in inputs:
            rec = self.objects[kind].get(int(entry["id"]))
            if rec is not None and rec.archived_at is None:
                results.append(self._item(kind, int(entry["id"]), rec, body.get("properties")))
        return reply(200, {"status": "COMPLETE", "results": results})

    def _associations(self, kind: str, body: dict[str, Any]) -> httpx.Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 1000:
            return reply(400, {"status": "error", "category": "VALIDATION_ERROR"})
        results, errors = [], []
        for entry in inputs:
            rec = self.objects[kind].get(int(entry["id"]))
            if rec is None or not rec.companies:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                               "context": {"fromObjectId": [entry["id"]]}})  # fmt: skip
                continue
            to = []
            for k, company in enumerate(dict.fromkeys(rec.companies)):
                types = [{"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}]
                if k == 0:
                    types.insert(0, {"category": "HUBSPOT_DEFINED", "typeId": PRIMARY[kind],
                                     "label": "Primary"})  # fmt: skip
                to.append({"toObjectId": int(company), "associationTypes": types})
            results.append({"from": {"id": entry["id"]}, "to": to})
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            answer |= {"numErrors": len(errors), "errors": errors}
        return reply(207 if errors else 200, answer)


def _number(value: str | None) -> float:
    if value is None:
        return float("-inf")
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000


def _matches(value: Any, body: dict[str, Any]) -> bool:
    groups = body.get("filterGroups") or [{"filters": []}]
    for group in groups:
        ok = True
        for f in group.get("filters") or []:
            have, want = value(f["propertyName"]), float(f["value"])
            op = f["operator"]
            ok &= {
                "GTE": have >= want, "GT": have > want, "LTE": have <= want,
                "LT": have < want, "EQ": have == want,
            }[op]  # fmt: skip
        if ok:
            return True
    return False
