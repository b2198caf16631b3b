"""The scorecard as a dbt package: a model, its schema.yml with tests, and sources.yml.

``icpkit export sql --dbt -o models/icp/`` writes into that folder of a dbt project:

- ``<model>.sql``: the scoring query (:mod:`icpkit.export.sql`) materialised as a table, reading
  a schema-qualified table through ``{{ source('crm', 'accounts') }}`` or a model through
  ``{{ ref('stg_accounts') }}``, with the ICP version in its ``config(meta=…)``;
- ``schema.yml``: the model's description, meta and every column described, with data tests:
  ``not_null`` on the id and the scores, ``accepted_values`` for ``tier`` and ``fit_band``;
- ``sources.yml`` (for a schema-qualified table): the source, its schema (and database).

The files are YAML written as JSON scalars (every string quoted), so no value read from a
profile can change the YAML's structure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from icpkit.atomic import write_text_atomic
from icpkit.errors import ConfigError
from icpkit.export.sql import DBT_MODEL_NAME, SqlExport
from icpkit.vocab import TIERS

DESCRIPTIONS = {
    "fit_score": "Fit with the Ideal Customer Profile, 0-100: the scorecard's base plus every "
    "points_* column of the row.",
    "tier": "Tier 1 | Tier 2 | Tier 3 | Non-fit: the score's cuts plus the ICP criteria and "
    "disqualifiers.",
    "fit_probability": "Calibrated probability of the profile's target at this score (null for a "
    "hand-written spec).",
    "criteria_met": "The ICP criteria the row meets (rule texts joined with '; ').",
    "disqualifiers_hit": "The disqualifiers the row hits (rule texts joined with '; ').",
    "reasons": "The 3 largest points for, then the 3 largest against, in words.",
    "calibrated_score": "The fit score on the familiar 0-100 band scale: the tier cuts read as the "
    "band anchors (85 / 70 / 50 by default); monotone in fit_score.",
    "fit_band": "The band of calibrated_score (icpkit [bands]; default very good / good / "
    "medium / low, MadKudu's edges 85 / 70 / 50).",
}


def _y(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _tests(column: str, export: SqlExport) -> list[str]:
    if column in (export.id_column, "fit_score", "calibrated_score"):
        return ["          - not_null"]
    values = {"tier": list(TIERS), "fit_band": list(export.bands)}.get(column)
    if values is None:
        return []
    return [
        "          - not_null",
        "          - accepted_values:",
        "              arguments:",
        f"                values: {_y(values)}",
    ]


def schema_yml(export: SqlExport, model: str, meta: dict[str, str | int], about: str) -> str:
    """The model's properties: description, meta, every output column with its tests."""
    lines = [
        "version: 2",
        "",
        "models:",
        f"  - name: {_y(model)}",
        f"    description: {_y(about)}",
        "    config:",
        "      meta:",
        *(f"        {_y(k)}: {_y(v)}" for k, v in meta.items()),
        "    columns:",
    ]
    columns = [export.id_column, "fit_score", "tier", "fit_probability", "criteria_met"]
    columns += ["disqualifiers_hit", "reasons", "calibrated_score", "fit_band", *export.points]
    for column in columns:
        if column == export.id_column:
            text = "The account's key, from the scored table."
        elif column in DESCRIPTIONS:
            text = DESCRIPTIONS[column]
        else:
            text = f"Points of the scorecard attribute {column.removeprefix('points_')}."
        lines += [f"      - name: {_y(column)}", f"        description: {_y(text)}"]
        tests = _tests(column, export)
        if tests:
            lines += ["        data_tests:", *tests]
    return "\n".join(lines) + "\n"


def sources_yml(export: SqlExport) -> str | None:
    """The source a schema-qualified table is read through; None for a ``ref()``."""
    parts = export.table.split(".")
    if len(parts) == 1:
        return None
    lines = ["version: 2", "", "sources:", f"  - name: {_y(parts[-2])}"]
    lines.append(f"    schema: {_y(parts[-2])}")
    if len(parts) == 3:
        lines.append(f"    database: {_y(parts[0])}")
    lines += [
        f"    description: {_y('The CRM accounts icpkit scores.')}",
        "    tables:",
        f"      - name: {_y(parts[-1])}",
    ]
    return "\n".join(lines) + "\n"


def write_dbt_package(
    export: SqlExport, folder: Path, *, model: str = "icp_score", meta: dict[str, str | int]
) -> list[Path]:
    """Write ``<model>.sql``, ``schema.yml`` and (for a source) ``sources.yml`` into ``folder``.

    Raises
    ------
    ConfigError
        The model name is no dbt name, the table is neither a model name nor schema.table, or
        ``folder`` is a file.
    """
    if not DBT_MODEL_NAME.fullmatch(model):
        raise ConfigError(f"--model must be a dbt model name (like icp_score); got {model!r}")
    if folder.suffix == ".sql" or folder.is_file():
        raise ConfigError(
            f"--dbt writes a folder (the model, schema.yml and sources.yml): give -o a folder "
            f"inside the dbt project's models/, like models/icp/; got {folder}"
        )
    text = export.dbt_model(meta)  # refuses a table that is no dbt name first
    version = meta.get("icp_version", "")
    about = f"Accounts scored by the icpkit ICP (version {version}): fit score, tier, band."
    files = [
        (folder / f"{model}.sql", text),
        (folder / "schema.yml", schema_yml(export, model, meta, about)),
    ]
    sources = sources_yml(export)
    if sources is not None:
        files.append((folder / "sources.yml", sources))
    folder.mkdir(parents=True, exist_ok=True)
    for path, body in files:
        write_text_atomic(path, body)
    return [path for path, _ in files]
