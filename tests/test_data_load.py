"""Readers, presets and workspace loading (icpkit.data.load / readers)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from icpkit.config import config_from_dict
from icpkit.data import CheckReport, SchemaError, check_workspace, load_workspace, read_table
from icpkit.data.readers import CELL_LIMIT

FIXTURES = Path(__file__).parent / "fixtures" / "crm"
MAVEN = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "datasets"
    / "maven-crm-sales-opportunities"
)
ROWS = [
    {"account_id": "a1", "name": "Ærø Ltd", "employees": "12"},
    {"account_id": "a2", "name": "Bé", "employees": "7"},
]


def _workspace(sources: dict, preset: str = "none", **extra: object):
    return config_from_dict({"preset": preset, "sources": sources, **extra})


def _accounts_only(path: str, **source: object):
    return _workspace({"accounts": {"path": path, **source}})


# --- readers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "newline", "delimiter"),
    [
        ("utf-8", "\n", ","),
        ("utf-8-sig", "\r\n", ","),
        ("latin-1", "\n", ";"),
        ("cp1252", "\r\n", "\t"),
        ("utf-16", "\r\n", "\t"),
        ("utf-8", "\n", "|"),
    ],
)
def test_csv_encoding_and_delimiter_are_sniffed(tmp_path, encoding, newline, delimiter):
    lines = [delimiter.join(ROWS[0])] + [delimiter.join(r.values()) for r in ROWS]
    path = tmp_path / "accounts.csv"
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    frame = read_table(path)
    assert frame.columns == ["account_id", "name", "employees"]
    assert frame["name"].to_list() == ["Ærø Ltd", "Bé"]


def test_excel_parquet_sqlite_duckdb_read_alike(tmp_path):
    frame = pl.DataFrame(ROWS)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Accounts"
    sheet.append(frame.columns)
    for row in frame.iter_rows():
        sheet.append(list(row))
    workbook.save(tmp_path / "a.xlsx")
    frame.write_parquet(tmp_path / "a.parquet")
    with sqlite3.connect(tmp_path / "a.sqlite") as con:
        con.execute("CREATE TABLE accounts (account_id TEXT, name TEXT, employees INTEGER)")
        con.executemany("INSERT INTO accounts VALUES (?, ?, ?)", [tuple(r.values()) for r in ROWS])
        con.execute("CREATE TABLE other (x INTEGER)")
    with duckdb.connect(str(tmp_path / "a.duckdb")) as con:
        con.execute("CREATE TABLE accounts AS SELECT * FROM frame")
    reads = [
        read_table(tmp_path / "a.xlsx", sheet="Accounts"),
        read_table(tmp_path / "a.parquet"),
        read_table(tmp_path / "a.sqlite", table="accounts"),
        read_table(tmp_path / "a.sqlite", query="SELECT * FROM accounts ORDER BY account_id"),
        read_table(tmp_path / "a.duckdb"),
    ]
    for read in reads:
        assert read["account_id"].to_list() == ["a1", "a2"]
        assert read["name"].to_list() == ["Ærø Ltd", "Bé"]
    with pytest.raises(SchemaError, match="several tables"):
        read_table(tmp_path / "a.sqlite")
    with pytest.raises(SchemaError, match="did you mean 'accounts'"):
        read_table(tmp_path / "a.sqlite", table="acounts")
    with pytest.raises(SchemaError, match="no sheet 'Acounts'"):
        read_table(tmp_path / "a.xlsx", sheet="Acounts")


def _bad_file(tmp_path: Path, kind: str) -> tuple[Path, dict]:
    path = tmp_path / "accounts.csv"
    source: dict = {}
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "header_only":
        path.write_text("account_id,name\n")
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 40)
    elif kind == "zip":
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    elif kind == "wrong_delimiter":
        path.write_text("account_id;name;employees\na1;Acme;5\n")
        source = {"delimiter": ","}
    elif kind == "huge_cell":
        path.write_text("account_id,name\na1," + "x" * (CELL_LIMIT + 10) + "\n")
    elif kind == "ragged":
        path.write_text("account_id,name\na1,Acme,extra,fields\n")
    return path, source


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("missing", "file not found"),
        ("empty", "empty (0 bytes)"),
        ("header_only", "has a header (account_id, name) but no data rows"),
        ("binary", "binary or garbled"),
        ("zip", "looks like a ZIP archive or an Excel"),
        ("wrong_delimiter", "looks semicolon-delimited"),
        ("huge_cell", "over the 1,000,000-byte limit"),
        ("ragged", "not a readable comma-delimited file"),
    ],
)
def test_bad_files_give_one_clear_fatal_problem(tmp_path, kind, needle):
    path, source = _bad_file(tmp_path, kind)
    report = check_workspace(_accounts_only(path.name, **source), tmp_path)
    assert not report.ok
    assert any(needle in str(p) for p in report.fatal), report.summary_lines()
    assert all(p.file == "accounts.csv" for p in report.fatal)
    with pytest.raises(SchemaError) as caught:
        load_workspace(_accounts_only(path.name, **source), tmp_path)
    assert caught.value.problems == report.fatal


def test_huge_cell_names_row_and_column(tmp_path):
    path, _ = _bad_file(tmp_path, "huge_cell")
    (problem,) = check_workspace(_accounts_only(path.name), tmp_path).fatal
    assert (problem.row, problem.column, problem.code) == (1, "name", "cell_too_large")


def test_missing_file_suggests_close_name(tmp_path):
    (tmp_path / "accounts.csv").write_text("account_id\na\n")
    report = check_workspace(_accounts_only("acounts.csv"), tmp_path)
    assert "did you mean 'accounts.csv'" in str(report.fatal[0])


# --- presets --------------------------------------------------------------------------------


def test_hubspot_export_loads_with_preset():
    config = _workspace(
        {"accounts": {"path": "companies.csv"}, "deals": {"path": "deals.csv"}}, "hubspot"
    )
    crm = load_workspace(config, FIXTURES / "hubspot")
    accounts = crm.accounts
    assert accounts["account_id"].to_list() == ["101", "102", "103", "104"]
    assert accounts["employees"].to_list() == [125.5, 3000.5, 10_000.0, 250.0]
    assert accounts["annual_revenue"].to_list() == [12.5e6, 1.2e9, 3.4e6, 8e6]
    assert accounts["country"].to_list() == ["US", "DE", "GB", "FR"]
    assert accounts["domain"].to_list() == [
        "acme-analytics.com",
        "birchlog.de",
        "cobalthealth.co.uk",
        "deltafoods.fr",
    ]
    assert {"city", "lifecycle_stage", "create_date"} <= set(accounts.columns)
    assert accounts["create_date"].dtype == pl.Date
    deals = crm.deals
    assert deals is not None
    assert deals["stage"].to_list() == ["won", "lost", "open", "won"]
    assert deals["account_id"].to_list() == ["101", "102", "103", "101"]
    assert deals["closed_at"].to_list()[0] == date(2022, 3, 15)
    assert any(
        p.code == "several_accounts" and "first one is used" in p.message for p in crm.problems
    )
    assert crm.sources == {"accounts": "companies.csv", "deals": "deals.csv"}


def test_salesforce_export_loads_with_flags_deciding_stage():
    config = _workspace(
        {
            "accounts": {"path": "Account.csv"},
            "deals": {"path": "Opportunity.csv"},
            "contacts": {"path": "Contact.csv"},
        },
        "salesforce",
    )
    crm = load_workspace(config, FIXTURES / "salesforce")
    assert crm.accounts["country"].to_list() == ["US", "GB", "CA"]
    assert crm.accounts["ownership"].to_list() == ["Private", "Public", "Private"]
    assert crm.deals is not None and crm.contacts is not None
    assert crm.deals["stage"].to_list() == ["won", "lost", "open", "won"]
    assert crm.deals["created_at"][0] == date(2023, 1, 5)
    assert crm.deals["source"][1] == "Partner Referral"
    assert crm.contacts["email"][0] == "jane.doe@northwind.com"
    assert not any(p.code == "stage_guess" for p in crm.problems)  # IsWon/IsClosed decided


def test_maven_fixture_scales_revenue_and_checks_products():
    config = _workspace(
        {
            "accounts": {"path": "maven_accounts.csv"},
            "deals": {"path": "maven_sales_pipeline.csv"},
            "products": {"path": "maven_products.csv"},
        },
        "maven",
    )
    report = check_workspace(config, FIXTURES / "maven")
    assert report.ok and report.row_counts == {"accounts": 5, "deals": 7, "products": 5}
    crm = load_workspace(config, FIXTURES / "maven")
    assert crm.accounts["annual_revenue"][0] == pytest.approx(1_250_500_000)
    assert crm.accounts["name"][0] == crm.accounts["account_id"][0] == "Quillmark Systems"
    assert crm.accounts["founded_year"].dtype == pl.Int64
    assert crm.deals is not None and crm.deals["stage"].to_list()[:5] == [
        "won",
        "won",
        "lost",
        "won",
        "open",
    ]
    messages = [str(p) for p in report.warnings]
    assert any("'QuillPro'" in m and "'Quill Pro'" in m for m in messages)
    assert any("2 open deals have no account" in m for m in messages)
    assert any("'Philipines' read as PH" in m for m in messages)


def test_check_report_is_printable_and_serialisable():
    config = _workspace(
        {"accounts": {"path": "maven_accounts.csv"}, "deals": {"path": "maven_sales_pipeline.csv"}},
        "maven",
    )
    report = check_workspace(config, FIXTURES / "maven")
    assert isinstance(report, CheckReport)
    lines = report.summary_lines()
    assert lines[-1].startswith("OK") and any("subscriptions" in line for line in lines)
    assert set(report.missing) == {"subscriptions", "contacts", "notes", "signals"}
    assert report.to_frame().height == len(report.problems)
    assert report.to_dict()["row_counts"] == {"accounts": 5, "deals": 7}


def test_all_fatal_problems_of_all_sources_at_once(tmp_path):
    (tmp_path / "accounts.csv").write_text("account_id,employees\na1,12\na1,lots\n")
    (tmp_path / "deals.csv").write_text(
        "deal_id,account_id,stage,amount,created_at\nd1,a1,won,-5,2024-13-45\n"
    )
    config = _workspace({"accounts": {"path": "accounts.csv"}, "deals": {"path": "deals.csv"}})
    with pytest.raises(SchemaError) as caught:
        load_workspace(config, tmp_path)
    codes = sorted(p.code for p in caught.value.problems)
    assert codes == ["duplicate_id", "negative", "not_a_date", "not_a_number"]
    assert "4 fatal problems" in caught.value.message


@pytest.mark.realdata
@pytest.mark.skipif(not MAVEN.exists(), reason=f"Maven CRM dataset not present at {MAVEN}")
def test_maven_real_dataset_acceptance():
    config = _workspace(
        {
            "accounts": {"path": "accounts.csv"},
            "deals": {"path": "sales_pipeline.csv"},
            "products": {"path": "products.csv"},
        },
        "maven",
    )
    crm = load_workspace(config, MAVEN)
    assert crm.accounts.height == 85 and crm.deals is not None and crm.deals.height == 8_800
    blank = pl.read_csv(MAVEN / "sales_pipeline.csv", infer_schema=False)["account"].null_count()
    assert blank == 1_425
    messages = [str(p) for p in check_workspace(config, MAVEN).warnings]
    assert any(f"{blank:,} open deals have no account" in m for m in messages)
    assert any("'GTXPro'" in m and "closest listed value: 'GTX Pro'" in m for m in messages)
    sectors = set(crm.accounts["industry"].to_list())
    technology_pair = any("'technolgy'" in m and "'technology'" in m for m in messages)
    assert technology_pair == ("technology" in sectors)  # only a typo pair if both spellings exist
    assert crm.accounts["annual_revenue"].min() == pytest.approx(4.54e6)


def test_order_lines_give_one_account_each_and_won_deals(tmp_path: Path) -> None:
    """A deal-level export (order lines with company fields, no stage) is usable as it is:
    accounts collapse to one row each, every line becomes a won deal."""
    lines = tmp_path / "orders.csv"
    lines.write_text(
        "Order,Customer ID,Customer,Industry,Sales,Order Date\n"
        "1,C1,Acme,Energy,100,1/5/2023\n"
        "2,C1,Acme,Energy,300,2/5/2023\n"
        "3,C1,Acme,Retail,200,3/5/2023\n"
        "4,C2,Beta,Finance,50,3/7/2023\n",
        encoding="utf-8",
    )
    config = config_from_dict(
        {
            "sources": {
                "accounts": {
                    "path": "orders.csv",
                    "collapse_to_accounts": True,
                    "columns": {
                        "account_id": "Customer ID",
                        "name": "Customer",
                        "industry": "Industry",
                    },
                    "drop_columns": ["Order", "Order Date"],
                },
                "deals": {
                    "path": "orders.csv",
                    "stage_default": "won",
                    "columns": {
                        "deal_id": "Order",
                        "account_id": "Customer ID",
                        "amount": "Sales",
                        "created_at": "Order Date",
                    },
                },
            }
        }
    )
    crm = load_workspace(config, tmp_path)
    accounts = crm.accounts.sort("account_id")
    assert accounts["account_id"].to_list() == ["C1", "C2"]
    assert accounts["industry"].to_list() == ["Energy", "Finance"]  # the most frequent value
    assert accounts["sales"].to_list() == [200.0, 50.0]  # the median of a number
    assert crm.deals is not None and set(crm.deals["stage"]) == {"won"}
    assert any(
        p.code == "collapsed" and "4 rows collapsed into 2" in p.message for p in crm.problems
    )


AWS_EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "aws-saas-sales"


@pytest.mark.realdata
@pytest.mark.skipif(
    not (MAVEN.parent / "aws-saas-sales").exists(), reason="AWS SaaS dataset not present"
)
def test_aws_order_lines_example_workspace_loads():
    """The documented example: 9,994 order lines become 99 accounts and 9,994 won deals."""
    from icpkit.config import load_config

    crm = load_workspace(load_config(AWS_EXAMPLE), AWS_EXAMPLE)
    assert crm.accounts.height == 99
    assert (
        crm.deals is not None and crm.deals.height == 9_994 and set(crm.deals["stage"]) == {"won"}
    )
