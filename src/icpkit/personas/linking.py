"""Contacts → buying committees: classify titles, link contacts to closed deals, clean up.

Contacts are linked by ``deal_id`` when they carry one; when none does, every closed deal of an
account counts the account's contacts (said in the notes). Problems in the contacts table never
stop the analysis: each becomes a counted warning (no contact, name or title is ever echoed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from icpkit.config import PersonasConfig
from icpkit.errors import InsufficientDataError
from icpkit.personas.lexicon import FUNCTIONS, UNKNOWN, Lexicon
from icpkit.personas.titles import classify_titles

BAND_OF = {
    "C-level": "director+",
    "VP": "director+",
    "Director": "director+",
    "Manager": "manager",
    "Individual contributor": "individual contributor",
}
BANDS = ("director+", "manager", "individual contributor")
ANY = "any"
# Every persona: each function at any level, then each function × band.
PERSONAS: tuple[tuple[str, str], ...] = (
    *((f, ANY) for f in FUNCTIONS),
    *((f, b) for f in FUNCTIONS for b in BANDS),
)
UNSCORED = "Unscored"


def persona_name(function: str, band: str) -> str:
    """'Finance director+', 'Sales' (any level)."""
    return function if band == ANY else f"{function} {band}"


@dataclass(frozen=True)
class Committees:
    """Closed deals with their buying committees, ready for the persona and committee statistics.

    ``deals`` has one row per analysed closed deal: ``unit`` (row of ``present``), ``won``,
    ``tier``, ``n_contacts``, ``n_functions``. ``contacts`` has one row per used contact with its
    ``unit``, ``function``, ``band`` and the optional ``role_in_deal`` / ``created_at``.
    ``counts[unit, k]`` is how many contacts of persona ``PERSONAS[k]`` are on that committee.
    """

    link: str
    deals: pl.DataFrame
    contacts: pl.DataFrame
    counts: np.ndarray
    n_contacts: int
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _titles_of(contacts: pl.DataFrame) -> pl.Series:
    """The title column, or seniority + department words when a CRM has those instead."""
    if "title" in contacts.columns and contacts["title"].null_count() < contacts.height:
        return contacts["title"].cast(pl.Utf8)
    parts = [c for c in ("seniority", "department") if c in contacts.columns]
    if not parts:
        raise InsufficientDataError(
            "contacts: personas need a job title per contact (column 'title'; or 'seniority' "
            f"and 'department'); found columns {[c for c in contacts.columns][:30]}"
        )
    return contacts.select(
        pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("") for c in parts], separator=" ")
    ).to_series()


def classified_contacts(
    contacts: pl.DataFrame, lexicon: Lexicon | None, min_confidence: float
) -> pl.DataFrame:
    """The contacts' keys with ``function`` and ``band`` (None when unknown); no PII columns."""
    readings = classify_titles(_titles_of(contacts), lexicon=lexicon, min_confidence=min_confidence)
    keep = [
        c
        for c in ("contact_id", "account_id", "deal_id", "role_in_deal", "created_at")
        if c in contacts.columns
    ]
    return contacts.select(keep).with_columns(
        function=pl.when(readings["function"] != UNKNOWN).then(readings["function"]),
        band=readings["seniority"].replace_strict(BAND_OF, default=None),
    )


def link_committees(
    contacts: pl.DataFrame,
    deals: pl.DataFrame,
    tiers: pl.DataFrame | None,
    config: PersonasConfig,
    lexicon: Lexicon | None = None,
) -> Committees:
    """Classify, link and clean: the committees of every closed deal that has contacts."""
    if "stage" not in deals.columns:
        raise InsufficientDataError("deals: personas need a stage column (won / lost / open)")
    closed = deals.filter(pl.col("stage").is_in(["won", "lost"]))
    if closed.height == 0:
        raise InsufficientDataError("deals: personas need closed (won or lost) deals; found none")
    people = classified_contacts(contacts, lexicon, config.min_confidence)
    warnings: list[str] = []
    has_deal = "deal_id" in people.columns and "deal_id" in closed.columns
    linked_by_deal = has_deal and people["deal_id"].is_in(deals["deal_id"].implode()).any()
    link = "deal" if linked_by_deal else "account"
    key = "deal_id" if link == "deal" else "account_id"
    if "account_id" not in people.columns:
        people = people.with_columns(account_id=pl.lit(None, pl.Utf8))
    orphans = people.filter(
        pl.col("account_id").is_null()
        & (pl.col("deal_id").is_null() if "deal_id" in people.columns else pl.lit(True))
    ).height
    if orphans:
        warnings.append(
            f"{orphans:,} contacts have neither a deal nor an account and were left out"
        )
    if link == "deal":
        unlinked = people.filter(pl.col("deal_id").is_null()).height - orphans
        if unlinked:
            warnings.append(
                f"{unlinked:,} contacts have no deal_id and were left out of the deal-level analysis"
            )
        unknown = people.filter(
            pl.col("deal_id").is_not_null() & ~pl.col("deal_id").is_in(deals["deal_id"].implode())
        ).height
        if unknown:
            warnings.append(f"{unknown:,} contacts name a deal_id that is not in the deals table")
    people = people.filter(pl.col(key).is_not_null())
    people, duplicates = _deduplicate(people, key)
    if duplicates:
        warnings.append(
            f"{duplicates:,} duplicate contacts (same contact on the same {key[:-3]}) were counted once"
        )
    return _committees(people, closed, tiers, key, link, contacts.height, config, warnings)


