"""The canonical CRM data model: table names, column names and types every source is mapped onto.

Only ``accounts`` is required. Extra columns of a source are kept and become attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import polars as pl

from icpkit.errors import Problem

TABLES = ("accounts", "deals", "subscriptions", "contacts", "notes", "signals")

# Canonical columns per table, with their polars type after normalisation.
# Columns marked in REQUIRED must be present after mapping; the others are optional.
SCHEMA: dict[str, dict[str, pl.DataType | type[pl.DataType]]] = {
    "accounts": {
        "account_id": pl.Utf8,
        "name": pl.Utf8,
        "domain": pl.Utf8,
        "industry": pl.Utf8,
        "employees": pl.Float64,
        "annual_revenue": pl.Float64,
        "country": pl.Utf8,  # ISO 3166-1 alpha-2
        "region": pl.Utf8,
        "founded_year": pl.Int64,
        "ownership": pl.Utf8,
        "funding_stage": pl.Utf8,
        "tech_stack": pl.List(pl.Utf8),
        "description": pl.Utf8,  # free text: what the company does (lookalike text similarity)
    },
    "deals": {
        "deal_id": pl.Utf8,
        "account_id": pl.Utf8,
        "created_at": pl.Date,
        "closed_at": pl.Date,
        "stage": pl.Utf8,  # 'won' | 'lost' | 'open'
        "amount": pl.Float64,
        "currency": pl.Utf8,
        "product": pl.Utf8,
        "source": pl.Utf8,
    },
    "subscriptions": {
        "account_id": pl.Utf8,
        "start": pl.Date,
        "end": pl.Date,  # null = still active
        "mrr": pl.Float64,
        "arr": pl.Float64,
    },
    "contacts": {
        "contact_id": pl.Utf8,
        "account_id": pl.Utf8,
        "deal_id": pl.Utf8,
        "name": pl.Utf8,  # PII: never in reports or logs
        "email": pl.Utf8,  # PII: never in reports or logs
        "title": pl.Utf8,
        "department": pl.Utf8,
        "seniority": pl.Utf8,
        "role_in_deal": pl.Utf8,
    },
    "notes": {
        "account_id": pl.Utf8,
        "date": pl.Date,
        "source": pl.Utf8,  # interview | survey | support | call
        "text": pl.Utf8,
        "score": pl.Float64,  # NPS / CSAT
    },
    "signals": {
        "account_id": pl.Utf8,
        "domain": pl.Utf8,
        "date": pl.Date,
        "type": pl.Utf8,  # funding | hiring | leadership_change | tech_adoption | web_visit
        "value": pl.Utf8,
    },
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "deals": ("account_id", "stage"),
    "subscriptions": ("account_id", "start"),
    "contacts": ("account_id",),
    "notes": ("account_id", "text"),
    "signals": ("date", "type"),
}

# What each optional table unlocks: said to the user when it is missing.
UNLOCKS: dict[str, str] = {
    "deals": "win rate, won revenue, ACV, sales cycle, won-vs-lost scoring and backtests",
    "subscriptions": "tenure, churn, realised LTV, expansion and churn-based disqualifiers",
    "contacts": "buying-committee personas (job titles of won-deal contacts)",
    "notes": "NPS/CSAT outcomes and pain-point themes",
    "signals": "buying signals and 'why now' triggers",
}

DEAL_STAGES = ("won", "lost", "open")

# Product usage (issue 28): one row per event, read lazily from an export (icpkit.usage.readers)
# and mapped onto accounts (icpkit.usage.mapping); never loaded whole, so not one of TABLES.
USAGE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "account_id": pl.Utf8,  # blank when no rule maps the user or group
    "group_id": pl.Utf8,  # the account/workspace id the tool recorded
    "user_id": pl.Utf8,  # may be an e-mail address: PII, never in reports or logs
    "timestamp": pl.Datetime("us"),  # naive UTC
    "event": pl.Utf8,
    "value": pl.Float64,
    "integration": pl.Utf8,
}
USAGE_UNLOCKS = (
    "behavioural traits (breadth, depth, time to value, integrations), usage surge/drop "
    "signals and product-qualified accounts"
)


@dataclass
class CrmData:
    """A loaded, normalised CRM: one polars frame per canonical table (None when absent).

    Every frame carries every ``SCHEMA`` column of its table, in ``SCHEMA`` order (absent ones as
    typed nulls), then the extra columns of the source (snake_case names; typed Float64, Date,
    Boolean, List(Utf8) for tags, or Utf8). Reference tables (sources that are not canonical
    tables) are not frames here: they appear in ``sources`` only.
    ``problems`` holds the warnings found while loading (fatal problems raise SchemaError).
    ``sources`` maps each table to the file or query it came from, for messages and fingerprints.
    ``usage`` holds the product events (``USAGE_SCHEMA``) as a lazy frame over the export, or None.
    """

    accounts: pl.DataFrame
    deals: pl.DataFrame | None = None
    subscriptions: pl.DataFrame | None = None
    contacts: pl.DataFrame | None = None
    notes: pl.DataFrame | None = None
    signals: pl.DataFrame | None = None
    usage: pl.LazyFrame | pl.DataFrame | None = None  # events in USAGE_SCHEMA (lazy when read)
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> pl.DataFrame | None:
        if name == "usage":
            raise KeyError("usage is lazy: use CrmData.usage")
        if name not in TABLES:
            raise KeyError(name)
        frame: pl.DataFrame | None = getattr(self, name)
        return frame

    def present(self) -> list[str]:
        """Names of the tables that were loaded."""
        return [t for t in TABLES if self.table(t) is not None]

    def missing(self) -> dict[str, str]:
        """Missing optional tables and what each would unlock."""
        return {t: UNLOCKS[t] for t in TABLES[1:] if self.table(t) is None}

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name in TABLES and getattr(self, f.name) is not None
        }
