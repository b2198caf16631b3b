"""What a sync fetches from one CRM object and how its table maps onto icpkit's tables.

An :class:`ObjectSpec` names the CRM object, the fields to fetch (never contact names, e-mails or
phones: icpkit needs job titles, not people), the icpkit table it feeds and the
``[sources.<table>]`` mapping written into icpkit.toml so `check`/`build`/`score` read the synced
Parquet like any export.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from icpkit.errors import ConfigError

# A CRM field or property name: goes into a SOQL statement or a JSON body, so nothing else.
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
# Fields that identify a person: never fetched, whatever the settings ask.
PERSONAL = frozenset(
    n.lower()
    for n in (
        "firstname", "lastname", "email", "phone", "mobilephone", "name", "FirstName",
        "LastName", "Email", "Phone", "MobilePhone", "HomePhone", "OtherPhone", "Fax",
        "MailingStreet", "address", "hs_email_domain", "hs_additional_emails", "fax",
    )
)  # fmt: skip


@dataclass(frozen=True)
class ObjectSpec:
    """One CRM object to sync into one icpkit table."""

    name: str  # the CRM's name: companies, deals / Account, Opportunity
    table: str  # icpkit's table: accounts, deals, contacts, notes
    fields: tuple[str, ...]  # properties / fields fetched (besides the id)
    modified: str  # the modification-time field incremental runs filter on
    columns: dict[str, str]  # canonical column → stored column, for icpkit.toml
    drop: tuple[str, ...] = ()  # stored columns that are not attributes (ids, sync times)
    associate: str | None = None  # HubSpot: the object whose primary id becomes company_id
    extra: tuple[str, ...] = field(default=())

    @property
    def stored(self) -> tuple[str, ...]:
        """Columns of the stored table, in order."""
        assoc = ("company_id", "company_ids") if self.associate else ()
        return ("id", *self.fields, *self.extra, *assoc)

    def source_entry(self, path: str) -> dict[str, Any]:
        """The ``[sources.<table>]`` entry reading this object's Parquet."""
        return {"path": path, "columns": dict(self.columns), "drop_columns": list(self.drop)}


Page = tuple[list[dict[str, Any]], list[str], Any, str]  # records, deleted ids, position, phase


class Fetcher(Protocol):
    """A CRM's passes: ``full`` lists every live record; ``incremental`` the ones modified in
    [lo, hi), then the ones deleted since lo. Each yields a :data:`Page` per API page and
    resumes from a position it yielded before."""

    def full(self, spec: ObjectSpec, position: Any) -> Iterator[Page]: ...

    def incremental(
        self, spec: ObjectSpec, lo: datetime, hi: datetime, position: Any, phase: str
    ) -> Iterator[Page]: ...


def with_extra(spec: ObjectSpec, extra: list[str], setting: str) -> ObjectSpec:
    """``spec`` with the extra fields a setting asks for (validated; personal fields refused)."""
    bad = [f for f in extra if not FIELD_NAME.match(f)]
    personal = [f for f in extra if f.lower() in PERSONAL]
    if bad or personal:
        parts = []
        if bad:
            parts.append(f"not field names: {', '.join(repr(b[:40]) for b in bad)}")
        if personal:
            parts.append(f"personal data, never synced: {', '.join(personal)}")
        raise ConfigError(f"[sync] {setting}.{spec.name}: " + "; ".join(parts))
    known = set(spec.fields) | {"id", "Id"}
    return ObjectSpec(
        spec.name, spec.table, spec.fields, spec.modified, spec.columns, spec.drop,
        spec.associate, tuple(dict.fromkeys(f for f in extra if f not in known)),
    )  # fmt: skip


def iso(moment: datetime) -> str:
    """A UTC time as ``2026-12-07T18:00:00Z`` (a cursor, a SOQL literal)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def as_text(value: Any) -> str | None:
    """A field value as stored: text, booleans as true/false, None as missing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return None  # a compound field (address, relationship) is not a column
    return str(value)
