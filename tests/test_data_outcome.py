"""Single-table lead/account exports with an outcome column; init and check on ordinary exports."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.config import config_from_dict
from icpkit.data import check_workspace, guess_config, load_workspace
from icpkit.data.outcome_column import outcome_stages
from icpkit.errors import ConfigError
from icpkit.pipeline import build_icp

runner = CliRunner()


def _leads(folder: Path, outcome: list[str], name: str = "leads.csv") -> Path:
    n = len(outcome)
    frame = pl.DataFrame(
        {
            "Lead ID": [f"L{i}" for i in range(n)],
            "Lead Source": [["Web", "Referral", "Event"][i % 3] for i in range(n)],
            "Total Visits": [f"{(i % 7) * 1.5:.1f}" for i in range(n)],
            "Created Date": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
            "Converted": outcome,
        }
    )
    frame.write_csv(folder / name)
    return folder / name


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "0", "1.0", None], ["won", "lost", "won", "open"]),
        (["Yes", "no", "TRUE", "false"], ["won", "lost", "won", "lost"]),
        (["Won", "Lost", "Converted", "Not Converted"], ["won", "lost", "won", "lost"]),
        (["Closed Won", "Closed Lost", "Open", "In Progress"], ["won", "lost", "open", "open"]),
    ],
)
def test_outcome_values_read_as_won_lost_or_open(values, expected) -> None:
    stages, _, _ = outcome_stages(pl.Series(values), {}, missing_is_lost=False)
    assert stages.to_list() == expected


def test_missing_outcomes_count_as_lost_only_when_asked() -> None:
    values = pl.Series(["1", None, "open", "0"])
    stages, _, defaulted = outcome_stages(values, {}, missing_is_lost=True)
    assert stages.to_list() == ["won", "lost", "lost", "lost"] and defaulted == 2


def test_an_outcome_column_becomes_deals_and_never_an_attribute(tmp_path: Path) -> None:
    _leads(tmp_path, ["1", "0", "0", ""] * 10)
    source = {
        "path": "leads.csv",
        "outcome_column": "Converted",
        "outcome_date_column": "Created Date",
        "columns": {"account_id": "Lead ID"},
    }
    crm = load_workspace(config_from_dict({"sources": {"accounts": source}}), tmp_path)
    assert "converted" not in crm.accounts.columns
    assert crm.deals is not None
    counts = dict(crm.deals.group_by("stage").len().iter_rows())
    assert counts == {"won": 10, "lost": 20, "open": 10}
    assert crm.deals["closed_at"].null_count() == 10  # open rows have no close date
    note = next(p for p in crm.problems if p.code == "outcome")
    assert "10 won, 20 lost, 10 without an outcome" in note.message
    lost = {**source, "outcome_missing_is_lost": True}
    crm = load_workspace(config_from_dict({"sources": {"accounts": lost}}), tmp_path)
    assert crm.deals is not None and (crm.deals["stage"] == "lost").sum() == 30
    assert any("counted as lost" in p.message for p in crm.problems)


def test_outcome_column_problems_are_clear(tmp_path: Path) -> None:
    _leads(tmp_path, ["1", "0"] * 10)
    (tmp_path / "deals.csv").write_text("deal_id,account_id,stage\nd,L1,won\n")
    source = {"path": "leads.csv", "outcome_column": "Nope", "columns": {"account_id": "Lead ID"}}
    report = check_workspace(config_from_dict({"sources": {"accounts": source}}), tmp_path)
    assert any("outcome column 'Nope' is not in the file" in p.message for p in report.fatal)
    both = {
        "accounts": {**source, "outcome_column": "Converted"},
        "deals": {"path": "deals.csv"},
    }
    report = check_workspace(config_from_dict({"sources": both}), tmp_path)
    assert any("both configured" in p.message for p in report.fatal)


def test_init_recognises_a_lead_list_and_check_passes(tmp_path: Path) -> None:
    _leads(tmp_path, ["1", "0", "0"] * 20)
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    config = tomllib.loads((tmp_path / "icpkit.toml").read_text())
    accounts = config["sources"]["accounts"]
    assert accounts["outcome_column"] == "Converted"
    assert accounts["outcome_date_column"] == "Created Date"
    assert accounts["columns"]["account_id"] == "Lead ID"
    assert "domain" not in accounts["columns"]  # visit counts such as 4.5 are no domains
    check = runner.invoke(app, ["check", "-w", str(tmp_path)])
    assert check.exit_code == 0, check.output


def test_init_outcome_option_names_the_column(tmp_path: Path) -> None:
    _leads(tmp_path, ["Won", "Lost"] * 15, name="mql.csv")
    guess = guess_config(tmp_path, outcome="Converted")
    assert guess.config["sources"]["accounts"]["outcome_column"] == "Converted"
    with pytest.raises(ConfigError, match="no such column"):
        guess_config(tmp_path, outcome="Convertd")


def test_init_exits_non_zero_and_says_why_per_file(tmp_path: Path) -> None:
    (tmp_path / "numbers.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "numbers.csv" in result.output and "broken.xlsx" in result.output
    assert not (tmp_path / "icpkit.toml").exists()


def test_check_reports_a_domain_mapping_that_holds_no_domains(tmp_path: Path) -> None:
    rows = ["account_id,visits"] + [f"a{i},{i * 0.5}" for i in range(30)]
    (tmp_path / "accounts.csv").write_text("\n".join(rows) + "\n")
    source = {"path": "accounts.csv", "columns": {"domain": "visits"}}
    report = check_workspace(config_from_dict({"sources": {"accounts": source}}), tmp_path)
    assert any(p.code == "wrong_type" and p.column == "visits" for p in report.warnings)


def test_a_build_without_dated_outcomes_says_there_is_no_backtest(tmp_path: Path) -> None:
    _leads(tmp_path, ["1", "0", "0"] * 40)
    source = {
        "path": "leads.csv",
        "outcome_column": "Converted",
        "columns": {"account_id": "Lead ID"},
    }
    config = config_from_dict({"sources": {"accounts": source}})
    result = build_icp(load_workspace(config, tmp_path), config)
    # no dates: no out-of-time backtest, said out loud; a cross-validated estimate stands in
    validation = result.profile.validation
    assert validation is None or validation.method == "cross-validated"
    assert any("out-of-time backtest" in c.lower() for c in result.profile.caveats), (
        result.profile.caveats
    )


def test_a_lead_list_with_the_deals_of_the_winners_counts_the_rest_as_lost(tmp_path: Path) -> None:
    rows = ["account_id,industry"] + [f"L{i},{['Web', 'Event'][i % 2]}" for i in range(30)]
    (tmp_path / "leads.csv").write_text("\n".join(rows) + "\n")
    won = ["deal_id,account_id,stage"] + [f"D{i},L{i},Closed Won" for i in range(0, 30, 3)]
    (tmp_path / "closed_deals.csv").write_text("\n".join(won) + "\n")
    guess = guess_config(tmp_path)
    assert guess.config["sources"]["accounts"]["outcome_missing_is_lost"] is True
    assert any(p.code == "only_wins" for p in guess.problems)
    config = config_from_dict(guess.config)
    crm = load_workspace(config, tmp_path)
    assert crm.deals is not None
    assert dict(crm.deals.group_by("stage").len().iter_rows()) == {"won": 10, "lost": 20}
    assert any(
        "20 accounts without a closed deal counted as lost" in p.message for p in crm.problems
    )


def test_check_reports_an_email_mapping_that_holds_no_emails(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("account_id\na1\na2\n")
    (tmp_path / "contacts.csv").write_text("account_id,visits\na1,3\na2,4\n")
    sources = {
        "accounts": {"path": "accounts.csv"},
        "contacts": {"path": "contacts.csv", "columns": {"email": "visits"}},
    }
    report = check_workspace(config_from_dict({"sources": sources}), tmp_path)
    assert any(p.code == "wrong_type" and p.column == "visits" for p in report.warnings)


def test_a_churn_flag_reads_yes_as_lost(tmp_path: Path) -> None:
    n = 40
    frame = pl.DataFrame(
        {"customer": [f"C{i}" for i in range(n)], "CHURN": ["Yes"] + ["No"] * (n - 1)}
    )
    frame.write_csv(tmp_path / "customers.csv")
    source = {
        "path": "customers.csv",
        "outcome_column": "CHURN",
        "columns": {"account_id": "customer"},
    }
    crm = load_workspace(config_from_dict({"sources": {"accounts": source}}), tmp_path)
    assert crm.deals is not None
    assert dict(crm.deals.group_by("stage").len().iter_rows()) == {"won": n - 1, "lost": 1}
    note = next(p for p in crm.problems if p.code == "outcome")
    assert "names a bad outcome" in note.message and "'Yes' = lost" in note.message
    # stage_values still win over the reading by name
    source["stage_values"] = {"Yes": "won", "No": "lost"}
    crm = load_workspace(config_from_dict({"sources": {"accounts": source}}), tmp_path)
    assert dict(crm.deals.group_by("stage").len().iter_rows()) == {"won": 1, "lost": n - 1}
