"""One normaliser for every way in: the same messy account scores the same through the CLI (a
Latin-1 CSV), the Python API (pandas and polars frames), ``/v1/score`` (canonical names and
``map=true``), and the record path the API and the local engine share (issues 23 and 25).

The profile is a hand-written spec whose every rule reads a value the messy rows spell in another
way (a country name, an employee range, NBSP thousands, "N/A", stray spaces), so a path that
skips the prospect normaliser scores differently and fails here.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

from icpkit import datasets, pipeline
from icpkit.cli import app as cli
from icpkit.errors import SchemaError
from icpkit.lifecycle.store import Store
from icpkit.scoring import load_spec

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from icpkit.web.app import create_app
from icpkit.web.keys import KeyStore

SPEC = """
name = "Parity"

[[criteria]]
rule = "industry = 'Software' AND employees in [50, 1000)"
points = 40

[[disqualifiers]]
rule = "employees in [1, 10)"
points = -30

[points]
"country = 'US'" = 15
"country = 'DE'" = 8
"country = 'AT'" = 4
"tech_stack contains 'Slack'" = 10
"annual_revenue in [1000000, 50000000)" = 10
"founded_year in [2000, 2020)" = 5
"ownership = 'Private'" = 5
"region is missing" = -3

[tiers]
tier1 = 60
tier2 = 45
tier3 = 30
"""
NBSP = "\u00a0"
# Every value as a CRM export spells it; None is an empty cell.
MESSY: list[dict[str, str | None]] = [
    {"account_id": "m1", "name": "Café Société", "industry": "Software", "employees": "51-200",
     "annual_revenue": "$12.5M", "country": "United States", "region": "North America",
     "founded_year": "2015", "ownership": "Private", "tech_stack": "Slack; AWS"},
    {"account_id": "m2", "name": "Two", "industry": " Software ", "employees": "1.2k",
     "annual_revenue": "N/A", "country": "usa", "region": None, "founded_year": " 2010 ",
     "ownership": "private", "tech_stack": "aws|slack"},
    {"account_id": "m3", "name": "Three", "industry": "Software", "employees": f"1{NBSP}200",
     "annual_revenue": "2,500,000", "country": " US ", "region": "n/a", "founded_year": "1999",
     "ownership": "Private ", "tech_stack": "Slack"},
    {"account_id": "m4", "name": "Vier GmbH", "industry": "SOFTWARE", "employees": "N/A",
     "annual_revenue": "£3M", "country": "Deutschland", "region": "EMEA", "founded_year": "n/a",
     "ownership": "PRIVATE", "tech_stack": None},
    {"account_id": "m5", "name": "Five", "industry": "Software", "employees": "5",
     "annual_revenue": "1e400", "country": "de", "region": "EMEA", "founded_year": "2001",
     "ownership": "Public", "tech_stack": "Slack,AWS"},
    {"account_id": "m6", "name": "Zürich Ñandú", "industry": "software", "employees": " 300 ",
     "annual_revenue": "Infinity", "country": "Österreich", "region": "EMEA",
     "founded_year": "2012", "ownership": "Privé", "tech_stack": " slack "},
    {"account_id": "m7", "name": "Seven", "industry": "N/A", "employees": "10K+",
     "annual_revenue": "$1.2B", "country": "GB", "region": " EMEA ", "founded_year": "2016",
     "ownership": "Private", "tech_stack": "Slack;;"},
    {"account_id": "m8", "name": "Eight", "industry": None, "employees": None,
     "annual_revenue": None, "country": None, "region": None, "founded_year": None,
     "ownership": None, "tech_stack": None},
]  # fmt: skip
COMPARED = ("fit_score", "tier", "reasons")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic workspace whose latest version is the spec above."""
    root = tmp_path_factory.mktemp("parity") / "ws"
    datasets.make_crm(60, seed=3).write_workspace(root)
    (root / "spec.toml").write_text(SPEC, encoding="utf-8")
    profile = load_spec(root / "spec.toml")
    Store(root).save(profile.to_json(), config_hash="parity", fingerprint={}, validation=None)
    return root


