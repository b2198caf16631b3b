"""Salesforce REST: what is fetched and how.

- **Full pass**: ``GET /services/data/vXX.X/query?q=SELECT … FROM Account ORDER BY Id``, then
  each ``nextRecordsUrl`` until ``done``. The position kept after a page is the last ``Id``: a
  resumed pass asks again with ``WHERE Id > '…'`` rather than reusing a query locator, which
  Salesforce expires after about 15 minutes of disuse.
- **Incremental pass**: the same query with ``SystemModstamp >= lo AND SystemModstamp < hi``,
  then ``queryAll`` (which also sees the recycle bin) for ``IsDeleted = true AND SystemModstamp
  >= lo``: those are deletes. Salesforce keeps deleted records 15 days, so a cursor older than
  that makes a full pass instead (see ``MAX_GAP_DAYS`` in :mod:`icpkit.sync.core`).
- An opportunity's account and a contact's account are fields (``AccountId``), so no
  association is ever fetched separately, or dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from icpkit.sync.client import Api, SyncError
from icpkit.sync.spec import ObjectSpec, Page, as_text, iso

ACCOUNT = ObjectSpec(
    name="Account",
    table="accounts",
    fields=("Name", "Industry", "NumberOfEmployees", "AnnualRevenue", "BillingCountry",
            "Website", "Ownership", "CreatedDate", "SystemModstamp"),
    modified="SystemModstamp",
    columns={"account_id": "id", "name": "Name", "industry": "Industry",
             "employees": "NumberOfEmployees", "annual_revenue": "AnnualRevenue",
             "country": "BillingCountry", "domain": "Website", "ownership": "Ownership"},
    drop=("CreatedDate", "SystemModstamp"),
)  # fmt: skip
OPPORTUNITY = ObjectSpec(
    name="Opportunity",
    table="deals",
    fields=("AccountId", "StageName", "IsWon", "IsClosed", "Amount", "CreatedDate",
            "CloseDate", "LeadSource", "SystemModstamp"),
    modified="SystemModstamp",
    columns={"deal_id": "id", "account_id": "AccountId", "stage": "StageName",
             "is_won": "IsWon", "is_closed": "IsClosed", "amount": "Amount",
             "created_at": "CreatedDate", "closed_at": "CloseDate", "source": "LeadSource"},
    drop=("SystemModstamp",),
)  # fmt: skip
CONTACT = ObjectSpec(
    name="Contact",
    table="contacts",
    fields=("AccountId", "Title", "Department", "SystemModstamp"),
    modified="SystemModstamp",
    columns={"contact_id": "id", "account_id": "AccountId", "title": "Title",
             "department": "Department"},
    drop=("SystemModstamp",),
)  # fmt: skip
NOTE = ObjectSpec(
    name="Note",
    table="notes",
    fields=("ParentId", "Body", "CreatedDate", "SystemModstamp"),
    modified="SystemModstamp",
    columns={"account_id": "ParentId", "date": "CreatedDate", "text": "Body"},
    drop=("id", "SystemModstamp"),
)  # fmt: skip
OBJECTS = (ACCOUNT, OPPORTUNITY, CONTACT, NOTE)


class Salesforce:
    """Fetches sObjects through ``api`` (base: the org's instance URL)."""

    def __init__(self, api: Api, version: str) -> None:
        self.api = api
        self.root = f"/services/data/{version}"

    def _soql(self, spec: ObjectSpec, conditions: list[str], last_id: str | None) -> str:
        fields = ", ".join(("Id", *spec.fields, *spec.extra))
        where = list(conditions)
        if last_id is not None:
            where.append(f"Id > '{_quoted(last_id)}'")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return f"SELECT {fields} FROM {spec.name}{clause} ORDER BY Id"

    def _pages(
        self, spec: ObjectSpec, resource: str, soql: str, last_id: str | None, deletes: bool
    ) -> Iterator[tuple[list[dict[str, Any]], list[str], str | None]]:
        answer = self.api.get(f"{self.root}/{resource}", {"q": soql})
        while True:
            records = answer.get("records") if isinstance(answer, dict) else None
            if not isinstance(records, list) or not all(
                isinstance(r, dict) and "Id" in r for r in records
            ):
                raise SyncError(f"Salesforce answered {resource} without records with an Id")
            if records:
                last_id = str(records[-1]["Id"])
            if deletes:
                yield [], [str(r["Id"]) for r in records], last_id
            else:
                yield [_row(spec, r) for r in records], [], last_id
            nxt = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not nxt:
                return
            if not str(nxt).startswith("/services/data/"):
                raise SyncError("Salesforce answered a nextRecordsUrl outside /services/data/")
            answer = self.api.get(str(nxt))

    def full(self, spec: ObjectSpec, position: Any) -> Iterator[Page]:
        """Every live record ordered by Id; ``position`` is the last Id staged."""
        soql = self._soql(spec, [], position)
        for rows, _, last in self._pages(spec, "query", soql, position, False):
            yield rows, [], last, "records"

    def incremental(
        self, spec: ObjectSpec, lo: datetime, hi: datetime, position: Any, phase: str
    ) -> Iterator[Page]:
        """Records modified in [lo, hi), then the deleted ones (queryAll) as deletes."""
        if phase == "records":
            changed = [f"{spec.modified} >= {iso(lo)}", f"{spec.modified} < {iso(hi)}"]
            soql = self._soql(spec, changed, position)
            for rows, _, last in self._pages(spec, "query", soql, position, False):
                yield rows, [], last, "records"
            position = None
        deleted = self._soql_ids(spec, ["IsDeleted = true", f"SystemModstamp >= {iso(lo)}"],
                                 position)  # fmt: skip
        for _, ids, last in self._pages(spec, "queryAll", deleted, position, True):
            yield [], ids, last, "deletes"

    def _soql_ids(self, spec: ObjectSpec, conditions: list[str], last_id: str | None) -> str:
        where = list(conditions)
        if last_id is not None:
            where.append(f"Id > '{_quoted(last_id)}'")
        return f"SELECT Id FROM {spec.name} WHERE {' AND '.join(where)} ORDER BY Id"


def _quoted(value: str) -> str:
    """A value inside a SOQL string literal ('…'), escaped."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _row(spec: ObjectSpec, record: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, str | None] = {"id": str(record["Id"])}
    for name in (*spec.fields, *spec.extra):
        row[name] = as_text(record.get(name))
    return row