def _deduplicate(people: pl.DataFrame, key: str) -> tuple[pl.DataFrame, int]:
    if "contact_id" not in people.columns:
        return people, 0
    ided = people.filter(pl.col("contact_id").is_not_null())
    kept = pl.concat(
        [ided.unique([key, "contact_id"], keep="first", maintain_order=True),
         people.filter(pl.col("contact_id").is_null())]
    )  # fmt: skip
    return kept, people.height - kept.height


def _committees(
    people: pl.DataFrame,
    closed: pl.DataFrame,
    tiers: pl.DataFrame | None,
    key: str,
    link: str,
    n_contacts: int,
    config: PersonasConfig,
    warnings: list[str],
) -> Committees:
    sizes = people.group_by(key).agg(
        n_contacts=pl.len(), n_functions=pl.col("function").drop_nulls().n_unique()
    )
    huge = sizes.filter(pl.col("n_contacts") > config.max_committee)
    if huge.height:
        largest = int(huge["n_contacts"].to_numpy().max())
        warnings.append(
            f"{_count(huge.height, key[:-3])} {'has' if huge.height == 1 else 'have'} more than "
            f"{config.max_committee} contacts (largest {largest:,}; "
            "personas.max_committee) and were left out as likely bulk imports"
        )
        sizes = sizes.filter(pl.col("n_contacts") <= config.max_committee)
    sizes = sizes.with_row_index("unit")
    deal_cols = ["account_id", "stage"] + (["deal_id"] if "deal_id" in closed.columns else [])
    deals = closed.select(deal_cols).join(sizes, on=key, how="inner")
    missing = closed.height - deals.height
    notes = [_link_note(link)]
    if missing:
        notes.append(
            f"{missing:,} of {closed.height:,} closed deals have no usable contacts and were left out"
        )
    if tiers is not None:
        deals = deals.join(
            tiers.select("account_id", "tier").unique("account_id"), on="account_id", how="left"
        )
    else:
        deals = deals.with_columns(tier=pl.lit(None, pl.Utf8))
    deals = deals.with_columns(
        won=pl.col("stage") == "won", tier=pl.col("tier").cast(pl.Utf8).fill_null(UNSCORED)
    ).drop("stage")
    used = people.join(sizes.select(key, "unit"), on=key, how="inner")
    return Committees(
        link=link,
        deals=deals,
        contacts=used,
        counts=_persona_counts(used, sizes.height),
        n_contacts=n_contacts,
        warnings=warnings,
        notes=notes,
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _link_note(link: str) -> str:
    if link == "deal":
        return "Contacts are linked to deals by deal_id."
    return (
        "Contacts carry no deal_id, so they are linked at account level: every closed deal of "
        "an account counts all of the account's contacts, which blurs who was on which deal."
    )


def _persona_counts(contacts: pl.DataFrame, n_units: int) -> np.ndarray:
    """counts[unit, k]: contacts of persona k (function alone, or function × band) on the unit."""
    index = {p: k for k, p in enumerate(PERSONAS)}
    known = contacts.filter(pl.col("function").is_not_null())
    counts = np.zeros((n_units, len(PERSONAS)), dtype=np.int32)
    f_codes = known["function"].replace_strict({f: index[(f, ANY)] for f in FUNCTIONS})
    np.add.at(counts, (known["unit"].to_numpy(), f_codes.to_numpy()), 1)
    banded = known.filter(pl.col("band").is_not_null())
    pairs = banded.select(pl.concat_str("function", "band", separator="|")).to_series()
    lookup = {f"{f}|{b}": index[(f, b)] for f in FUNCTIONS for b in BANDS}
    np.add.at(counts, (banded["unit"].to_numpy(), pairs.replace_strict(lookup).to_numpy()), 1)
    return counts
