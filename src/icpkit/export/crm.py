"""CRM write-back files: the ICP tier, score, reasons and version of every account, ready to import.

HubSpot: a companies import CSV keyed by company domain (or Record ID) with the custom properties
``icp_tier``, ``icp_fit_score``, ``icp_reasons``, ``icp_version``, plus the property definitions as
the body of ``POST /crm/v3/properties/companies/batch/create``. Salesforce: an Account update CSV
keyed by ``Id`` (Data Loader / Bulk API 2.0) with ``ICP_Tier__c``, ``ICP_Fit_Score__c``,
``ICP_Reasons__c``, ``ICP_Version__c``, ``ICP_Calibrated_Score__c``, ``ICP_Band__c``, plus a
deployable SFDX project (fields, the external-ID field, permission sets, a layout:
:mod:`icpkit.export.sfdx`) and the same fields as JSON. HubSpot also gets
``icp_calibrated_score`` and ``icp_band``, a property group and the unique ID property.

Reasons are written "employees in [180, inf) (+6)": they start with a letter, so no spreadsheet
reads a cell as a formula and no apostrophe guard ends up stored in the CRM. The files go through
the one table writer (``icpkit.data.writers``), whose formula guard covers the other cells (an
account id or external id is whatever text the CRM held).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from icpkit.atomic import write_text_atomic
from icpkit.data.writers import write_table
from icpkit.errors import ConfigError
from icpkit.export.sfdx import write_project
from icpkit.scoring.bands import DEFAULT_BANDS
from icpkit.vocab import TIERS

HubspotKey = Literal["domain", "record-id", "account-id"]
HUBSPOT_REASONS_MAX = 65_536
SALESFORCE_REASONS_MAX = 32_768
SALESFORCE_API_VERSION = "61.0"
SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
HUBSPOT_ID = re.compile(r"^[0-9]+$")
SALESFORCE_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
DOMAIN = re.compile(r"^(?:https?://)?(?:www\.)?([a-z0-9.-]+\.[a-z]{2,})(?:[/:].*)?$", re.I)


@dataclass(frozen=True)
class CrmExport:
    """What was written: the files, the rows, and the rows left out with why."""

    crm: str
    files: list[Path]
    n_rows: int
    skipped: dict[str, int] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        lines = [f"{self.crm}: {self.n_rows:,} accounts with ICP tier, score, reasons, version"]
        lines += [f"  left out {n:,} accounts: {why}" for why, n in self.skipped.items() if n]
        lines += [f"  wrote {p}" for p in self.files]
        return lines


def crm_reasons(text: str | None, limit: int) -> str:
    """'+6 employees in [180, inf); −2 region = 'EMEA'' → 'employees in [180, inf) (+6); …'."""
    parts = []
    for reason in (text or "").split("; "):
        points, _, label = reason.partition(" ")
        if label and points[:1] in ("+", "\u2212", "-"):
            parts.append(f"{label} ({points.replace(chr(0x2212), '-')})")
        elif reason:
            parts.append(reason)
    joined = "; ".join(parts)
    if joined.startswith(("=", "+", "-", "@", "\t", "\r")):
        joined = "'" + joined  # never a formula, whatever a label holds
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


SCORED = ("account_id", "tier", "fit_score", "reasons", "calibrated_score", "fit_band")


def _scored_columns(scored: pl.DataFrame, version: int, limit: int) -> pl.DataFrame:
    missing = [c for c in SCORED if c not in scored.columns]
    if missing:
        raise ConfigError(f"the scored accounts lack {', '.join(missing)}")
    return scored.with_columns(
        pl.col("fit_score").cast(pl.Int64),
        pl.col("calibrated_score").cast(pl.Int64),
        pl.col("reasons")
        .map_elements(lambda t: crm_reasons(t, limit), return_dtype=pl.Utf8)
        .alias("reasons"),
        pl.lit(f"v{version}").alias("version"),
    )


def _write_csv(frame: pl.DataFrame, target: Path) -> None:
    """Through the one table writer: atomic, and a key cell such as '=HYPERLINK(…)' (an account
    id is any text the CRM held) is made inert before a spreadsheet or an import reads it."""
    write_table(frame, target, suffixes=(".csv",))


def normalise_domain(value: str | None) -> str | None:
    """'https://www.Acme.com/about' → 'acme.com'; None when it is no domain."""
    if not value:
        return None
    match = DOMAIN.match(value.strip())
    return match.group(1).lower() if match else None


HUBSPOT_GROUP = "icpkit"
HUBSPOT_ID_PROPERTY = "icp_account_key"
HUBSPOT_PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


def hubspot_property_group() -> dict[str, Any]:
    """Body of ``POST /crm/v3/properties/companies/groups``: the group the ICP properties sit in
    (a section of their own in the company's "About" card and in the property settings)."""
    return {"name": HUBSPOT_GROUP, "label": "ICP (icpkit)", "displayOrder": -1}


def _options(values: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    return [
        {"label": v, "value": v, "displayOrder": i, "hidden": False} for i, v in enumerate(values)
    ]


def hubspot_properties(
    version: int,
    *,
    id_property: str = HUBSPOT_ID_PROPERTY,
    bands: tuple[str, ...] = DEFAULT_BANDS.names,
) -> dict[str, Any]:
    """Body of ``POST /crm/v3/properties/companies/batch/create``: the ICP properties and the
    unique ID property (``hasUniqueValue``: HubSpot refuses a second company with the same
    value, so it can key updates and, with ``push --create``, upserts)."""
    group = HUBSPOT_GROUP
    return {
        "inputs": [
            {
                "name": "icp_tier",
                "label": "ICP tier",
                "type": "enumeration",
                "fieldType": "select",
                "groupName": group,
                "description": "Ideal Customer Profile tier from icpkit.",
                "options": _options(TIERS),
            },
            {
                "name": "icp_fit_score",
                "label": "ICP fit score",
                "type": "number",
                "fieldType": "number",
                "groupName": group,
                "description": "Fit with the Ideal Customer Profile, 0–100 (icpkit scorecard).",
            },
            {
                "name": "icp_reasons",
                "label": "ICP reasons",
                "type": "string",
                "fieldType": "textarea",
                "groupName": group,
                "description": "Top reasons for and against the fit, with their points.",
            },
            {
                "name": "icp_version",
                "label": "ICP version",
                "type": "string",
                "fieldType": "text",
                "groupName": group,
                "description": f"The icpkit ICP version that scored the company (now v{version}).",
            },
            {
                "name": "icp_calibrated_score",
                "label": "ICP calibrated score",
                "type": "number",
                "fieldType": "number",
                "groupName": group,
                "description": "The fit score on the familiar 0–100 band scale (the tier cuts "
                "read 85 / 70 / 50 by default).",
            },
            {
                "name": "icp_band",
                "label": "ICP band",
                "type": "enumeration",
                "fieldType": "select",
                "groupName": group,
                "description": "The band of the calibrated score (icpkit [bands]).",
                "options": _options(bands),
            },
            {
                "name": id_property,
                "label": "ICP account key",
                "type": "string",
                "fieldType": "text",
                "groupName": group,
                "hasUniqueValue": True,
                "description": "The account's key in icpkit (unique): updates find the company "
                "by it.",
            },
        ]
    }


def hubspot_files(
    scored: pl.DataFrame,
    version: int,
    out_dir: Path,
    *,
    key: HubspotKey = "domain",
    id_property: str = HUBSPOT_ID_PROPERTY,
    bands: tuple[str, ...] = DEFAULT_BANDS.names,
) -> CrmExport:
    """``hubspot-companies.csv`` (import, update existing companies), ``hubspot-properties.json``
    (the property definitions) and ``hubspot-property-group.json`` (their group).

    ``key`` names the CSV's first column: ``Company Domain Name``, ``Record ID``, or with
    ``account-id`` the unique ID property itself (``id_property``), so the import maps the column
    to the property by name.
    """
    if key not in ("domain", "record-id", "account-id"):
        raise ConfigError(f"--key must be domain, record-id or account-id; got {key!r}")
    if not HUBSPOT_PROPERTY_NAME.match(id_property) or id_property.startswith("hs_"):
        raise ConfigError(
            f"--id-property must be a HubSpot internal property name (lower case letters, digits "
            f"and _, not hs_…), like {HUBSPOT_ID_PROPERTY}; got {id_property!r}"
        )
    frame = _scored_columns(scored, version, HUBSPOT_REASONS_MAX)
    skipped: dict[str, int] = {}
    if key == "domain":
        if "domain" not in frame.columns:
            raise ConfigError("the accounts have no domain column: use --key record-id")
        frame = frame.with_columns(
            pl.col("domain")
            .cast(pl.Utf8)
            .map_elements(normalise_domain, return_dtype=pl.Utf8)
            .alias("_key")
        )
        n = frame.height
        frame = frame.filter(pl.col("_key").is_not_null())
        skipped["no usable domain"] = n - frame.height
        n = frame.height
        frame = frame.unique("_key", keep="first", maintain_order=True)
        skipped["a second account with the same domain (HubSpot keys companies by domain)"] = (
            n - frame.height
        )
        header = "Company Domain Name"
    elif key == "account-id":  # the value of the unique ID property, under its own name
        frame = frame.with_columns(pl.col("account_id").cast(pl.Utf8).alias("_key"))
        n = frame.height
        frame = frame.filter(pl.col("_key").is_not_null() & (pl.col("_key") != ""))
        skipped["no account_id"] = n - frame.height
        header = id_property
    else:
        frame = frame.with_columns(pl.col("account_id").cast(pl.Utf8).alias("_key"))
        n = frame.height
        frame = frame.filter(pl.col("_key").str.contains(HUBSPOT_ID.pattern))
        skipped["account_id is not a HubSpot Record ID (digits)"] = n - frame.height
        header = "Record ID"
    out = frame.select(
        pl.col("_key").alias(header),
        pl.col("tier").alias("icp_tier"),
        pl.col("fit_score").alias("icp_fit_score"),
        pl.col("reasons").alias("icp_reasons"),
        pl.col("version").alias("icp_version"),
        pl.col("calibrated_score").alias("icp_calibrated_score"),
        pl.col("fit_band").alias("icp_band"),
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    companies = out_dir / "hubspot-companies.csv"
    properties = out_dir / "hubspot-properties.json"
    group = out_dir / "hubspot-property-group.json"
    _write_csv(out, companies)
    definitions = hubspot_properties(version, id_property=id_property, bands=bands)
    write_text_atomic(properties, json.dumps(definitions, indent=2) + "\n")
    write_text_atomic(group, json.dumps(hubspot_property_group(), indent=2) + "\n")
    return CrmExport("HubSpot", [companies, properties, group], out.height, skipped)


SALESFORCE_FIELDS: tuple[dict[str, Any], ...] = (
    {
        "fullName": "ICP_Tier__c",
        "label": "ICP Tier",
        "type": "Picklist",
        "description": "Ideal Customer Profile tier from icpkit.",
        "values": list(TIERS),
    },
    {
        "fullName": "ICP_Fit_Score__c",
        "label": "ICP Fit Score",
        "type": "Number",
        "precision": 3,
        "scale": 0,
        "description": "Fit with the Ideal Customer Profile, 0-100 (icpkit scorecard).",
    },
    {
        "fullName": "ICP_Reasons__c",
        "label": "ICP Reasons",
        "type": "LongTextArea",
        "length": SALESFORCE_REASONS_MAX,
        "visibleLines": 4,
        "description": "Top reasons for and against the fit, with their points.",
    },
    {
        "fullName": "ICP_Version__c",
        "label": "ICP Version",
        "type": "Text",
        "length": 20,
        "description": "The icpkit ICP version that scored the account.",
    },
    {
        "fullName": "ICP_Calibrated_Score__c",
        "label": "ICP Calibrated Score",
        "type": "Number",
        "precision": 3,
        "scale": 0,
        "description": "The fit score on the familiar 0-100 band scale (tier cuts read 85/70/50).",
    },
    {
        "fullName": "ICP_Band__c",
        "label": "ICP Band",
        "type": "Picklist",
        "description": "The band of the calibrated score (icpkit [bands]).",
        "values": list(DEFAULT_BANDS.names),
    },
)
SALESFORCE_KEY_FIELD = "ICP_Account_Key__c"


def salesforce_key_field(name: str = SALESFORCE_KEY_FIELD) -> dict[str, Any]:
    """The external-ID field: the account's key in icpkit, unique and case-insensitive."""
    return {
        "fullName": name,
        "label": "ICP Account Key",
        "type": "Text",
        "length": 255,
        "caseSensitive": False,
        "externalId": True,
        "unique": True,
        "description": "The account's key in icpkit (external ID): updates find the Account by it.",
    }


def salesforce_field_specs(
    bands: tuple[str, ...] = DEFAULT_BANDS.names, key_field: str | None = SALESFORCE_KEY_FIELD
) -> list[dict[str, Any]]:
    """Every field of the package: the ICP fields (the band picklist holds ``bands``) and, when
    it is a custom field (``…__c``), the external-ID field."""
    specs = [
        {**spec, "values": list(bands)} if spec["fullName"] == "ICP_Band__c" else dict(spec)
        for spec in SALESFORCE_FIELDS
    ]
    if key_field and key_field.endswith("__c"):
        specs.append(salesforce_key_field(key_field))
    return specs


def salesforce_files(
    scored: pl.DataFrame,
    version: int,
    out_dir: Path,
    *,
    external_id: str | None = None,
    bands: tuple[str, ...] = DEFAULT_BANDS.names,
) -> CrmExport:
    """``salesforce-accounts.csv`` (update by Id, or with ``external_id`` keyed by that external
    ID field of Account, holding account_id), the SFDX project ``salesforce-sfdx/`` (see
    :mod:`icpkit.export.sfdx`) and the fields as JSON."""
    frame = _scored_columns(scored, version, SALESFORCE_REASONS_MAX)
    frame = frame.with_columns(pl.col("account_id").cast(pl.Utf8))
    n = frame.height
    if external_id is None:
        frame = frame.filter(pl.col("account_id").str.contains(SALESFORCE_ID.pattern))
        why = "account_id is not a Salesforce Account Id (15 or 18 characters)"
    else:
        if not SALESFORCE_FIELD_NAME.match(external_id) or external_id.lower() == "id":
            raise ConfigError(
                f"--external-id-field must name an external ID field of Account (like "
                f"ICP_Account_Key__c); got {external_id!r}"
            )
        frame = frame.filter(pl.col("account_id").is_not_null() & (pl.col("account_id") != ""))
        why = "no account_id"
    skipped = {why: n - frame.height}
    out = frame.select(
        pl.col("account_id").alias(external_id or "Id"),
        pl.col("tier").alias("ICP_Tier__c"),
        pl.col("fit_score").alias("ICP_Fit_Score__c"),
        pl.col("reasons").alias("ICP_Reasons__c"),
        pl.col("version").alias("ICP_Version__c"),
        pl.col("calibrated_score").alias("ICP_Calibrated_Score__c"),
        pl.col("fit_band").alias("ICP_Band__c"),
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    accounts = out_dir / "salesforce-accounts.csv"
    _write_csv(out, accounts)
    specs = salesforce_field_specs(bands, external_id or SALESFORCE_KEY_FIELD)
    project = write_project(out_dir / "salesforce-sfdx", specs, SALESFORCE_API_VERSION)
    fields_json = out_dir / "salesforce-fields.json"
    write_text_atomic(
        fields_json, json.dumps({"object": "Account", "fields": specs}, indent=2) + "\n"
    )
    return CrmExport("Salesforce", [accounts, *project, fields_json], out.height, skipped)
