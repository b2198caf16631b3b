"""A deployable Salesforce DX project for the ICP fields of Account.

``sf project deploy start --source-dir force-app`` (run inside the folder) deploys it as it is:

- ``sfdx-project.json``: one package directory, ``force-app``, and the source API version;
- ``force-app/main/default/objects/Account/fields/<Field>.field-meta.xml``: each custom field in
  source format (CustomField; Account itself is a standard object, so no ``.object-meta.xml``: a
  field file deploys as a child of the existing object, and an object file would overwrite the
  org's Account settings);
- the external-ID field (``externalId`` and ``unique``, case-insensitive Text): the account's
  key in icpkit, which ``push salesforce --external-id-field`` keys updates by;
- ``permissionsets/ICP_Fields_Read`` (reps: read) and ``ICP_Fields_Edit`` (the integration user
  that writes the fields: read and edit), with field-level security on every field: a field
  deployed without FLS is invisible to everyone but administrators;
- ``layouts/Account-ICP Fit Layout.layout-meta.xml``: a page layout with an "ICP fit" section
  listing the fields (assign it, or copy its section into the layout in use);
- ``manifest/package.xml`` beside the source (never inside ``force-app``), for
  ``sf project deploy start --manifest manifest/package.xml``.

Elements are written in the order of the Metadata API WSDL's sequences (``metadata.wsdl``, API
61.0); ``tests/data/salesforce-metadata-subset.xsd`` checks every file against them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from icpkit.atomic import write_text_atomic

NS = "http://soap.sforce.com/2006/04/metadata"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>'
LAYOUT = "Account-ICP Fit Layout"
PERMISSION_SETS = {
    "ICP_Fields_Read": ("ICP Fields (read)", "Read the icpkit ICP fields of Account.", False),
    "ICP_Fields_Edit": (
        "ICP Fields (read and edit)",
        "Read and write the icpkit ICP fields of Account (the user that imports or pushes them).",
        True,
    ),
}
# The CustomField elements icpkit writes, in the WSDL's order (after fullName).
FIELD_ORDER = (
    "caseSensitive",
    "description",
    "externalId",
    "inlineHelpText",
    "label",
    "length",
    "precision",
    "required",
    "scale",
    "trackHistory",
    "type",
    "unique",
    "valueSet",
    "visibleLines",
)


def _el(tag: str, value: Any, indent: int) -> str:
    text = ("true" if value else "false") if isinstance(value, bool) else escape(str(value))
    return f"{' ' * indent}<{tag}>{text}</{tag}>"


def field_xml(spec: dict[str, Any]) -> str:
    """One CustomField in source format (``<fullName>.field-meta.xml``)."""
    values: dict[str, Any] = {
        "description": spec["description"],
        "externalId": bool(spec.get("externalId", False)),
        "label": spec["label"],
        "required": False,
        "trackHistory": False,
        "type": spec["type"],
    }
    for key in ("caseSensitive", "inlineHelpText", "length", "precision", "scale", "unique"):
        if key in spec:
            values[key] = spec[key]
    if "visibleLines" in spec:
        values["visibleLines"] = spec["visibleLines"]
    lines = [HEADER, f'<CustomField xmlns="{NS}">', _el("fullName", spec["fullName"], 4)]
    for tag in FIELD_ORDER:
        if tag == "valueSet" and spec["type"] == "Picklist":
            lines += ["    <valueSet>", "        <restricted>true</restricted>"]
            lines += ["        <valueSetDefinition>", "            <sorted>false</sorted>"]
            for value in spec["values"]:
                lines += [
                    "            <value>",
                    _el("fullName", value, 16),
                    "                <default>false</default>",
                    _el("label", value, 16),
                    "            </value>",
                ]
            lines += ["        </valueSetDefinition>", "    </valueSet>"]
        elif tag in values:
            lines.append(_el(tag, values[tag], 4))
    lines.append("</CustomField>")
    return "\n".join(lines) + "\n"


def permission_set_xml(
    label: str, description: str, fields: Iterable[str], *, editable: bool
) -> str:
    """A PermissionSet granting field-level security on ``Account.<field>`` for each field."""
    lines = [HEADER, f'<PermissionSet xmlns="{NS}">', _el("description", description, 4)]
    for name in fields:
        lines += [
            "    <fieldPermissions>",
            _el("editable", editable, 8),
            _el("field", f"Account.{name}", 8),
            _el("readable", True, 8),
            "    </fieldPermissions>",
        ]
    lines += [_el("hasActivationRequired", False, 4), _el("label", label, 4), "</PermissionSet>"]
    return "\n".join(lines) + "\n"


def _section(label: str, columns: Sequence[Sequence[tuple[str, str]]], style: str) -> list[str]:
    lines = [
        "    <layoutSections>",
        _el("customLabel", True, 8),
        _el("detailHeading", True, 8),
        _el("editHeading", True, 8),
        _el("label", label, 8),
    ]
    for column in columns:
        lines.append("        <layoutColumns>")
        for field, behavior in column:
            lines += [
                "            <layoutItems>",
                _el("behavior", behavior, 16),
                _el("field", field, 16),
                "            </layoutItems>",
            ]
        lines.append("        </layoutColumns>")
    lines += [_el("style", style, 8), "    </layoutSections>"]
    return lines


def layout_xml(fields: Sequence[str], wide: Sequence[str]) -> str:
    """An Account page layout: the account's name (required on every Account layout), then an
    "ICP fit" section with ``fields`` in two columns and the ``wide`` ones (long text) below."""
    half = (len(fields) + 1) // 2
    read = [(f, "Readonly") for f in fields]
    lines = [HEADER, f'<Layout xmlns="{NS}">']
    lines += _section("Account Information", [[("Name", "Required")]], "OneColumn")
    lines += _section("ICP fit", [read[:half], read[half:]], "TwoColumnsTopToBottom")
    if wide:
        lines += _section("ICP reasons", [[(f, "Readonly") for f in wide]], "OneColumn")
    lines.append("</Layout>")
    return "\n".join(lines) + "\n"


def package_xml(fields: Sequence[str], api_version: str) -> str:
    """``manifest/package.xml``: every component of the project, by type."""
    types = {
        "CustomField": [f"Account.{f}" for f in fields],
        "Layout": [LAYOUT],
        "PermissionSet": list(PERMISSION_SETS),
    }
    lines = [HEADER, f'<Package xmlns="{NS}">']
    for name, members in types.items():
        lines.append("    <types>")
        lines += [_el("members", m, 8) for m in members]
        lines += [_el("name", name, 8), "    </types>"]
    lines += [_el("version", api_version, 4), "</Package>"]
    return "\n".join(lines) + "\n"


def project_json(api_version: str) -> str:
    project = {
        "packageDirectories": [{"path": "force-app", "default": True}],
        "name": "icpkit-icp-fields",
        "namespace": "",
        "sourceApiVersion": api_version,
    }
    return json.dumps(project, indent=2) + "\n"


def write_project(root: Path, fields: Sequence[dict[str, Any]], api_version: str) -> list[Path]:
    """Write the SFDX project for ``fields`` (CustomField specs) into ``root``; the files."""
    default = root / "force-app" / "main" / "default"
    names = [str(f["fullName"]) for f in fields]
    wide = [str(f["fullName"]) for f in fields if f["type"] == "LongTextArea"]
    narrow = [n for n in names if n not in wide]
    files: list[tuple[Path, str]] = [(root / "sfdx-project.json", project_json(api_version))]
    for spec in fields:
        target = default / "objects" / "Account" / "fields" / f"{spec['fullName']}.field-meta.xml"
        files.append((target, field_xml(spec)))
    for name, (label, description, editable) in PERMISSION_SETS.items():
        body = permission_set_xml(label, description, names, editable=editable)
        files.append((default / "permissionsets" / f"{name}.permissionset-meta.xml", body))
    files.append((default / "layouts" / f"{LAYOUT}.layout-meta.xml", layout_xml(narrow, wide)))
    files.append((root / "manifest" / "package.xml", package_xml(names, api_version)))
    for path, text in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    return [path for path, _ in files]
