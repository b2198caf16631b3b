"""The scorecard as SQL gives exactly icpkit's fit_score, tier and rules, in every engine we can run.

DuckDB and SQLite run here in the fast suite; PostgreSQL and Spark SQL in tests/test_export_engines.py
(``make test-services``). The other dialects are parse-checked and pinned in golden files
(``tests/golden/export_sql/``; regenerate with ``ICPKIT_REGEN_GOLDEN=1``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import duckdb
import polars as pl
import pytest
import sqlglot

from icpkit.config import WorkspaceConfig
from icpkit.datasets import make_crm
from icpkit.errors import ConfigError, SchemaError
from icpkit.export import DIALECTS, scorecard_sql
from icpkit.pipeline import build_icp
from icpkit.scoring import load_spec
from icpkit.scoring.apply import score_frame

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden" / "export_sql"
COMPARED = [
    "fit_score",
    "tier",
    "criteria_met",
    "disqualifiers_hit",
    "reasons",
    "calibrated_score",
    "fit_band",
]


@pytest.fixture(scope="module")
def learned() -> tuple:
    crm = make_crm(2500, seed=11)
    accounts = _messy(crm.accounts)
    profile = build_icp(crm.to_crm_data(), WorkspaceConfig(), validate=False).profile
    return profile, accounts


@pytest.fixture(scope="module")
def spec():
    return load_spec(FIXTURES / "spec_cold_start.toml")


def _messy(accounts: pl.DataFrame) -> pl.DataFrame:
    """Nulls in every attribute, unseen categories, empty and null tag lists: the edge cases."""
    n = accounts.height
    idx = pl.int_range(n, eager=True)
    return accounts.with_columns(
        pl.when(idx % 17 == 0).then(None).otherwise(pl.col("employees")).alias("employees"),
        pl.when(idx % 19 == 0).then(None).otherwise(pl.col("industry")).alias("industry"),
        pl.when(idx % 23 == 0)
        .then(pl.lit("Never Seen"))
        .otherwise(pl.col("region"))
        .alias("region"),
        pl.when(idx % 29 == 0)
        .then(None)
        .when(idx % 31 == 0)
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col("tech_stack"))
        .alias("tech_stack"),
    )


def _expected(profile, accounts: pl.DataFrame) -> pl.DataFrame:
    """icpkit's scorer on the same typed table the SQL reads (a warehouse table holds values
    already normalised; ``score_accounts`` would normalise raw text first)."""
    return score_frame(profile, accounts).select("account_id", *COMPARED, "fit_probability")


def _check(expected: pl.DataFrame, got: pl.DataFrame) -> None:
    ints = pl.col("fit_score", "calibrated_score").cast(pl.Int64)
    got = got.with_columns(ints, pl.col("tier", "fit_band").cast(pl.String))
    joined = expected.with_columns(ints).join(
        got, on="account_id", suffix="_sql", how="full", coalesce=True
    )
    assert joined.height == expected.height == got.height
    for column in COMPARED:
        bad = joined.filter(pl.col(column).ne_missing(pl.col(f"{column}_sql")))
        assert bad.is_empty(), f"{column} differs on {bad.height} rows: {bad.head(3)}"
    if expected["fit_probability"].null_count() < expected.height:
        diff = (joined["fit_probability"] - joined["fit_probability_sql"]).abs().max()
        assert diff is not None and diff < 1e-9


def _run_duckdb(sql: str, accounts: pl.DataFrame, table: str = "accounts") -> pl.DataFrame:
    con = duckdb.connect()
    con.register("frame", accounts.to_arrow())
    con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM frame')
    out = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(out, pl.DataFrame)
    return out


def to_delimited(accounts: pl.DataFrame, separator: str = ";") -> pl.DataFrame:
    """Tag lists as delimited text (how SQLite, Redshift and T-SQL tables hold them)."""
    lists = [c for c, t in accounts.schema.items() if isinstance(t, pl.List)]
    return accounts.with_columns(pl.col(c).list.join(separator) for c in lists)


def _run_sqlite(sql: str, accounts: pl.DataFrame, table: str = "accounts") -> pl.DataFrame:
    flat = to_delimited(accounts)
    con = sqlite3.connect(":memory:")
    cols = ", ".join(f'"{c}"' for c in flat.columns)
    marks = ", ".join("?" for _ in flat.columns)
    con.execute(f'CREATE TABLE "{table}" ({cols})')
    con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', flat.rows())
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return pl.DataFrame(cursor.fetchall(), schema=names, orient="row", infer_schema_length=None)


@pytest.mark.parametrize("which", ["learned", "spec"])
def test_duckdb_gives_icpkit_scores_exactly(which, learned, spec) -> None:
    profile, accounts = learned
    profile = profile if which == "learned" else spec
    export = scorecard_sql(profile, "accounts", "duckdb", present=accounts.columns)
    _check(_expected(profile, accounts), _run_duckdb(export.sql, accounts))


@pytest.mark.parametrize("which", ["learned", "spec"])
def test_sqlite_gives_icpkit_scores_exactly(which, learned, spec) -> None:
    profile, accounts = learned
    profile = profile if which == "learned" else spec
    export = scorecard_sql(profile, "accounts", "sqlite")
    assert export.tags == "delimited"
    _check(_expected(profile, accounts), _run_sqlite(export.sql, accounts))


def test_points_columns_add_up_to_the_score(learned) -> None:
    profile, accounts = learned
    out = _run_duckdb(scorecard_sql(profile, "accounts", "duckdb").sql, accounts)
    points = [c for c in out.columns if c.startswith("points_")]
    assert points
    base = profile.scorecard.base
    total = out.select(pl.sum_horizontal(points) + base).to_series()
    assert (total == out["fit_score"]).all()
    assert out["reasons"].str.len_chars().max() > 0


def test_reserved_words_and_spaces_in_column_names_are_quoted(spec) -> None:
    """A table called "order" with columns "select" and "annual revenue" scores the same."""
    renamed_spec = spec.model_copy(
        update={
            "criteria": [
                c.model_copy(update={"rule": c.rule.replace("region", '"select"')})
                for c in spec.criteria
            ]
        }
    )
    accounts = make_crm(400, seed=3).accounts.rename({"region": "select"})
    with pytest.raises(SchemaError, match="select"):
        scorecard_sql(
            renamed_spec, "order", "duckdb", present=make_crm(50, seed=3).accounts.columns
        )
    # the scorecard's own points table still reads 'region': give the table both
    accounts = accounts.with_columns(pl.col("select").alias("region"))
    for dialect, run in (("duckdb", _run_duckdb), ("sqlite", _run_sqlite)):
        export = scorecard_sql(renamed_spec, "order", dialect, present=accounts.columns)
        _check(_expected(renamed_spec, accounts), run(export.sql, accounts, table="order"))


def test_unknown_dialect_lists_the_supported_ones(spec) -> None:
    with pytest.raises(ConfigError, match="supported: duckdb, postgres, sqlite"):
        scorecard_sql(spec, "accounts", "oracle")


def test_a_table_missing_attributes_is_named_per_column(spec) -> None:
    with pytest.raises(SchemaError) as info:
        scorecard_sql(spec, "accounts", "postgres", present=["account_id", "industry"])
    for column in ("employees", "tech_stack", "region", "ownership", "annual_revenue"):
        assert column in str(info.value)


def test_array_tags_refused_where_the_dialect_has_no_arrays(spec) -> None:
    with pytest.raises(ConfigError, match="no array type"):
        scorecard_sql(spec, "accounts", "tsql", tags="array")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_parses_and_matches_its_golden_file(dialect: str, spec) -> None:
    sql = scorecard_sql(spec, "crm.accounts", dialect).sql
    read = "spark" if dialect == "databricks" else dialect
    parsed = sqlglot.parse(sql, read=read)
    assert len(parsed) == 1 and parsed[0] is not None
    golden = GOLDEN / f"{dialect}.sql"
    if os.environ.get("ICPKIT_REGEN_GOLDEN"):
        golden.write_text(sql + "\n", encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == sql + "\n", f"regenerate {golden} if intended"


def test_dbt_model_has_a_config_header(spec) -> None:
    for dialect in ("snowflake", "bigquery", "tsql"):
        model = scorecard_sql(spec, "stg_accounts", dialect).dbt_model()
        assert model.startswith("-- Generated by `icpkit export sql --dbt`")
        assert "{{ config(materialized='table') }}" in model
        assert "FROM {{ ref('stg_accounts') }}" in model, model[:400]


def test_cli_writes_the_sql(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from icpkit.cli import app

    target = tmp_path / "score.sql"
    result = CliRunner().invoke(
        app,
        ["export", "sql", "--spec", str(FIXTURES / "spec_cold_start.toml"), "--table", "accounts",
         "--dialect", "bigquery", "-o", str(target)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "`accounts`" in target.read_text(encoding="utf-8")
    bad = CliRunner().invoke(
        app,
        ["export", "sql", "--spec", str(FIXTURES / "spec_cold_start.toml"), "--table", "a",
         "--dialect", "oracle"],
    )  # fmt: skip
    assert bad.exit_code != 0 and "supported" in bad.output and "Traceback" not in bad.output


JINJA = "EMEA{{ run_query(x) }}{% do run_query(y) %}{# hidden #}{% endraw %}{{ config }}"


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake", "bigquery", "tsql"])
def test_dbt_model_keeps_jinja_from_the_data_as_text(tmp_path: Path, dialect: str) -> None:
    """A category level learned from the CRM that holds Jinja renders back as that text: dbt
    runs only the model's own config() and ref()."""
    import jinja2

    text = (FIXTURES / "spec_cold_start.toml").read_text(encoding="utf-8")
    (tmp_path / "spec.toml").write_text(text.replace("EMEA", JINJA), encoding="utf-8")
    export = scorecard_sql(load_spec(tmp_path / "spec.toml"), "stg_accounts", dialect)
    assert JINJA.replace("'", "''") in export.sql  # the level is in the query, as an SQL literal
    calls: list[str] = []
    env = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined)
    rendered = env.from_string(export.dbt_model()).render(
        config=lambda **kw: calls.append("config") or "",
        ref=lambda name: calls.append(f"ref {name}") or export.source,
        run_query=lambda *a: calls.append("run_query") or "RAN",
    )
    assert calls == ["config", "ref stg_accounts"]
    body = rendered.split("\n", 2)[2]  # after the comment and config lines
    assert body == export.sql


@pytest.mark.parametrize("table", ["o'brien", 'my"model', "a.b.c.d", "a b", "x') }}{{ y"])
def test_dbt_model_refuses_a_table_that_is_not_a_model_name(spec, table: str) -> None:
    export = scorecard_sql(spec, table, "duckdb")
    with pytest.raises(ConfigError, match="dbt model name"):
        export.dbt_model()


@pytest.mark.parametrize("table", ["o'brien", 'my"table', "a]b", "a`b"])
def test_a_table_name_with_a_quote_is_quoted_not_renamed(spec, table: str) -> None:
    """Each dialect's SQL names exactly the table given (parsed back, not another name)."""
    for dialect in DIALECTS:
        export = scorecard_sql(spec, table, dialect, pretty=False)
        tree = sqlglot.parse_one(export.sql, read=dialect)
        names = {t.name for t in tree.find_all(sqlglot.exp.Table)} - {"src", "points"}
        names -= {"scored", "tiered", "ranked"}
        assert names == {table}, (dialect, names)
