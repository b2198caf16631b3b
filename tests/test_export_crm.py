"""CRM write-back files: HubSpot companies import + property definitions; Salesforce Account update
+ CustomField metadata. Each file is read back the way the CRM would read it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from icpkit import datasets, pipeline
from icpkit.cli import app as cli
from icpkit.errors import ConfigError
from icpkit.export.crm import (
    SALESFORCE_FIELDS,
    crm_reasons,
    hubspot_files,
    normalise_domain,
    salesforce_files,
)
from icpkit.vocab import TIERS

MD = "{http://soap.sforce.com/2006/04/metadata}"


def scored() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": ["0015g00000AbCdEAAV", "001A00000000001", "12345", "A-7"],
            "domain": ["https://www.Acme.com/about", "acme.com", None, "globex.io"],
            "tier": ["Tier 1", "Tier 2", "Non-fit", "Tier 3"],
            "fit_score": [81, 64, 12, 40],
            "reasons": [
                "+6 employees in [180, inf); \u22122 region = 'EMEA'",
                "+3 industry = 'Software'",
                '=HYPERLINK("x")',
                "",
            ],
            "calibrated_score": [95, 78, 14, 55],
            "fit_band": ["very good", "good", "low", "medium"],
        }
    )


def test_reasons_read_as_words_and_never_as_a_formula() -> None:
    text = crm_reasons("+6 employees in [180, inf); \u22122 region = 'EMEA'", 1000)
    assert text == "employees in [180, inf) (+6); region = 'EMEA' (-2)"
    assert (
        crm_reasons("+1 " + "x" * 50, 20).endswith("…")
        and len(crm_reasons("+1 " + "x" * 50, 20)) == 20
    )


def test_domains_are_normalised_like_hubspot_keys_them() -> None:
    assert normalise_domain("https://www.Acme.com/about") == "acme.com"
    assert normalise_domain("acme.co.uk") == "acme.co.uk"
    assert normalise_domain("not a domain") is None and normalise_domain(None) is None


def test_hubspot_by_domain(tmp_path: Path) -> None:
    result = hubspot_files(scored(), 3, tmp_path)
    companies = pl.read_csv(tmp_path / "hubspot-companies.csv")
    assert companies.columns == [
        "Company Domain Name",
        "icp_tier",
        "icp_fit_score",
        "icp_reasons",
        "icp_version",
        "icp_calibrated_score",
        "icp_band",
    ]
    # acme.com twice → one row (the first); no domain → left out; both counted
    assert companies["Company Domain Name"].to_list() == ["acme.com", "globex.io"]
    assert companies["icp_fit_score"].to_list() == [81, 40]
    assert set(companies["icp_version"]) == {"v3"}
    assert sum(result.skipped.values()) == 2 and result.n_rows == 2
    props = json.loads((tmp_path / "hubspot-properties.json").read_text())["inputs"]
    assert [p["name"] for p in props] == [
        "icp_tier",
        "icp_fit_score",
        "icp_reasons",
        "icp_version",
        "icp_calibrated_score",
        "icp_band",
        "icp_account_key",
    ]
    assert [p["name"] for p in props if p.get("hasUniqueValue")] == ["icp_account_key"]
    assert companies["icp_band"].to_list() == ["very good", "medium"]
    group = json.loads((tmp_path / "hubspot-property-group.json").read_text())
    assert {p["groupName"] for p in props} == {group["name"]}
    tier = props[0]
    assert tier["type"] == "enumeration" and [o["value"] for o in tier["options"]] == list(TIERS)
    assert set(companies["icp_tier"]) <= set(TIERS)
    for p in props:
        assert {"name", "label", "type", "fieldType", "groupName"} <= set(p)


def test_hubspot_by_record_id(tmp_path: Path) -> None:
    result = hubspot_files(scored(), 1, tmp_path, key="record-id")
    companies = pl.read_csv(tmp_path / "hubspot-companies.csv", infer_schema_length=0)
    assert companies["Record ID"].to_list() == ["12345"]
    assert result.skipped["account_id is not a HubSpot Record ID (digits)"] == 3
    assert not companies["icp_reasons"][0].startswith(("=", "+", "-", "@"))
    with pytest.raises(ConfigError):
        hubspot_files(scored(), 1, tmp_path, key="email")  # type: ignore[arg-type]


def test_hubspot_by_the_unique_id_property_is_headed_with_its_name(tmp_path: Path) -> None:
    hubspot_files(scored(), 1, tmp_path, key="account-id", id_property="crm_key")
    companies = pl.read_csv(tmp_path / "hubspot-companies.csv", infer_schema_length=0)
    assert companies.columns[0] == "crm_key" and "account_id" not in companies.columns
    assert companies["crm_key"].to_list() == scored()["account_id"].to_list()
    props = json.loads((tmp_path / "hubspot-properties.json").read_text())["inputs"]
    key = next(p for p in props if p["name"] == "crm_key")
    assert key["hasUniqueValue"] is True and key["type"] == "string"
    for bad in ("Has Space", "hs_object_id", ""):
        with pytest.raises(ConfigError, match="--id-property"):
            hubspot_files(scored(), 1, tmp_path, key="account-id", id_property=bad)


def test_salesforce_update_file_and_field_metadata(tmp_path: Path) -> None:
    result = salesforce_files(scored(), 2, tmp_path)
    accounts = pl.read_csv(tmp_path / "salesforce-accounts.csv")
    assert accounts.columns == [
        "Id",
        "ICP_Tier__c",
        "ICP_Fit_Score__c",
        "ICP_Reasons__c",
        "ICP_Version__c",
        "ICP_Calibrated_Score__c",
        "ICP_Band__c",
    ]
    assert accounts["Id"].to_list() == ["0015g00000AbCdEAAV", "001A00000000001"]
    assert result.skipped["account_id is not a Salesforce Account Id (15 or 18 characters)"] == 2
    fields = tmp_path / "salesforce-sfdx" / "force-app" / "main" / "default" / "objects"
    fields = fields / "Account" / "fields"
    for spec in SALESFORCE_FIELDS:
        root = ET.parse(fields / f"{spec['fullName']}.field-meta.xml").getroot()
        assert root.tag == f"{MD}CustomField"
        assert root.findtext(f"{MD}fullName") == spec["fullName"]
        assert root.findtext(f"{MD}type") == spec["type"]
    picklist = ET.parse(fields / "ICP_Tier__c.field-meta.xml").getroot()
    values = [v.findtext(f"{MD}fullName") for v in picklist.iter(f"{MD}value")]
    assert values == list(TIERS)
    assert json.loads((tmp_path / "salesforce-fields.json").read_text())["object"] == "Account"


def test_export_commands_on_a_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    datasets.make_crm(300, seed=5).write_workspace(ws)
    pipeline.build_and_save(pipeline.Workspace.open(ws))
    runner = CliRunner()
    out = tmp_path / "crm"
    done = runner.invoke(cli, ["export", "hubspot", "-w", str(ws), "-o", str(out)])
    assert done.exit_code == 0, done.output
    companies = pl.read_csv(out / "hubspot-companies.csv")
    accounts = pl.read_csv(ws / "accounts.csv")
    assert companies.height == accounts["domain"].drop_nulls().n_unique()
    opened = pipeline.Workspace.open(ws)
    tiers = pipeline.score_accounts(opened.store.get("latest").profile(), opened.load().accounts)
    expected = dict(zip(tiers["domain"], tiers["tier"], strict=True))
    assert all(
        expected[d] == t
        for d, t in zip(companies["Company Domain Name"], companies["icp_tier"], strict=True)
    )
    done = runner.invoke(cli, ["export", "salesforce", "-w", str(ws), "-o", str(out)])
    assert done.exit_code == 0 and "not a Salesforce Account Id" in done.output
    pushed = runner.invoke(
        cli, ["push", "hubspot", "-w", str(ws), "-o", str(tmp_path / "push"), "--dry-run",
              "--id-property", "icp_account_key"],
    )  # fmt: skip
    assert pushed.exit_code == 0, pushed.output
    bodies = sorted((tmp_path / "push" / "requests").glob("request-*.json"))
    assert len(bodies) == -(-accounts.height // 100)
    first = json.loads(bodies[0].read_text())
    assert first["path"] == "/crm/v3/objects/companies/batch/update"  # never creates
    assert first["body"]["inputs"][0]["idProperty"] == "icp_account_key"
    assert pl.read_csv(tmp_path / "push" / "hubspot-companies.csv").columns[0] == "icp_account_key"
    no_token = runner.invoke(cli, ["push", "hubspot", "-w", str(ws), "-o", str(tmp_path / "p2"),
                                   "--id-property", "k"], env={"HUBSPOT_TOKEN": ""})  # fmt: skip
    assert no_token.exit_code != 0 and "HUBSPOT_TOKEN" in no_token.output