@pytest.fixture(scope="module")
def client(workspace: Path) -> TestClient:
    return TestClient(create_app(workspace), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def key(workspace: Path) -> str:
    return KeyStore(workspace).create("read")[0]


def by_id(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """account_id → (fit_score, tier, reasons), with scores as ints and no reasons as ''."""
    return {
        str(r["account_id"]): (int(r["fit_score"]), r["tier"], r["reasons"] or "") for r in rows
    }


def messy_csv(folder: Path) -> Path:
    """The messy rows as a Latin-1 CSV, as an old CRM exports them."""
    path = folder / "messy.csv"
    text = pl.DataFrame(MESSY, schema=dict.fromkeys(MESSY[0], pl.Utf8)).write_csv()
    path.write_bytes(text.encode("latin-1"))
    return path


def cli_scores(workspace: Path, source: Path, *extra: str) -> dict[str, tuple[Any, ...]]:
    target = source.with_name(f"scored{len(extra)}.csv")
    result = CliRunner().invoke(
        cli, ["score", str(source), "-o", str(target), "--workspace", str(workspace), *extra]
    )
    assert result.exit_code == 0, result.output
    return by_id(pl.read_csv(target, infer_schema_length=0).to_dicts())


def api_scores(client: TestClient, key: str, records: Any, query: str = "") -> Any:
    response = client.post(
        f"/v1/score{query}",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        content=records if isinstance(records, bytes) else json.dumps({"accounts": records}),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_messy_account_scores_the_same_through_every_way_in(
    workspace: Path, client: TestClient, key: str, tmp_path: Path
) -> None:
    profile = pipeline.Workspace.open(workspace).store.get("latest").profile()
    cli_plain = cli_scores(workspace, messy_csv(tmp_path))
    cli_mapped = cli_scores(workspace, messy_csv(tmp_path), "--map")
    frame = pl.DataFrame(MESSY, schema=dict.fromkeys(MESSY[0], pl.Utf8))
    polars_rows = pipeline.score_accounts(profile, frame).to_dicts()
    pandas_rows = pipeline.score_accounts(profile, pd.DataFrame(MESSY)).to_dict("records")
    canonical = api_scores(client, key, MESSY)
    mapped = api_scores(client, key, MESSY, "?map=true")
    assert canonical["mapped"] is False and mapped["mapped"] is True
    one_by_one = [api_scores(client, key, [r])["accounts"][0] for r in MESSY]  # the fast path
    expected = cli_plain
    assert len(expected) == len(MESSY)
    assert cli_mapped == expected
    assert by_id(polars_rows) == expected
    assert by_id(pandas_rows) == expected
    assert by_id(canonical["accounts"]) == expected
    assert by_id(mapped["accounts"]) == expected
    assert by_id(one_by_one) == expected
    # and the reference itself reads the spellings: names and codes of countries, a range
    assert all("based in US" in expected[i][2] for i in ("m1", "m2", "m3"))
    assert all("based in DE" in expected[i][2] for i in ("m4", "m5"))
    assert "based in AT" in expected["m6"][2]
    assert expected["m1"][1] == "Tier 1" and "meets ICP criterion" in expected["m1"][2]


def test_json_values_read_as_the_cells_a_file_would_hold(client: TestClient, key: str) -> None:
    """A JSON number, list or boolean scores as its CSV cell; 1e400, Infinity and true in a
    numeric field are missing, as the CLI reads an overflowing cell (not a huge company)."""
    text = {"account_id": "t", "industry": "Software", "employees": "300", "country": "US",
            "tech_stack": "Slack,AWS", "annual_revenue": "2000000", "founded_year": "2015"}  # fmt: skip
    typed = {**text, "employees": 300, "tech_stack": ["Slack", "AWS"],
             "annual_revenue": 2_000_000.0, "founded_year": 2015}  # fmt: skip
    missing = {**text, "employees": None, "annual_revenue": None}
    body = (
        '{"accounts": [' + json.dumps(text) + ", " + json.dumps(typed) + ", "
        + json.dumps(missing) + ", "
        + json.dumps(text).replace('"300"', "1e400").replace('"2000000"', "Infinity") + ", "
        + json.dumps(text).replace('"300"', "true").replace('"2000000"', "-Infinity")
        + "]}"
    )  # fmt: skip
    for records in (body.encode(), body.encode().replace(b"}, {", b'}]}\n{"accounts": [{')):
        if b"\n" in records:  # the same records one request each (the fast path)
            rows = [api_scores(client, key, r)["accounts"][0] for r in records.split(b"\n")]
        else:
            rows = api_scores(client, key, records)["accounts"]
        scores = [(r["fit_score"], r["tier"], r["reasons"]) for r in rows]
        assert scores[0] == scores[1]  # typed JSON reads as its text
        assert scores[2] == scores[3] == scores[4]  # overflow and true: missing
        assert scores[0] != scores[2]


def test_the_record_path_and_the_local_engine_agree_on_damaged_input(
    workspace: Path, tmp_path: Path
) -> None:
    """Issue 25: the same damaged rows through ``score_file`` (the local engine) and the API's
    record path give the same scores, or the same error naming the same row and column."""
    from icpkit.web.service import Service

    service = Service(workspace)
    profile = service.profile()[1]
    damaged = [
        {"account_id": "d1", "industry": "Software", "employees": f"2{NBSP}500",
         "country": "España", "tech_stack": "Slack | AWS ;"},
        {"account_id": "d2", "industry": "Software", "employees": "51 - 200",
         "country": "U.S.A.", "tech_stack": "[\"Slack\", \"AWS\"]"},
        {"account_id": "d3", "employees": "12"},  # a ragged row: most cells absent
    ]  # fmt: skip
    names = ["account_id", "industry", "employees", "country", "tech_stack"]
    frame = pl.DataFrame(damaged, schema=dict.fromkeys(names, pl.Utf8))
    path = tmp_path / "damaged.csv"
    path.write_bytes(frame.write_csv().encode("latin-1"))
    out = tmp_path / "out.csv"
    pipeline.score_file(profile, path, out, missing=lambda _: None)
    local = by_id(pl.read_csv(out, infer_schema_length=0).to_dicts())
    records = by_id(service.score_records(damaged, map_columns=False)["accounts"])
    assert records == local
    array_tags = [{**damaged[0], "tech_stack": ["Slack", "AWS"]}]
    assert by_id(service.score_records(array_tags, map_columns=False)["accounts"]) == {
        "d1": local["d1"]
    }

    huge = [*damaged[:1], {**damaged[1], "tech_stack": "x" * 5_000_000}]
    path.write_text(pl.DataFrame(huge, schema=dict.fromkeys(names, pl.Utf8)).write_csv())
    with pytest.raises(SchemaError) as from_file:
        pipeline.score_file(profile, path, out, missing=lambda _: None)
    with pytest.raises(SchemaError) as from_records:
        service.score_records(huge, map_columns=False)
    where = [(p.row, p.column, p.code) for p in from_file.value.problems]
    assert where == [(2, "tech_stack", "cell_too_large")]
    assert [(p.row, p.column, p.code) for p in from_records.value.problems] == where
    assert "account 2 of the request" in str(from_records.value)
    parquet = tmp_path / "huge.parquet"  # not read by the CSV reader: the batch function checks
    pl.DataFrame(huge, schema=dict.fromkeys(names, pl.Utf8)).write_parquet(parquet)
    with pytest.raises(SchemaError) as from_parquet:
        pipeline.score_file(profile, parquet, out, missing=lambda _: None)
    assert [(p.row, p.column, p.code) for p in from_parquet.value.problems] == where

    unreadable = [{**damaged[0], "employees": "lots"}]
    path.write_text(pl.DataFrame(unreadable, schema=dict.fromkeys(names, pl.Utf8)).write_csv())
    with pytest.raises(SchemaError) as from_file:
        pipeline.score_file(profile, path, out, missing=lambda _: None)
    with pytest.raises(SchemaError) as from_records:
        service.score_records(unreadable, map_columns=False)
    assert [(p.row, p.column) for p in from_records.value.problems] == [
        (p.row, p.column) for p in from_file.value.problems
    ]

    header_only = tmp_path / "empty.csv"
    header_only.write_text(",".join(names) + "\n")
    assert pipeline.score_file(profile, header_only, out, missing=lambda _: None) == 0
    assert service.score_records([], map_columns=False)["accounts"] == []
    empty = tmp_path / "zero.csv"
    empty.write_bytes(b"")
    with pytest.raises(SchemaError, match="empty"):
        pipeline.score_file(profile, empty, out)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    pytest.importorskip("pyspark.sql", reason="install the spark extra (make env does)")
    if shutil.which("java") is None:
        pytest.fail("Java is not installed: run `make test-services` (openjdk-17-jre-headless)")
    from icpkit.engines.spark import spark_session

    session = spark_session("local[2]", "icpkit-tests")
    try:
        yield session
    finally:
        session.stop()


@pytest.mark.services
def test_spark_scores_damaged_input_as_the_local_engine(
    spark: Any, workspace: Path, tmp_path: Path
) -> None:
    """Issue 25: the Spark engine runs the same batch function as the local engine, tag and
    number handling included: a Parquet file with delimited-text tags (the traceback of wave 2),
    NBSP numbers and country names scores the same; an oversized cell is the same error."""
    from icpkit.engines.spark import score_spark

    profile = pipeline.Workspace.open(workspace).store.get("latest").profile()
    frame = pl.DataFrame(MESSY, schema=dict.fromkeys(MESSY[0], pl.Utf8))
    source = tmp_path / "messy.parquet"
    frame.write_parquet(source)
    local = tmp_path / "local.csv"
    pipeline.score_file(profile, source, local)
    expected = by_id(pl.read_csv(local, infer_schema_length=0).to_dicts())
    assert score_spark(profile, str(source), tmp_path / "spark", spark=spark) == len(MESSY)
    got = pl.read_parquet(tmp_path / "spark" / "*.parquet").to_dicts()
    assert by_id(got) == expected

    result = CliRunner().invoke(
        cli,
        ["score", str(source), "-o", str(tmp_path / "cli"), "--engine", "spark",
         "--master", "local[2]", "--workspace", str(workspace)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # wave 2: a traceback on text tags

    arrays = frame.with_columns(pl.col("tech_stack").str.split(";"))  # array tags too
    arrays.write_parquet(source)
    pipeline.score_file(profile, source, local)
    score_spark(profile, str(source), tmp_path / "spark", spark=spark)
    got = pl.read_parquet(tmp_path / "spark" / "*.parquet").to_dicts()
    assert by_id(got) == by_id(pl.read_csv(local, infer_schema_length=0).to_dicts())

    huge = frame.with_columns(
        pl.when(pl.col("account_id") == "m2")
        .then(pl.lit("x" * 5_000_000))
        .otherwise(pl.col("tech_stack"))
        .alias("tech_stack")
    )
    huge.write_parquet(source)
    with pytest.raises(SchemaError) as raised:
        score_spark(profile, str(source), tmp_path / "spark", spark=spark)
    assert [(p.column, p.code) for p in raised.value.problems] == [("tech_stack", "cell_too_large")]
    assert raised.value.problems[0].row == 2 and "Spark partition" in str(raised.value)
