"""`icpkit export salesforce` writes a deployable SFDX project (issue 27): every XML file is valid
against the Metadata API schema (a documented subset, tests/data/salesforce-metadata-subset.xsd,
offline), and the project's structure is what `sf project deploy start` reads."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
import xmlschema

from icpkit.export.crm import SALESFORCE_FIELDS, salesforce_files
from icpkit.export.sfdx import LAYOUT, PERMISSION_SETS
from icpkit.vocab import TIERS

SCHEMA = Path(__file__).parent / "data" / "salesforce-metadata-subset.xsd"
MD = "{http://soap.sforce.com/2006/04/metadata}"
ROOT_OF = {  # source-format folder → the metadata type of its files
    "fields": ("CustomField", ".field-meta.xml"),
    "permissionsets": ("PermissionSet", ".permissionset-meta.xml"),
    "layouts": ("Layout", ".layout-meta.xml"),
}


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA)


def scored() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": ["0015g00000AbCdEAAV", "001A00000000001", "A-7"],
            "tier": ["Tier 1", "Tier 2", "Tier 3"],
            "fit_score": [81, 64, 40],
            "reasons": ["+6 employees in [180, inf)", "+3 industry = 'Software'", ""],
            "calibrated_score": [95, 78, 55],
            "fit_band": ["very good", "good", "medium"],
        }
    )


def test_the_project_is_valid_against_the_metadata_schema_and_deployable_as_source(
    tmp_path: Path, schema: xmlschema.XMLSchema
) -> None:
    result = salesforce_files(scored(), 3, tmp_path)
    project = tmp_path / "salesforce-sfdx"
    sfdx = json.loads((project / "sfdx-project.json").read_text())
    directories = sfdx["packageDirectories"]
    assert [d["path"] for d in directories if d.get("default")] == ["force-app"]
    assert sfdx["sourceApiVersion"] == "61.0"
    source = project / "force-app"
    xml_files = sorted(project.rglob("*.xml"))
    assert all(p in result.files for p in xml_files)
    for path in xml_files:
        schema.validate(str(path))  # raises with the element and the reason
    # source format only inside the package directory: no package.xml mixed in
    assert not list(source.rglob("package.xml"))
    assert all(p.name.endswith("-meta.xml") for p in source.rglob("*.xml"))
    default = source / "main" / "default"
    for path in default.rglob("*.xml"):
        kind, suffix = ROOT_OF[path.parent.name]
        root = ET.parse(path).getroot()
        assert root.tag == f"{MD}{kind}" and path.name.endswith(suffix), path
    fields = {
        p.name.removesuffix(".field-meta.xml"): ET.parse(p).getroot()
        for p in (default / "objects" / "Account" / "fields").glob("*.xml")
    }
    names = [str(f["fullName"]) for f in SALESFORCE_FIELDS] + ["ICP_Account_Key__c"]
    assert sorted(fields) == sorted(names)
    for name, root in fields.items():
        assert root.findtext(f"{MD}fullName") == name
    key = fields["ICP_Account_Key__c"]
    assert (key.findtext(f"{MD}externalId"), key.findtext(f"{MD}unique")) == ("true", "true")
    tiers = [v.findtext(f"{MD}fullName") for v in fields["ICP_Tier__c"].iter(f"{MD}value")]
    assert tiers == list(TIERS)
    bands = [v.findtext(f"{MD}fullName") for v in fields["ICP_Band__c"].iter(f"{MD}value")]
    assert bands == ["very good", "good", "medium", "low"]
    # field-level security on every field, read for reps, read and edit for the writer
    for name, (_, _, editable) in PERMISSION_SETS.items():
        root = ET.parse(default / "permissionsets" / f"{name}.permissionset-meta.xml").getroot()
        granted = {
            p.findtext(f"{MD}field"): (p.findtext(f"{MD}readable"), p.findtext(f"{MD}editable"))
            for p in root.iter(f"{MD}fieldPermissions")
        }
        want = ("true", "true" if editable else "false")
        assert granted == {f"Account.{n}": want for n in names}
    layout = ET.parse(default / "layouts" / f"{LAYOUT}.layout-meta.xml").getroot()
    on_layout = [i.findtext(f"{MD}field") for i in layout.iter(f"{MD}layoutItems")]
    assert sorted(on_layout) == sorted(["Name", *names])  # Name: required on Account layouts
    sections = [s.findtext(f"{MD}label") for s in layout.iter(f"{MD}layoutSections")]
    assert "ICP fit" in sections
    manifest = ET.parse(project / "manifest" / "package.xml").getroot()
    members = {
        t.findtext(f"{MD}name"): [m.text for m in t.iter(f"{MD}members")]
        for t in manifest.iter(f"{MD}types")
    }
    assert members == {
        "CustomField": [f"Account.{n}" for n in names],
        "Layout": [LAYOUT],
        "PermissionSet": list(PERMISSION_SETS),
    }


def test_the_schema_check_catches_elements_out_of_order_or_unknown(
    tmp_path: Path, schema: xmlschema.XMLSchema
) -> None:
    """The check can fail: the field files icpkit wrote before issue 27 (length after type) and
    a permission set without its required label are refused."""
    salesforce_files(scored(), 3, tmp_path)
    fields = tmp_path / "salesforce-sfdx" / "force-app" / "main" / "default" / "objects"
    version = next(fields.rglob("ICP_Version__c.field-meta.xml"))
    text = version.read_text()
    moved = text.replace("    <length>20</length>\n", "").replace(
        "</type>\n", "</type>\n    <length>20</length>\n"
    )
    assert moved != text
    assert not schema.is_valid(moved)
    assert not schema.is_valid(text.replace("<type>Text</type>", "<type>Txt</type>"))
    sets = fields.parent / "permissionsets"
    perm = next(sets.glob("*.xml")).read_text()
    assert not schema.is_valid(perm.replace("<label>", "<name>").replace("</label>", "</name>"))


def test_an_external_id_field_named_by_the_user_is_the_one_defined_and_keyed(
    tmp_path: Path, schema: xmlschema.XMLSchema
) -> None:
    salesforce_files(scored(), 3, tmp_path, external_id="Legacy_Key__c", bands=("a", "b"))
    accounts = pl.read_csv(tmp_path / "salesforce-accounts.csv")
    assert accounts.columns[0] == "Legacy_Key__c" and accounts.height == 3
    assert "ICP_Calibrated_Score__c" in accounts.columns and "ICP_Band__c" in accounts.columns
    fields = tmp_path / "salesforce-sfdx" / "force-app" / "main" / "default" / "objects"
    key = next(fields.rglob("Legacy_Key__c.field-meta.xml"))
    schema.validate(str(key))
    assert not list(fields.rglob("ICP_Account_Key__c.field-meta.xml"))
    band = ET.parse(next(fields.rglob("ICP_Band__c.field-meta.xml"))).getroot()
    assert [v.findtext(f"{MD}fullName") for v in band.iter(f"{MD}value")] == ["a", "b"]
