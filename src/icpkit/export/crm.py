"""CRM write-back files: the ICP tier, score, reasons and version of every account, ready to import.

HubSpot: a companies import CSV keyed by company domain (or Record ID) with the custom properties
``icp_tier``, ``icp_fit_score``, ``icp_reasons``, ``icp_version``, plus the property definitions as
the body of ``POST /crm/v3/properties/companies/batch/create``. Salesforce: an Account update CSV
keyed by ``Id`` (Data Loader / Bulk API 2.0) with ``ICP_Tier__c``, ``ICP_Fit_Score__c``,
``ICP_Reasons__c``, ``ICP_Version__c``, plus the CustomField metadata (SFDX source format and a
``package.xml``) and the same fields as JSON.

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
from xml.sax.saxutils import escape

import polars as pl

from icpkit.atomic import write_text_atomic
from icpkit.data.writers import write_table
from icpkit.errors import ConfigError
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


def _scored_columns(scored: pl.DataFrame, version: int, limit: int) -> pl.DataFrame:
    missing = [c for c in ("account_id", "tier", "fit_score", "reasons") if c not in scored.columns]
    if missing:
        raise ConfigError(f"the scored accounts lack {', '.join(missing)}")
    return scored.with_columns(
        pl.col("fit_score").cast(pl.Int64),
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


def hubspot_properties(version: int) -> dict[str, Any]:
    """Body of ``POST /crm/v3/properties/companies/batch/create`` for the four ICP properties."""
    group = "companyinformation"
    return {
        "inputs": [
            {
                "name": "icp_tier",
                "label": "ICP tier",
                "type": "enumeration",
                "fieldType": "select",
                "groupName": group,
                "description": "Ideal Customer Profile tier from icpkit.",
                "options": [
                    {"label": t, "value": t, "displayOrder": i, "hidden": False}
                    for i, t in enumerate(TIERS)
                ],
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
        ]
    }


def hubspot_files(
    scored: pl.DataFrame, version: int, out_dir: Path, *, key: HubspotKey = "domain"
) -> CrmExport:
    """``hubspot-companies.csv`` (import, update existing companies) and ``hubspot-properties.json``."""
    if key not in ("domain", "record-id", "account-id"):
        raise ConfigError(f"--key must be domain, record-id or account-id; got {key!r}")
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
    elif key == "account-id":  # the value of a unique company property the user names
        frame = frame.with_columns(pl.col("account_id").cast(pl.Utf8).alias("_key"))
        header = "account_id"
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
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    companies = out_dir / "hubspot-companies.csv"
    properties = out_dir / "hubspot-properties.json"
    _write_csv(out, companies)
    write_text_atomic(properties, json.dumps(hubspot_properties(version), indent=2) + "\n")
    return CrmExport("HubSpot", [companies, properties], out.height, skipped)


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
)


def salesforce_field_xml(spec: dict[str, Any]) -> str:
    """One CustomField in Metadata API source format (``<name>.field-meta.xml``)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">',
        f"    <fullName>{escape(spec['fullName'])}</fullName>",
        f"    <description>{escape(spec['description'])}</description>",
        "    <externalId>false</externalId>",
        f"    <label>{escape(spec['label'])}</label>",
        "    <required>false</required>",
        "    <trackHistory>false</trackHistory>",
        f"    <type>{spec['type']}</type>",
    ]
    for tag in ("length", "precision", "scale", "visibleLines"):
        if tag in spec:
            lines.append(f"    <{tag}>{spec[tag]}</{tag}>")
    if spec["type"] == "Picklist":
        lines += ["    <valueSet>", "        <restricted>true</restricted>"]
        lines += ["        <valueSetDefinition>", "            <sorted>false</sorted>"]
        for value in spec["values"]:
            lines += [
                "            <value>",
                f"                <fullName>{escape(value)}</fullName>",
                "                <default>false</default>",
                f"                <label>{escape(value)}</label>",
                "            </value>",
            ]
        lines += ["        </valueSetDefinition>", "    </valueSet>"]
    lines.append("</CustomField>")
    return "\n".join(lines) + "\n"


def salesforce_package_xml() -> str:
    members = "\n".join(
        f"        <members>Account.{f['fullName']}</members>" for f in SALESFORCE_FIELDS
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"    <types>\n{members}\n        <name>CustomField</name>\n    </types>\n"
        f"    <version>{SALESFORCE_API_VERSION}</version>\n</Package>\n"
    )


def salesforce_files(
    scored: pl.DataFrame, version: int, out_dir: Path, *, external_id: str | None = None
) -> CrmExport:
    """``salesforce-accounts.csv`` (update by Id, or with ``external_id`` keyed by that external
    ID field of Account, holding account_id), the field metadata as XML and as JSON."""
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
    )
    out_dir = Path(out_dir)
    fields_dir = out_dir / "salesforce-metadata" / "objects" / "Account" / "fields"
    fields_dir.mkdir(parents=True, exist_ok=True)
    accounts = out_dir / "salesforce-accounts.csv"
    _write_csv(out, accounts)
    files = [accounts]
    for spec in SALESFORCE_FIELDS:
        target = fields_dir / f"{spec['fullName']}.field-meta.xml"
        write_text_atomic(target, salesforce_field_xml(spec))
        files.append(target)
    package = out_dir / "salesforce-metadata" / "package.xml"
    write_text_atomic(package, salesforce_package_xml())
    fields_json = out_dir / "salesforce-fields.json"
    write_text_atomic(
        fields_json, json.dumps({"object": "Account", "fields": SALESFORCE_FIELDS}, indent=2) + "\n"
    )
    return CrmExport("Salesforce", [*files, package, fields_json], out.height, skipped)
