"""Column mapping, presets and ``guess_config`` (icpkit init)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import tomli_w

from icpkit.config import SourceConfig, config_from_dict
from icpkit.data import PRESETS, guess_config, load_workspace
from icpkit.data.mapping import map_columns, snake_name
from icpkit.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "crm"


def _source(**columns: str) -> SourceConfig:
    return SourceConfig.model_validate({"path": "x.csv", "columns": columns})


def test_explicit_then_preset_then_same_name():
    frame = pl.DataFrame(
        {"Acct": ["1"], "Company name": ["A"], "Industry": ["x"], "Lifecycle Stage": ["c"]}
    )
    mapped = map_columns(frame, "accounts", _source(account_id="Acct"), PRESETS["hubspot"], "x.csv")
    assert mapped.mapping == {"account_id": "Acct", "name": "Company name", "industry": "Industry"}
    assert mapped.extras == {"lifecycle_stage": "Lifecycle Stage"}
    assert mapped.problems == []


def test_mapped_column_absent_lists_columns_and_closest():
    frame = pl.DataFrame({"AccountId": ["1"], "Name": ["A"]})
    mapped = map_columns(frame, "accounts", _source(account_id="Account_ID"), None, "x.csv")
    messages = [p.message for p in mapped.problems]
    assert any(
        "'Account_ID' (mapped to account_id) is not in the file" in m
        and "closest: 'AccountId'" in m
        for m in messages
    )
    assert any(
        "required column 'account_id' of table accounts is missing" in m and "AccountId, Name" in m
        for m in messages
    )


def test_required_deal_columns_missing_names_closest():
    frame = pl.DataFrame({"acct": ["1"], "Stage_Name": ["won"]})
    mapped = map_columns(frame, "deals", _source(), None, "deals.csv")
    (problem,) = [p for p in mapped.problems if p.column == "account_id"]
    assert problem.severity == "fatal" and "found: acct, Stage_Name" in problem.message


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("Lifecycle Stage", "lifecycle_stage"),
        ("Country/Region", "country_region"),
        ("NumberOfEmployees", "number_of_employees"),
        ("2023 revenue", "col_2023_revenue"),
        ("Größe", "groe"),
        ("", "col"),
    ],
)
def test_snake_names(name, snake):
    assert snake_name(name) == snake


def test_same_column_feeds_id_and_name_extras_do_not_collide():
    frame = pl.DataFrame({"account": ["A"], "name ": ["other"]})
    mapped = map_columns(frame, "accounts", _source(), PRESETS["maven"], "accounts.csv")
    assert mapped.mapping["account_id"] == mapped.mapping["name"] == "account"
    assert mapped.extras == {"name_extra": "name "}
    frame = pl.DataFrame({"account": ["A"], "Name!": ["x"], "name?": ["y"]})
    mapped = map_columns(frame, "accounts", _source(name="Name!"), PRESETS["maven"], "a.csv")
    assert mapped.extras == {"name_extra": "name?"}


@pytest.mark.parametrize(
    ("folder", "preset", "tables"),
    [
        (
            "maven",
            None,
            {
                "accounts": "maven_accounts.csv",
                "deals": "maven_sales_pipeline.csv",
                "maven_products": "maven_products.csv",
            },
        ),
        ("hubspot", "hubspot", {"accounts": "companies.csv", "deals": "deals.csv"}),
        (
            "salesforce",
            None,
            {"accounts": "Account.csv", "deals": "Opportunity.csv", "contacts": "Contact.csv"},
        ),
    ],
)
def test_guess_config_round_trips_through_load(tmp_path, folder, preset, tables):
    shutil.copytree(FIXTURES / folder, tmp_path / folder)
    result = guess_config(tmp_path / folder, preset)
    assert {t: s["path"] for t, s in result.config["sources"].items()} == tables
    assert result.config["preset"] == (preset or folder)
    text = tomli_w.dumps(result.config)  # writable as icpkit.toml
    config = config_from_dict(result.config)
    crm = load_workspace(config, tmp_path / folder)
    assert (
        crm.accounts.height > 0
        and crm.deals is not None
        and crm.deals["stage"].is_in(["won", "lost", "open"]).all()
    )
    lines = result.explanation_lines()
    assert (
        any("account_id" in line and "←" in line for line in lines) and "[sources.accounts]" in text
    )
    assert result.to_frame().height == len(result.columns)


def test_guess_without_preset_uses_names_and_content(tmp_path):
    (tmp_path / "customers.csv").write_text(
        "Customer ID,Company,Website,Headcount,HQ Country,Sector,Tools,Certifications\n"
        "c1,Acme,https://acme.com,120,USA,Software,Slack; Jira,ISO|SOC2\n"
        "c2,Beta,beta.io,40,Germany,Retail,Slack,ISO\n"
    )
    (tmp_path / "opportunities.csv").write_text(
        "Opp,Client,Outcome,Value,Opened,Closed\no1,c1,Won,100,2024-01-01,2024-02-01\no2,c2,Lost,50,2024-01-05,2024-03-01\n"
    )
    (tmp_path / "notes.txt").write_text("unrelated\nfree text\n")
    result = guess_config(tmp_path)
    columns = {(c.table, c.canonical): c.column for c in result.columns}
    assert columns[("accounts", "account_id")] == "Customer ID"
    assert (
        columns[("accounts", "domain")] == "Website"
        and columns[("accounts", "employees")] == "Headcount"
    )
    assert columns[("deals", "account_id")] == "Client" and columns[("deals", "stage")] == "Outcome"
    assert columns[("accounts", "tech_stack")] == "Tools"
    assert result.config["sources"]["accounts"]["tag_columns"] == ["Certifications"]
    assert result.config["preset"] == "none"
    crm = load_workspace(config_from_dict(result.config), tmp_path)
    assert crm.accounts["tech_stack"].to_list() == [["Jira", "Slack"], ["Slack"]]
    assert crm.accounts["certifications"].to_list() == [["ISO", "SOC2"], ["ISO"]]
    assert crm.accounts["country"].to_list() == ["US", "DE"]


def test_guess_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not a folder"):
        guess_config(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no readable data file"):
        guess_config(tmp_path)
    with pytest.raises(ConfigError, match="unknown preset"):
        guess_config(tmp_path, "pipedrive")


def test_headers_that_read_as_wildcards_or_patterns_stay_one_column_each() -> None:
    """Schemathesis posted {"": null, "*": null}: "*" selected every column (a 500)."""
    from icpkit.config import SourceConfig

    frame = pl.DataFrame({"": [1], "*": [2], "^a.*$": [3], "industry": ["Software"]})
    mapped = map_columns(frame, "accounts", SourceConfig(path="x.csv"), None, "x.csv")
    assert mapped.frame.width == 4
    assert sorted(mapped.extras.values()) == ["", "*", "^a.*$"]
    assert mapped.frame["industry"].to_list() == ["Software"]
