"""Who a rep can reach at one account: the CRM's contacts counted by persona, never by person.

A rep needs to know "2 Finance directors (CFO, VP Finance), no IT lead yet", not who they are:
only job titles and counts leave this module, never a contact's name, e-mail or phone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from icpkit.personas.lexicon import Lexicon
from icpkit.personas.linking import classified_contacts

MAX_TITLES = 3
UNCLASSIFIED = "other roles"


@dataclass(frozen=True)
class ContactGroup:
    """The contacts of one persona at one account: how many, and their most common titles."""

    persona: str
    count: int
    titles: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def contacts_by_persona(
    contacts: pl.DataFrame, lexicon: Lexicon | None = None, min_confidence: float = 0.5
) -> list[ContactGroup]:
    """The contacts of one account grouped by persona (function and seniority band), most first;
    contacts whose title reads as no function are counted under "other roles", last.

    Parameters
    ----------
    contacts
        The account's contacts (a ``title`` column, or ``seniority`` and ``department``).
    """
    if contacts.height == 0:
        return []
    people = classified_contacts(contacts, lexicon, min_confidence)
    titles = _titles(contacts)
    frame = people.select(
        persona=pl.when(pl.col("function").is_null())
        .then(pl.lit(UNCLASSIFIED))
        .otherwise(pl.concat_str(["function", "band"], separator=" ", ignore_nulls=True)),
    ).with_columns(title=titles)
    groups = []
    for (persona,), rows in frame.group_by("persona", maintain_order=True):
        common = (
            rows.filter(pl.col("title").is_not_null() & (pl.col("title") != ""))
            .group_by("title")
            .len()
            .sort(["len", "title"], descending=[True, False])["title"]
            .head(MAX_TITLES)
            .to_list()
        )
        groups.append(ContactGroup(str(persona), rows.height, [str(t) for t in common]))
    return sorted(groups, key=lambda g: (g.persona == UNCLASSIFIED, -g.count, g.persona))


def _titles(contacts: pl.DataFrame) -> pl.Series:
    """The title shown for each contact: its job title, else its seniority and department."""
    if "title" in contacts.columns and contacts["title"].null_count() < contacts.height:
        return contacts["title"].cast(pl.Utf8).str.strip_chars()
    parts = [c for c in ("seniority", "department") if c in contacts.columns]
    if not parts:
        return pl.Series("title", [None] * contacts.height, dtype=pl.Utf8)
    return contacts.select(
        pl.concat_str([pl.col(c).cast(pl.Utf8) for c in parts], separator=" ", ignore_nulls=True)
    ).to_series()
