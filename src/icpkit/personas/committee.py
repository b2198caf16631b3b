"""The buying committee: its size on won versus lost deals, win rate by size, roles and buyers."""

from __future__ import annotations

import polars as pl

from icpkit.personas.linking import Committees
from icpkit.profile import BuyingCommittee, CommitteeSizeRate, RoleShare
from icpkit.stats import wilson_interval

# Committee sizes shown in the win-rate curve: (label, smallest, largest).
SIZE_BUCKETS = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3", 3, 3),
    ("4", 4, 4),
    ("5", 5, 5),
    ("6-7", 6, 7),
    ("8-10", 8, 10),
    ("11+", 11, 10**9),
)
ECONOMIC_BUYER = {"economic_buyer", "economic buyer", "decision_maker", "decision maker",
                  "budget_holder", "budget holder"}  # fmt: skip
TOP_ROLES = 8


def buying_committee(committees: Committees) -> BuyingCommittee:
    """Committee sizes, the win-rate curve by size, roles and the economic buyer's persona."""
    deals = committees.deals
    won, lost = deals.filter(pl.col("won")), deals.filter(~pl.col("won"))
    return BuyingCommittee(
        median_contacts_won=_median(won["n_contacts"]),
        median_contacts_lost=_median(lost["n_contacts"]),
        median_functions_won=_median(won["n_functions"]),
        median_functions_lost=_median(lost["n_functions"]),
        by_size=_by_size(deals),
        roles=_roles(committees),
        economic_buyer=_buyer_personas(committees),
        first_contact=_first_contacts(committees),
    )


def _median(values: pl.Series) -> float | None:
    return None if values.is_empty() else float(values.median())  # type: ignore[arg-type]


def _by_size(deals: pl.DataFrame) -> list[CommitteeSizeRate]:
    out = []
    for label, low, high in SIZE_BUCKETS:
        bucket = deals.filter(pl.col("n_contacts").is_between(low, high))
        if bucket.height == 0:
            continue
        k = int(bucket["won"].sum())
        lo, hi = wilson_interval(k, bucket.height)
        out.append(
            CommitteeSizeRate(
                size=label,
                deals=bucket.height,
                won=k,
                win_rate=k / bucket.height,
                ci=(lo or 0.0, hi or 1.0),
            )
        )
    return out


def _shares(per_unit: pl.DataFrame, deals: pl.DataFrame, name: str) -> list[RoleShare]:
    """Share of won and of lost deals on which each ``name`` value is present (``unit`` rows)."""
    present = per_unit.select("unit", name).unique().join(deals.select("unit", "won"), on="unit")
    n_won = int(deals["won"].sum())
    n_lost = deals.height - n_won
    counts = present.group_by(name).agg(
        won=pl.col("won").sum(), lost=(~pl.col("won")).sum(), n=pl.len()
    )
    counts = counts.sort(["n", name], descending=[True, False]).head(TOP_ROLES)
    return [
        RoleShare(
            name=str(row[name]),
            share_won=row["won"] / n_won if n_won else 0.0,
            share_lost=row["lost"] / n_lost if n_lost else 0.0,
            deals_won=int(row["won"]),
            deals_lost=int(row["lost"]),
        )
        for row in counts.iter_rows(named=True)
    ]


def _roles(committees: Committees) -> list[RoleShare]:
    contacts = committees.contacts
    if "role_in_deal" not in contacts.columns:
        return []
    roles = contacts.filter(pl.col("role_in_deal").is_not_null()).with_columns(
        pl.col("role_in_deal").cast(pl.Utf8).str.strip_chars().str.to_lowercase()
    )
    return _shares(roles, committees.deals, "role_in_deal")


def _with_persona(contacts: pl.DataFrame) -> pl.DataFrame:
    return contacts.filter(pl.col("function").is_not_null()).with_columns(
        persona=pl.when(pl.col("band").is_null())
        .then(pl.col("function"))
        .otherwise(pl.concat_str("function", "band", separator=" "))
    )


def _buyer_personas(committees: Committees) -> list[RoleShare]:
    contacts = committees.contacts
    if "role_in_deal" not in contacts.columns:
        return []
    role = pl.col("role_in_deal").cast(pl.Utf8).str.strip_chars().str.to_lowercase()
    buyers = contacts.filter(role.is_in(list(ECONOMIC_BUYER)))
    return _shares(_with_persona(buyers), committees.deals, "persona") if buyers.height else []


def _first_contacts(committees: Committees) -> list[RoleShare]:
    contacts = committees.contacts
    if (
        "created_at" not in contacts.columns
        or contacts["created_at"].null_count() == contacts.height
    ):
        return []
    dated = contacts.filter(pl.col("created_at").is_not_null())
    first = dated.sort("created_at").unique("unit", keep="first")
    return _shares(_with_persona(first), committees.deals, "persona")
