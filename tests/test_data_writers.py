"""The one table writer: atomic, formula-guarded, CSV/Parquet/Excel, used by every command that
writes a table (bulk scoring, intent and personas columns, titles, lookalikes, CRM import files)."""

from __future__ import annotations

import ast
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from icpkit.data.writers import TableWriter, write_table
from icpkit.errors import ConfigError
from icpkit.export.crm import hubspot_files, salesforce_files

SRC = Path(__file__).resolve().parents[1] / "src" / "icpkit"
EVIL = '=HYPERLINK("http://evil.example","x")'


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [EVIL, "@SUM(A1)", "-12.5", "plain"],
            "domain": ["acme.com", "globex.io", "initech.com", "umbrella.com"],
            "tier": ["Tier 1", "Tier 2", "Tier 3", "Non-fit"],
            "fit_score": [81, 64, 40, 12],
            "calibrated_score": [90, 72, 52, 10],
            "fit_band": ["very good", "good", "medium", "low"],
            "reasons": ["+6 industry = 'Software'", "", "", ""],
            "tags": [["=cmd", "b"], None, ["c"], []],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_spreadsheet_cells_are_inert_and_numbers_stay(tmp_path: Path, suffix: str) -> None:
    if suffix == ".xlsx":
        pytest.importorskip("openpyxl")
    path = write_table(frame(), tmp_path / f"out{suffix}")
    if suffix == ".csv":
        back = pl.read_csv(path, infer_schema_length=0)
    else:
        back = pl.read_excel(path, engine="openpyxl", infer_schema_length=0)
    assert back["account_id"].to_list() == [f"'{EVIL}", "'@SUM(A1)", "-12.5", "plain"]
    assert back["tags"].to_list()[0] == "'=cmd;b"  # lists joined, then guarded


def test_parquet_keeps_values_as_they_are(tmp_path: Path) -> None:
    path = write_table(frame(), tmp_path / "out.parquet")
    assert pl.read_parquet(path).equals(frame())


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("before\n")
    with pytest.raises(RuntimeError), TableWriter(target) as out:
        out.write(frame().to_arrow())
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "before\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_an_empty_table_still_gets_its_header(tmp_path: Path) -> None:
    empty = frame().head(0)
    path = write_table(empty, tmp_path / "empty.csv")
    assert path.read_text().strip().replace('"', "").split(",") == empty.columns
    with TableWriter(tmp_path / "none.csv", empty_schema=pa.schema([("a", pa.string())])):
        pass
    assert (tmp_path / "none.csv").read_text().strip() == '"a"'


def test_an_unknown_format_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.csv"):
        write_table(frame(), tmp_path / "out.json")
    assert not list(tmp_path.iterdir())


def test_crm_import_files_carry_the_formula_guard(tmp_path: Path) -> None:
    """Issue 25: an account id is any text the CRM held; the import files guard it too."""
    scored = frame()
    hubspot_files(scored, 3, tmp_path / "hs", key="account-id")
    companies = pl.read_csv(tmp_path / "hs" / "hubspot-companies.csv", infer_schema_length=0)
    keys = companies[companies.columns[0]].to_list()
    assert f"'{EVIL}" in keys and EVIL not in keys and "'@SUM(A1)" in keys
    salesforce_files(scored, 3, tmp_path / "sf", external_id="External_Id__c")
    accounts = pl.read_csv(tmp_path / "sf" / "salesforce-accounts.csv", infer_schema_length=0)
    assert accounts["External_Id__c"].to_list()[:2] == [f"'{EVIL}", "'@SUM(A1)"]
    assert accounts["ICP_Fit_Score__c"].to_list()[:2] == ["81", "64"]


def test_no_module_writes_a_table_around_the_one_writer() -> None:
    """Every table a command writes goes through icpkit.data.writers (the synthetic CRM
    generator writes input data, not a command's output, and is left out)."""
    writers = {"write_csv", "write_parquet", "write_excel", "to_csv", "to_excel", "write_table"}
    allowed = {
        SRC / "data" / "writers.py",
        SRC / "datasets" / "__init__.py",
        SRC / "datasets" / "synthetic" / "usage.py",  # a generator: input data
        SRC / "refresh" / "simulate.py",  # the simulation's monthly input data
        # workspace state in Parquet, written atomically (atomic_path), never a command's output:
        SRC / "sync" / "store.py",  # the synced CRM tables and their staging chunks
        SRC / "enrich" / "store.py",  # the stored enrichment
        SRC / "lifecycle" / "experiment.py",  # the experiment's assignments
        SRC / "usage" / "readers.py",  # a temporary Parquet copy of a large JSON usage export
        SRC / "refresh" / "run.py",  # the last scores, the baseline of "changed"
        SRC / "web" / "service.py",  # the worklist CSV: csv_safe (the writer's guard) into a buffer
    }
    found = []
    for path in SRC.rglob("*.py"):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value
            via_module = isinstance(owner, ast.Name) and owner.id in ("pacsv", "pq", "csv")
            if node.func.attr in writers and (via_module or node.func.attr != "write_table"):
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.func.attr}")
    assert found == []
