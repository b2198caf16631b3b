"""Column mapping: presets for real CRM exports and the mapping of a file onto canonical columns.

Precedence for each canonical column: the ``columns`` table of the source in icpkit.toml, then the
workspace preset, then a file column with the same name (ignoring case, spaces and punctuation).
One file column may feed several canonical columns (Maven's ``account`` is both id and name).
Unmapped columns are kept as extra attributes under a snake_case name ("Lifecycle Stage" →
``lifecycle_stage``) so that rules read cleanly and parse back.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import polars as pl

from icpkit.config import SourceConfig
from icpkit.data.model import REQUIRED, SCHEMA
from icpkit.data.similar import closest
from icpkit.errors import Problem

# Helper columns a source may map besides SCHEMA: consumed by normalisation, then dropped.
FLAG_COLUMNS: dict[str, tuple[str, ...]] = {"deals": ("is_won", "is_closed")}
ROW = "__row"  # 1-based data row of the file, kept until validation is done


@dataclass(frozen=True)
class Preset:
    """How one CRM's export names the canonical columns.

    ``columns``: table → canonical column → candidate file column names (first present wins).
    ``scale``: table → file column → factor (Maven revenue is in millions of USD).
    ``file_names``: table → typical file-name stems, for ``icpkit init``.
    """

    name: str
    description: str
    columns: dict[str, dict[str, tuple[str, ...]]]
    scale: dict[str, dict[str, float]] = field(default_factory=dict)
    file_names: dict[str, tuple[str, ...]] = field(default_factory=dict)


HUBSPOT = Preset(
    name="hubspot",
    description="HubSpot CRM exports (companies, deals, contacts)",
    columns={
        "accounts": {
            "account_id": ("Record ID", "Company ID", "Company Record ID"),
            "name": ("Company name", "Name"),
            "domain": ("Company Domain Name", "Website URL", "Domain"),
            "industry": ("Industry",),
            "employees": ("Number of Employees",),
            "annual_revenue": ("Annual Revenue",),
            "country": ("Country/Region", "Country"),
            "founded_year": ("Year Founded",),
            "tech_stack": ("Web Technologies",),
        },
        "deals": {
            "deal_id": ("Record ID", "Deal ID"),
            "account_id": (
                "Associated Company IDs",
                "Associated Company ID",
                "Company ID",
                "Associated Company IDs (Primary)",
            ),
            "stage": ("Deal Stage",),
            "amount": ("Amount", "Amount in company currency"),
            "created_at": ("Create Date",),
            "closed_at": ("Close Date",),
            "currency": ("Currency", "Deal currency code"),
            "source": ("Original Source Type", "Original Source"),
        },
        "contacts": {
            "contact_id": ("Record ID", "Contact ID"),
            "account_id": ("Associated Company IDs", "Associated Company ID", "Company ID"),
            "title": ("Job Title",),
            "email": ("Email",),
            "department": ("Department",),
        },
    },
    file_names={
        "accounts": ("companies", "company"),
        "deals": ("deals", "deal"),
        "contacts": ("contacts", "contact"),
    },
)

SALESFORCE = Preset(
    name="salesforce",
    description="Salesforce report/data-loader exports (Account, Opportunity, Contact)",
    columns={
        "accounts": {
            "account_id": ("Id", "Account ID"),
            "name": ("Name", "Account Name"),
            "industry": ("Industry",),
            "employees": ("NumberOfEmployees", "Employees"),
            "annual_revenue": ("AnnualRevenue", "Annual Revenue"),
            "country": ("BillingCountry", "Billing Country"),
            "domain": ("Website",),
            "ownership": ("Ownership",),
        },
        "deals": {
            "deal_id": ("Id", "Opportunity ID"),
            "account_id": ("AccountId", "Account ID"),
            "stage": ("StageName", "Stage"),
            "is_won": ("IsWon", "Won"),
            "is_closed": ("IsClosed", "Closed"),
            "amount": ("Amount",),
            "created_at": ("CreatedDate", "Created Date"),
            "closed_at": ("CloseDate", "Close Date"),
            "source": ("LeadSource", "Lead Source"),
            "currency": ("CurrencyIsoCode", "Opportunity Currency"),
        },
        "contacts": {
            "contact_id": ("Id", "Contact ID"),
            "account_id": ("AccountId", "Account ID"),
            "title": ("Title",),
            "department": ("Department",),
            "email": ("Email",),
            "name": ("Name", "Full Name"),
        },
    },
    file_names={
        "accounts": ("account", "accounts"),
        "deals": ("opportunity", "opportunities"),
        "contacts": ("contact", "contacts"),
    },
)

MAVEN = Preset(
    name="maven",
    description="Maven Analytics 'CRM Sales Opportunities' (accounts, sales_pipeline, products)",
    columns={
        "accounts": {
            "account_id": ("account",),
            "name": ("account",),
            "industry": ("sector",),
            "founded_year": ("year_established",),
            "annual_revenue": ("revenue",),
            "employees": ("employees",),
            "country": ("office_location",),
        },
        "deals": {
            "deal_id": ("opportunity_id",),
            "account_id": ("account",),
            "stage": ("deal_stage",),
            "created_at": ("engage_date",),
            "closed_at": ("close_date",),
            "amount": ("close_value",),
            "product": ("product",),
        },
    },
    scale={"accounts": {"revenue": 1e6}},  # revenue is in millions of USD (data dictionary)
    file_names={"accounts": ("accounts",), "deals": ("sales_pipeline", "pipeline")},
)

PRESETS: dict[str, Preset] = {p.name: p for p in (HUBSPOT, SALESFORCE, MAVEN)}


def snake_name(name: str) -> str:
    """A column name as a snake_case attribute name ('Country/Region' → 'country_region')."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    snake = re.sub(r"[^0-9a-z]+", "_", re.sub(r"([a-z])([A-Z])", r"\1_\2", ascii_name).lower())
    snake = snake.strip("_")
    return snake if snake and not snake[0].isdigit() else f"col_{snake}".rstrip("_")


