"""A fake Salesforce REST API following the documented shapes.

- ``GET /services/data/vXX.X/query?q=SOQL`` and ``/queryAll`` (which also returns deleted
  records, ``IsDeleted = true``): ``{"totalSize", "done", "nextRecordsUrl", "records"}``, 2,000
  records a batch; ``nextRecordsUrl`` (``…/query/01g…-2000``) pages a snapshot of the result.
- Records carry ``attributes {type, url}``; numbers, booleans and null as JSON types; datetimes
  as ``2024-01-02T03:04:05.000+0000``, dates as ``2024-01-02``.
- The SOQL understood: ``SELECT f, … FROM Obj [WHERE a op v AND …] [ORDER BY Id]`` with
  ``= != < <= > >=``, quoted strings, true/false, datetime literals; an unknown field is 400
  ``INVALID_FIELD``.
- 401 ``INVALID_SESSION_ID`` for a wrong token; 403 ``REQUEST_LIMIT_EXCEEDED`` when
  ``limit_exceeded`` is set.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

from fakes.base import FakeCrm, reply

BATCH = 2000
PREFIX = {"Account": "001", "Opportunity": "006", "Contact": "003", "Note": "002"}
FIELDS = {
    "Account": ("Name", "Industry", "NumberOfEmployees", "AnnualRevenue", "BillingCountry",
                "Website", "Ownership", "Phone", "Rating"),
    "Opportunity": ("AccountId", "StageName", "IsWon", "IsClosed", "Amount", "CloseDate",
                    "LeadSource", "Name"),
    "Contact": ("AccountId", "Title", "Department", "Email", "FirstName", "LastName"),
    "Note": ("ParentId", "Body", "Title"),
}  # fmt: skip
SYSTEM = ("Id", "IsDeleted", "CreatedDate", "SystemModstamp")


def sf_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}+0000"
    )


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Rec:
    fields: dict[str, Any]
    created: int
    modified: int
    deleted: bool = False


class FakeSalesforce(FakeCrm):
    def __init__(self, token: str = "sf-test-token", version: str = "v59.0", **kw: Any):
        super().__init__(token, **kw)
        self.version = version
        self.objects: dict[str, dict[str, Rec]] = {k: {} for k in FIELDS}
        self.counter = itertools.count(1)
        self.locators: dict[str, list[dict[str, Any]]] = {}
        self.limit_exceeded = False

    # -- the test's side ---------------------------------------------------------------------
    def add(
        self, obj: str, fields: dict[str, Any], *, modified: int | None = None,
        created: int | None = None,
    ) -> str:  # fmt: skip
        rid = f"{PREFIX[obj]}{next(self.counter):012d}AAA"
        when = modified if modified is not None else now_ms()
        self.objects[obj][rid] = Rec(dict(fields), created if created is not None else when, when)
        return rid

    def edit(self, obj: str, rid: str, **fields: Any) -> None:
        rec = self.objects[obj][rid]
        rec.fields.update(fields)
        rec.modified = now_ms()

    def delete(self, obj: str, rid: str) -> None:
        rec = self.objects[obj][rid]
        rec.deleted = True
        rec.modified = now_ms()

    def expected(self, obj: str, columns: tuple[str, ...]) -> dict[str, dict[str, str | None]]:
        rows = {}
        for rid, rec in self.objects[obj].items():
            if rec.deleted:
                continue
            record = self._record(obj, rid, rec, columns[1:])
            rows[rid] = {"id": rid, **{c: _text(record.get(c)) for c in columns[1:]}}
        return rows

    # -- the API -----------------------------------------------------------------------------
    def unauthorized(self) -> httpx.Response:
        return reply(
            401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        )

    def route(self, request: httpx.Request) -> httpx.Response:
        if self.limit_exceeded:
            return reply(403, [{"message": "TotalRequests Limit exceeded.",
                                "errorCode": "REQUEST_LIMIT_EXCEEDED"}])  # fmt: skip
        root = f"/services/data/{self.version}"
        path = request.url.path
        if request.method != "GET":
            return reply(405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": "GET only"}])
        if path in (f"{root}/query", f"{root}/queryAll"):
            soql = parse_qs(request.url.query.decode()).get("q", [""])[0]
            return self._query(soql, include_deleted=path.endswith("queryAll"))
        if m := re.fullmatch(re.escape(root) + r"/query/(01g\w+)-(\d+)", path):
            return self._page(m[1], int(m[2]))
        return reply(
            404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
        )

    def _record(
        self, obj: str, rid: str, rec: Rec, names: tuple[str, ...] | list[str]
    ) -> dict[str, Any]:
        values = {**rec.fields, "Id": rid, "IsDeleted": rec.deleted,
                  "CreatedDate": sf_time(rec.created), "SystemModstamp": sf_time(rec.modified)}  # fmt: skip
        record: dict[str, Any] = {"attributes": {"type": obj,
                                                 "url": f"/services/data/{self.version}/sobjects/{obj}/{rid}"}}  # fmt: skip
        for name in names:
            record[name] = values.get(name)
        return record

    def _query(self, soql: str, *, include_deleted: bool) -> httpx.Response:
        m = re.fullmatch(
            r"SELECT (.+?) FROM (\w+)(?: WHERE (.+?))?(?: ORDER BY (\w+))?", soql.strip()
        )
        if not m or m[2] not in FIELDS:
            return reply(400, [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token"}])
        names = [n.strip() for n in m[1].split(",")]
        obj = m[2]
        known = set(FIELDS[obj]) | set(SYSTEM)
        unknown = [n for n in names if n not in known]
        conditions = _conditions(m[3] or "")
        if unknown or conditions is None or any(c[0] not in known for c in conditions):
            return reply(400, [{"errorCode": "INVALID_FIELD", "message": "No such column"}])
        rows = []
        for rid, rec in self.objects[obj].items():
            if rec.deleted and not include_deleted:
                continue
            values = {**rec.fields, "Id": rid, "IsDeleted": rec.deleted,
                      "CreatedDate": _moment(rec.created), "SystemModstamp": _moment(rec.modified)}  # fmt: skip
            if all(_holds(values.get(f), op, v) for f, op, v in conditions):
                rows.append(self._record(obj, rid, rec, names))
        if m[4]:
            rows.sort(key=lambda r, k=m[4]: r[k] if r.get(k) is not None else "")
        locator = f"01g{next(self.counter):012d}"
        self.locators[locator] = rows
        return self._page(locator, 0)

    def _page(self, locator: str, offset: int) -> httpx.Response:
        rows = self.locators.get(locator)
        if rows is None:
            return reply(
                400, [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]
            )
        batch = rows[offset : offset + BATCH]
        done = offset + BATCH >= len(rows)
        answer: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": batch}
        if not done:
            answer["nextRecordsUrl"] = (
                f"/services/data/{self.version}/query/{locator}-{offset + BATCH}"
            )
        return reply(200, answer)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _conditions(where: str) -> list[tuple[str, str, Any]] | None:
    found = []
    for part in [p for p in re.split(r" AND ", where) if p.strip()]:
        m = re.fullmatch(r"\s*(\w+)\s*(>=|<=|!=|=|>|<)\s*(.+?)\s*", part)
        if not m:
            return None
        raw = m[3]
        value: Any
        if raw.startswith("'") and raw.endswith("'"):
            value = raw[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        elif raw in ("true", "false"):
            value = raw == "true"
        elif re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", raw):
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        else:
            return None
        found.append((m[1], m[2], value))
    return found


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _holds(have: Any, op: str, want: Any) -> bool:
    if isinstance(want, datetime) and isinstance(have, str):
        have = datetime.strptime(have, "%Y-%m-%dT%H:%M:%S.%f%z")
    if have is None:
        return op == "!="
    return {
        "=": have == want, "!=": have != want, "<": have < want, "<=": have <= want,
        ">": have > want, ">=": have >= want,
    }[op]  # fmt: skip
