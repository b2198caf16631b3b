"""Placeholders ('Select', 'unknown') and suspected ones; numbers and dates that lie."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from icpkit.config import config_from_dict
from icpkit.data import check_workspace, load_workspace
from icpkit.data.normalize import read_numbers
from icpkit.errors import ConfigError


def _workspace(tmp_path: Path, text: str, **settings: object) -> tuple[object, Path]:
    (tmp_path / "accounts.csv").write_text(text)
    source = {"path": "accounts.csv", **settings.pop("source", {})}  # type: ignore[dict-item]
    return config_from_dict({"sources": {"accounts": source}, **settings}), tmp_path


def test_form_placeholders_become_missing_by_default(tmp_path: Path) -> None:
    rows = ["account_id,industry,lead_source,annual_revenue"]
    for i in range(40):
        industry = ["Software", "Select", " unknown ", "N/A", "Retail"][i % 5]
        rows.append(f"a{i},{industry},{'Web' if i % 2 else '-'},{'0.0' if i % 4 == 0 else 10 * i}")
    config, root = _workspace(tmp_path, "\n".join(rows) + "\n")
    crm = load_workspace(config, root)  # type: ignore[arg-type]
    assert set(crm.accounts["industry"].drop_nulls()) == {"Software", "Retail"}
    assert crm.accounts["lead_source"].null_count() == 20
    assert (crm.accounts["annual_revenue"] == 0).sum() == 10  # 0.0 only where configured
    note = next(p for p in crm.problems if p.code == "na_values")
    assert "industry (24)" in note.message


def test_per_column_na_values_and_an_empty_global_list(tmp_path: Path) -> None:
    rows = ["account_id,Industry,Annual Revenue"] + [
        f"a{i},{'Select' if i % 2 else 'Software'},{'0.0' if i % 4 == 0 else 10 * i}"
        for i in range(40)
    ]
    config, root = _workspace(
        tmp_path,
        "\n".join(rows) + "\n",
        na_values=[],
        source={"na_values": {"Annual Revenue": ["0.0"]}},
    )
    crm = load_workspace(config, root)  # type: ignore[arg-type]
    assert crm.accounts["annual_revenue"].null_count() == 10
    assert (crm.accounts["industry"] == "Select").sum() == 20


def test_check_reports_suspected_placeholders_with_counts(tmp_path: Path) -> None:
    rows = ["account_id,segment"] + [
        f"a{i},{['Enterprise', 'SMB', 'TBD', '[not set]'][i % 4]}" for i in range(80)
    ]
    config, root = _workspace(tmp_path, "\n".join(rows) + "\n")
    report = check_workspace(config, root)  # type: ignore[arg-type]
    found = {(p.column, p.value) for p in report.problems if p.code == "placeholder"}
    assert found == {("segment", "TBD"), ("segment", "[not set]")}
    text = "\n".join(report.summary_lines())
    assert "'TBD' fills 20 rows" in text


@pytest.mark.parametrize(
    ("cells", "expected", "note"),
    [
        (["1\u00a0234", "12\u00a0500", "999"], [1234.0, 12500.0, 999.0], None),  # French Excel
        (["1\u202f234", "2\u202f000\u202f000"], [1234.0, 2e6], None),  # narrow no-break space
        (["€12.500", "€3.000", "€1.250.000"], [12500.0, 3000.0, 1_250_000.0], None),
        (["3,5", "12,75", "1.234"], [3.5, 12.75, 1234.0], None),  # decimal commas: EU column
        (["1,200", "3.5", "12,000,000"], [1200.0, 3.5, 12e6], None),
        (["1.324", "2.501"], [1.324, 2.501], "decimal point"),
        (["€12.500", "€3.000"], [12500.0, 3000.0], "thousands separator"),
        # issue 25: the rest of the column settles a lone '1.324'
        (["1.324", "2.500"], [1324.0, 2500.0], "end in a zero"),  # a decimal drops the 0
        (["1.324", "€12.500", "999"], [1324.0, 12500.0, 999.0], "euro sign"),
        (["1.324", "0.250"], [1.324, 0.25], "decimal point"),  # no thousands group starts 0
        (["1.324", "1234.5"], [1.324, 1234.5], None),  # 1234.5 has no group dot
        # a column mixing styles reads '€12.500' by its euro sign, not as twelve and a half
        (["€12.500", "1,234.5", "1.234,5"], [12500.0, 1234.5, 1234.5], "mixes"),
    ],
)
def test_numbers_are_read_by_the_style_of_their_whole_column(cells, expected, note) -> None:
    parsed = read_numbers(pl.Series("x", cells))
    assert parsed.values.to_list() == expected
    assert not parsed.bad.any()
    assert (parsed.note is None) if note is None else (note in parsed.note)


def test_infinite_negative_and_future_values_are_missing_with_a_warning(tmp_path: Path) -> None:
    rows = ["account_id,employees,annual_revenue,founded_year,score,signup"]
    cells = [
        ("-50", "1e400", "2099", "inf", "2099-01-01"),
        ("10", "-5", "1850", "1e400", "2023-02-01"),
        ("20", "100", "1999", "3", "2023-03-01"),
    ]
    rows += [f"a{i},{','.join(c)}" for i, c in enumerate(cells * 10)]
    config, root = _workspace(tmp_path, "\n".join(rows) + "\n")
    report = check_workspace(config, root)  # type: ignore[arg-type]
    assert report.ok, report.fatal
    codes = {(p.column, p.code) for p in report.warnings}
    assert {
        ("employees", "negative"),
        ("annual_revenue", "negative"),
        ("annual_revenue", "overflow"),
        ("founded_year", "implausible_year"),
        ("score", "overflow"),
        ("signup", "future_date"),
    } <= codes
    crm = load_workspace(config, root)  # type: ignore[arg-type]
    accounts = crm.accounts
    assert accounts["employees"].min() == 10
    assert accounts["annual_revenue"].to_list()[:3] == [None, None, 100.0]
    assert accounts["score"].is_infinite().sum() == 0 and accounts["score"].max() == 3
    assert accounts["founded_year"].to_list()[:3] == [None, 1850, 1999]
    assert accounts["signup"].null_count() == 10


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"discovery": {"seed": -1}}, "discovery.seed"),
        ({"success": {"shrinkage_prior": float("inf")}}, "finite number"),
        ({"sources": {"accounts": {"path": "a.csv", "delimiter": ";;"}}}, "one character"),
        ({"sources": {"accounts": {"path": "a.csv", "encoding": "klingon"}}}, "unknown encoding"),
        ({"tiers": {"tier1_share": 0.9, "tier2_share": 0.9, "tier3_share": 0.9}}, "at most 1"),
        ({"success": {"best_share": 0.7, "worst_share": 0.6}}, "at most 1"),
        ({"validation": {"cut_date": "2099-01-01"}}, "in the future"),
        ({"validation": {"cut_date": "31/12/2023"}}, "not a date"),
    ],
)
def test_implausible_settings_are_config_errors(settings, message) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(settings)


@pytest.mark.parametrize("canonical", ["industry", "account_id", "employees"])
def test_a_mapping_to_a_missing_column_is_a_clear_problem(tmp_path: Path, canonical) -> None:
    text = "account_id,industry,employees\na1,Software,10\na2,Retail,20\n"
    config, root = _workspace(tmp_path, text, source={"columns": {canonical: "Nope"}})
    report = check_workspace(config, root)  # type: ignore[arg-type]
    assert any(p.code == "missing_column" and "'Nope'" in p.message for p in report.fatal)


def test_counts_and_money_read_a_lone_three_digit_dot_as_thousands_and_name_each_row(
    tmp_path: Path,
) -> None:
    """'1.324' employees or '1.324' revenue is never silently read 1000× too small (issue 25):
    the column's kind settles it, and every cell read by that inference is named by its row."""
    rows = ["account_id,employees,annual_revenue,visits"]
    rows += [f"a{i},{1 + i}.{321 + i},{i + 1}.{451 + i},{i + 1}.{451 + i}" for i in range(3)]
    rows += [f"b{i},{50 + i},{900 + i},{i}" for i in range(3)]
    config, root = _workspace(tmp_path, "\n".join(rows) + "\n")
    crm = load_workspace(config, root)  # type: ignore[arg-type]
    assert crm.accounts["employees"].head(3).to_list() == [1321.0, 2322.0, 3323.0]
    assert crm.accounts["annual_revenue"].head(3).to_list() == [1451.0, 2452.0, 3453.0]
    assert crm.accounts["visits"].head(3).to_list() == [1.451, 2.452, 3.453]  # any number
    named = {(p.row, p.column) for p in crm.problems if p.code == "ambiguous_number"}
    assert named >= {(r, c) for r in (1, 2, 3) for c in ("employees", "annual_revenue")}
    message = next(p.message for p in crm.problems if p.code == "ambiguous_number")
    assert "read as" in message and str(tmp_path) not in message