def column_listing(columns: list[str], limit: int = 30, width: int = 40) -> str:
    """Column names for a message: at most ``limit``, each clipped to ``width`` characters, so a
    file that is not a table (its first line read as a header) is never echoed whole."""
    shown = [c if len(c) <= width else c[: width - 1] + "…" for c in columns[:limit]]
    more = f", … ({len(columns) - limit:,} more)" if len(columns) > limit else ""
    return (", ".join(shown) or "none") + more


def _flat(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def closest_column(wanted: str, columns: list[str]) -> str | None:
    """The file column most like a wanted name (on flattened names), if any is close."""
    flat = {_flat(c): c for c in columns}
    match = closest(_flat(wanted), flat, cutoff=0.6)
    return flat[match] if match else None


@dataclass(frozen=True)
class MappedTable:
    """A source frame renamed onto canonical columns, plus what was decided."""

    frame: pl.DataFrame
    mapping: dict[str, str]  # canonical column → file column
    extras: dict[str, str]  # attribute name → file column
    scales: dict[str, float]  # canonical column → factor
    problems: list[Problem]


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    for candidate in candidates:
        if candidate in columns:
            return candidate
    flat = {_flat(c): c for c in columns}
    return next((flat[_flat(c)] for c in candidates if _flat(c) in flat), None)


def _resolve(
    table: str, columns: list[str], source: SourceConfig, preset: Preset | None, file: str
) -> tuple[dict[str, str], list[Problem]]:
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    for canonical, column in source.columns.items():
        if column in columns:
            mapping[canonical] = column
            continue
        near = closest_column(column, columns)
        problems.append(
            Problem(
                file=file,
                column=column,
                code="missing_column",
                message=f"column {column!r} (mapped to {canonical}) is not in the file"
                f"; columns found: {column_listing(columns)}"
                + (f"; closest: {near!r}" if near else ""),
                expected=f"a column named {column!r}",
            )
        )
    wanted = [*SCHEMA[table], *FLAG_COLUMNS.get(table, ())]
    preset_columns = preset.columns.get(table, {}) if preset else {}
    for canonical in wanted:
        if canonical in mapping or canonical in source.columns:
            continue
        found = _find(columns, (*preset_columns.get(canonical, ()), canonical))
        if found is not None:
            mapping[canonical] = found
    return mapping, problems


def _missing_required(
    table: str, mapping: dict[str, str], columns: list[str], file: str
) -> list[Problem]:
    problems = []
    for canonical in REQUIRED[table]:
        if canonical in mapping or (canonical == "stage" and "is_won" in mapping):
            continue
        near = closest_column(canonical, columns)
        problems.append(
            Problem(
                file=file,
                column=canonical,
                code="missing_column",
                message=f"required column {canonical!r} of table {table} is missing; found: "
                f"{column_listing(columns)}"
                + (
                    f"; closest: {near!r} (map it in icpkit.toml [sources.{table}.columns])"
                    if near
                    else ""
                ),
                expected=f"a column mapped to {canonical}",
            )
        )
    return problems


def map_columns(
    frame: pl.DataFrame, table: str, source: SourceConfig, preset: Preset | None, file: str
) -> MappedTable:
    """Rename a source frame onto the canonical columns of ``table`` and keep the rest as extras.

    The returned frame has the canonical (and flag) columns found, the extra attributes, and
    ``__row`` when the input had it. Missing required columns are fatal problems.
    """
    columns = [c for c in frame.columns if c != ROW]
    mapping, problems = _resolve(table, columns, source, preset, file)
    problems += _missing_required(table, mapping, columns, file)
    used = set(mapping.values()) | set(source.drop_columns)
    # canonical names stay reserved even when unmapped (mapped to a missing column): an extra
    # file column with that name becomes '<name>_extra', never a duplicate of the canonical one
    taken = set(mapping) | set(SCHEMA[table]) | set(FLAG_COLUMNS.get(table, ())) | {ROW}
    extras: dict[str, str] = {}
    for column in columns:
        if column in used:
            continue
        name = snake_name(column)
        while name in taken:
            name = f"{name}_extra"
        taken.add(name)
        extras[name] = column
    # columns taken as Series, not pl.col(name): a header such as "*" or "^a.*$" would be read as
    # a wildcard or a regular expression and select every column
    selection = [frame.get_column(src).alias(canonical) for canonical, src in mapping.items()]
    selection += [frame.get_column(src).alias(name) for name, src in extras.items()]
    if ROW in frame.columns:
        selection.insert(0, frame.get_column(ROW))
    factors = preset.scale.get(table, {}) if preset else {}
    scales = {c: factors[src] for c, src in mapping.items() if src in factors}
    return MappedTable(frame.select(selection), mapping, extras, scales, problems)
