"""Fill a fake CRM with the seeded synthetic CRM (icpkit.datasets), modified long ago."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fakes.hubspot import FakeHubSpot
from fakes.salesforce import FakeSalesforce

OLD = 1_700_000_000_000  # 2023-11-14: long before any cursor a test makes
HS_STAGE = {"won": "closedwon", "lost": "closedlost", "open": "appointmentscheduled"}
SF_STAGE = {"won": "Closed Won", "lost": "Closed Lost", "open": "Prospecting"}


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _ms(value: date | None) -> int | None:
    if value is None:
        return None
    return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000)


def load_hubspot(fake: FakeHubSpot, crm: Any, notes: bool = False) -> dict[str, str]:
    """Companies, deals (with their company), contacts (job titles) and optionally notes;
    returns account_id → HubSpot company id."""
    ids: dict[str, str] = {}
    for i, a in enumerate(crm.accounts.iter_rows(named=True)):
        ids[a["account_id"]] = fake.add("companies", {
            "name": a["name"], "domain": a["domain"], "industry": a["industry"],
            "numberofemployees": a["employees"], "annualrevenue": a["annual_revenue"],
            "country": a["country"], "founded_year": a["founded_year"],
            "web_technologies": ";".join(a["tech_stack"] or []) or None,
        }, modified=OLD + i)  # fmt: skip
    for i, d in enumerate(crm.deals.iter_rows(named=True)):
        fake.add("deals", {
            "dealstage": HS_STAGE[d["stage"]], "amount": d["amount"],
            "closedate": _day(d["closed_at"]),
            "hs_is_closed_won": str(d["stage"] == "won").lower(),
            "hs_is_closed": str(d["stage"] != "open").lower(), "pipeline": "default",
            "deal_currency_code": d["currency"], "hs_analytics_source": d["source"],
        }, companies=[ids[d["account_id"]]], modified=OLD + i,
           created=_ms(d["created_at"]))  # fmt: skip
    for i, c in enumerate(crm.contacts.iter_rows(named=True)):
        fake.add("contacts", {"jobtitle": c["title"], "firstname": "x", "email": "x@y.z"},
                 companies=[ids[c["account_id"]]], modified=OLD + i)  # fmt: skip
    if notes and crm.notes is not None:
        for i, n in enumerate(crm.notes.iter_rows(named=True)):
            fake.add("notes", {"hs_note_body": n["text"], "hs_timestamp": _day(n["date"])},
                     companies=[ids[n["account_id"]]], modified=OLD + i)  # fmt: skip
    return ids


def load_salesforce(fake: FakeSalesforce, crm: Any) -> dict[str, str]:
    ids: dict[str, str] = {}
    for i, a in enumerate(crm.accounts.iter_rows(named=True)):
        ids[a["account_id"]] = fake.add("Account", {
            "Name": a["name"], "Industry": a["industry"], "NumberOfEmployees": a["employees"],
            "AnnualRevenue": a["annual_revenue"], "BillingCountry": a["country"],
            "Website": a["domain"], "Ownership": a["ownership"], "Phone": "+1 555 0100",
        }, modified=OLD + i)  # fmt: skip
    for i, d in enumerate(crm.deals.iter_rows(named=True)):
        fake.add("Opportunity", {
            "AccountId": ids[d["account_id"]], "StageName": SF_STAGE[d["stage"]],
            "IsWon": d["stage"] == "won", "IsClosed": d["stage"] != "open",
            "Amount": d["amount"], "CloseDate": _day(d["closed_at"]), "LeadSource": d["source"],
        }, modified=OLD + i, created=_ms(d["created_at"]))  # fmt: skip
    for i, c in enumerate(crm.contacts.iter_rows(named=True)):
        fake.add("Contact", {"AccountId": ids[c["account_id"]], "Title": c["title"],
                             "Email": "x@y.z", "LastName": "x"}, modified=OLD + i)  # fmt: skip
    return ids
