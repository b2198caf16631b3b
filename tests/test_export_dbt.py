"""`icpkit export sql --dbt` writes a dbt package (issue 27): the model reads a schema-qualified
table through source() (declared in sources.yml) or a model through ref(), never
ref('crm.accounts'); schema.yml describes every column with tests; the ICP version is in the
model's meta. The slow test runs `dbt parse` and `dbt build` (dbt-duckdb) on the demo accounts and
finds icpkit's own tiers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.datasets import make_crm
from icpkit.errors import ConfigError
from icpkit.export import scorecard_sql
from icpkit.scoring import load_spec, score_frame
from icpkit.vocab import TIERS

SPEC = Path(__file__).parent / "fixtures" / "spec_cold_start.toml"
yaml = pytest.importorskip("yaml")  # dbt's own dependency


def export(folder: Path, table: str, model: str = "icp_score") -> CliRunner:
    result = CliRunner().invoke(
        app,
        ["export", "sql", "--spec", str(SPEC), "--table", table, "--dbt", "--model", model,
         "-o", str(folder)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def test_a_schema_qualified_table_is_a_source_and_the_package_describes_and_tests_it(
    tmp_path: Path,
) -> None:
    export(tmp_path / "icp", "crm.accounts")
    model = (tmp_path / "icp" / "icp_score.sql").read_text(encoding="utf-8")
    assert "{{ source('crm', 'accounts') }}" in model
    assert "ref(" not in model
    assert "meta={'icp_version': 'hand-written', 'icpkit_version': " in model.splitlines()[1]
    sources = yaml.safe_load((tmp_path / "icp" / "sources.yml").read_text(encoding="utf-8"))
    assert sources["sources"] == [
        {
            "name": "crm",
            "schema": "crm",
            "description": "The CRM accounts icpkit scores.",
            "tables": [{"name": "accounts"}],
        }
    ]
    schema = yaml.safe_load((tmp_path / "icp" / "schema.yml").read_text(encoding="utf-8"))
    (entry,) = schema["models"]
    assert entry["name"] == "icp_score" and entry["config"]["meta"]["icp_version"] == "hand-written"
    columns = {c["name"]: c for c in entry["columns"]}
    assert all(c["description"] for c in columns.values())
    assert {"fit_score", "tier", "calibrated_score", "fit_band"} <= set(columns)
    assert any(name.startswith("points_") for name in columns)
    assert columns["fit_score"]["data_tests"] == ["not_null"]
    accepted = columns["tier"]["data_tests"][1]["accepted_values"]["arguments"]["values"]
    assert accepted == list(TIERS)
    bands = columns["fit_band"]["data_tests"][1]["accepted_values"]["arguments"]["values"]
    assert bands == ["very good", "good", "medium", "low"]


def test_a_model_name_is_a_ref_and_no_dotted_name_is_ever_a_ref(tmp_path: Path) -> None:
    export(tmp_path / "m", "stg_accounts")
    assert "{{ ref('stg_accounts') }}" in (tmp_path / "m" / "icp_score.sql").read_text()
    assert not (tmp_path / "m" / "sources.yml").exists()
    spec = load_spec(SPEC)
    for table in ("crm.accounts", "analytics.crm.accounts"):
        model = scorecard_sql(spec, table, "duckdb").dbt_model()
        assert "ref(" not in model and "source('crm', 'accounts')" in model
    for table in ("a.b.c.d", "crm.o'brien", "crm.", "x') }}{{ y"):
        with pytest.raises(ConfigError, match="dbt model name"):
            scorecard_sql(spec, table, "duckdb").dbt_model()
    refused = CliRunner().invoke(
        app, ["export", "sql", "--spec", str(SPEC), "--table", "crm.accounts", "--dbt"]
    )
    assert refused.exit_code != 0 and "give -o FOLDER" in refused.output


DBT_PROJECT = """name: icp_check
version: "1.0.0"
profile: icp_check
model-paths: ["models"]
"""


@pytest.mark.slow  # two dbt invocations: ~15 s each on a loaded machine
def test_dbt_parse_and_build_on_duckdb_give_icpkits_tiers(tmp_path: Path) -> None:
    dbt = Path(sys.executable).parent / "dbt"
    if not dbt.exists():
        pytest.skip("dbt (dbt-duckdb) is not installed in this environment")
    accounts = make_crm(800, seed=7).accounts
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE SCHEMA crm")
        con.register("frame", accounts.to_arrow())
        con.execute("CREATE TABLE crm.accounts AS SELECT * FROM frame")
    project = tmp_path / "project"
    (project / "models" / "staging").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(DBT_PROJECT, encoding="utf-8")
    profile = {"icp_check": {"target": "dev", "outputs": {"dev": {
        "type": "duckdb", "path": str(database), "threads": 1}}}}  # fmt: skip
    (project / "profiles.yml").write_text(json.dumps(profile), encoding="utf-8")
    (project / "models" / "staging" / "stg_accounts.sql").write_text(
        "select * from {{ source('crm', 'accounts') }}\n", encoding="utf-8"
    )
    export(project / "models" / "icp", "crm.accounts")  # source() and sources.yml
    export(project / "models" / "icp_ref", "stg_accounts", model="icp_score_ref")  # ref()
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for command in ("parse", "build"):  # build = run, then the schema.yml tests
        done = subprocess.run(
            [str(dbt), command, "--profiles-dir", str(project), "--project-dir", str(project),
             "--no-send-anonymous-usage-stats"],
            capture_output=True, text=True, env=env, cwd=project, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:]
    assert "PASS=" in done.stdout and "ERROR=0" in done.stdout
    expected = score_frame(load_spec(SPEC), accounts).select(
        "account_id", "tier", "fit_score", "calibrated_score", "fit_band"
    )
    with duckdb.connect(str(database), read_only=True) as con:
        for model in ("icp_score", "icp_score_ref"):
            got = pl.from_arrow(
                con.sql(
                    f"SELECT account_id, tier, fit_score, calibrated_score, fit_band FROM {model}"
                ).to_arrow_table()
            )
            assert isinstance(got, pl.DataFrame)
            got = got.with_columns(pl.col("fit_score", "calibrated_score").cast(pl.Int16))
            merged = expected.join(got, on="account_id", suffix="_dbt")
            assert merged.height == expected.height == accounts.height
            for column in ("tier", "fit_score", "calibrated_score", "fit_band"):
                same = merged[column].cast(pl.String) == merged[f"{column}_dbt"].cast(pl.String)
                assert same.all(), f"{model}.{column} differs on {(~same).sum()} rows"
