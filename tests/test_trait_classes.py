"""Classes of non-traits and trait shapes, on their generators (icpkit.datasets.trait_classes):
placeholders, people of the sales process, id-like categoricals, adjacent ranges; column fates;
init guesses on ordinary exports."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from icpkit.config import DiscoveryConfig, WorkspaceConfig, config_from_dict
from icpkit.data import check_workspace, guess_config, load_workspace
from icpkit.data.attributes import choose_attributes, fate_order
from icpkit.data.guard import screen_attributes
from icpkit.data.trait_words import (
    ASSIGNED_PERSON,
    is_placeholder,
    people_column,
    people_name,
)
from icpkit.datasets.trait_classes import (
    TraitCase,
    adjacent_threshold,
    id_like_categorical,
    person_columns,
    placeholder_levels,
)
from icpkit.discovery import find_icp
from icpkit.discovery.attributes import (
    attribute_conditions,
    numeric_sentinel,
    placeholder_condition,
)
from icpkit.discovery.icp import _union
from icpkit.outcomes import compute_outcomes
from icpkit.rules import Condition, Segment, parse_segment


def _discover(case: TraitCase, settings: DiscoveryConfig | None = None):
    config = WorkspaceConfig()
    settings = settings or config.discovery
    labels = compute_outcomes(case.crm, config.success).labels_for(case.crm.accounts)
    screening = screen_attributes(case.crm.accounts, case.crm.deals, labels, settings)
    found = find_icp(case.crm.accounts, labels, screening.settings)
    return screening, found


def _conditions(found) -> list[Condition]:
    rules = [r.rule for r in (*found.criteria, *found.disqualifiers)]
    return [c for rule in rules for c in parse_segment(rule)]


# --- placeholders ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["unknown", "Other", "N/A", "n.a.", "-", "", "  ", "Select", "Not specified", "nonexistent",
     "Unbekannt", "Sonstige", "inconnu", "Desconocido", "altro", "onbekend", None],
)  # fmt: skip
def test_placeholders_in_several_languages_read_as_no_answer(value: object) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["Retail", "Otherworld Ltd", "Software", "None Such Inc", "0"])
def test_real_levels_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


def test_a_criterion_is_never_made_of_placeholders_or_missing_values() -> None:
    case = placeholder_levels(3000, seed=1)
    _, found = _discover(case)
    conditions = _conditions(found)
    assert conditions, "the planted industry trait is found"
    assert not [c for c in conditions if placeholder_condition(c)], conditions
    assert any(c.attr == "industry" for c in conditions)
    # the single-trait profile still shows how the placeholders split the outcome
    assert any(t.attribute == "origin" and t.kind == "missing" for t in found.single_traits)


def test_placeholders_set_in_the_config_count_as_well() -> None:
    accounts = pl.DataFrame({"account_id": ["a", "b", "c"], "origin": ["keine", "k.A.", "n.v."]})
    settings = DiscoveryConfig(placeholders=["n.v."])
    fates = {f.column: f.fate for f in choose_attributes(accounts, settings).fates()}
    assert fates["origin"] == "placeholder_only"
    assert placeholder_condition(Condition("origin", "eq", "n.v."), ("n.v.",))
    assert not placeholder_condition(Condition("origin", "eq", "n.v."))


# --- people of the sales process -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("account_owner", "strong"),
        ("Owner", "strong"),
        ("AccountManager", "strong"),
        ("SDR", "strong"),
        ("KA_name", "weak"),
        ("sales_agent", "weak"),
        ("ownership", None),
        ("employees", None),
        ("poutcome", None),
    ],
)
def test_people_columns_by_name(name: str, kind: str | None) -> None:
    assert people_name(name) == kind


def test_a_weak_name_needs_values_that_read_as_people() -> None:
    people = pl.Series("KA_name", ["VM", "RJ", "Tatiana Trifonova", "AD"] * 30)
    segments = pl.Series("agent_type", ["inbound", "outbound", "partner", "web"] * 30)
    assert people_column(people) and not people_column(segments)
    staff = pl.Series("handled", [f"{f} Novak" for f in ("Anna", "Boris", "Elena")] * 40)
    assert people_column(staff)  # a few full names over many rows: staff, whatever the name


def test_people_are_never_traits_and_are_reported_as_a_sales_process_finding() -> None:
    case = person_columns(3000, seed=2)
    screening, found = _discover(case)
    fates = {f.column: f for f in screening.choice.fates()}
    for column in case.never:
        assert fates[column].fate == "sales_process"
        assert fates[column].reason.startswith(ASSIGNED_PERSON)
    assert not {c.attr for c in _conditions(found)} & set(case.never)


# --- id-like and many-level categoricals ------------------------------------------------------


def test_a_many_level_categorical_is_grouped_and_a_code_per_row_is_an_id() -> None:
    case = id_like_categorical(3000, seed=3)
    screening, found = _discover(case)
    fates = {f.column: f for f in screening.choice.fates()}
    assert fates["branch"].fate == "grouped" and "other" in fates["branch"].reason
    assert fates["ref_code"].fate == "id"
    assert any(c.attr == "branch" for c in _conditions(found))


def test_every_column_has_a_fate_in_table_order() -> None:
    accounts = pl.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "empty": pl.Series([None] * 4, dtype=pl.Utf8),
            "same": ["x"] * 4,
            "origin": ["unknown", "Other", None, "-"],
            "first_contact_date": ["2024-01-02", "2024-02-03", "2024-03-04", "2024-04-05"],
            "contact": ["cellular", "telephone"] * 2,
            "size": [1, 2, 3, 4],
        }
    )
    fates = {f.column: f.fate for f in choose_attributes(accounts).fates(accounts.columns)}
    assert list(fates) == accounts.columns
    assert fates == {
        "account_id": "id",
        "empty": "empty",
        "same": "constant",
        "origin": "placeholder_only",
        "first_contact_date": "attribute",  # dates as text: not personal data by their name
        "contact": "attribute",  # cellular / telephone: a channel, not someone's details
        "size": "attribute",
    }
    typed = accounts.with_columns(pl.col("first_contact_date").str.to_date())
    assert {f.column: f.fate for f in choose_attributes(typed).fates()}[
        "first_contact_date"
    ] == "date"


def test_fate_order_leaves_out_canonical_columns_no_file_column_filled() -> None:
    accounts = pl.DataFrame(
        {"account_id": ["a"], "industry": pl.Series([None], dtype=pl.Utf8), "x": [1]}
    )
    assert fate_order(accounts) == ["account_id", "x"]


# --- one segment, one criterion ---------------------------------------------------------------


def test_adjacent_ranges_join_and_a_gap_keeps_them_apart() -> None:
    low = Segment((Condition("employees", "range", (150.0, 300.0)),))
    high = Segment((Condition("employees", "range", (300.0, math.inf)),))
    assert str(_union(low, high)) == str(
        Segment((Condition("employees", "range", (150.0, math.inf)),))
    )
    far = Segment((Condition("employees", "range", (500.0, math.inf)),))
    assert _union(low, far) is None


def test_a_planted_threshold_comes_out_as_one_criterion() -> None:
    case = adjacent_threshold(4000, seed=0)
    _, found = _discover(case)
    on_employees = [
        c for r in found.criteria for c in parse_segment(r.rule) if c.attr == "employees"
    ]
    assert len(on_employees) == 1, [r.rule for r in found.criteria]
    lo, hi = on_employees[0].value
    assert lo == 150 and hi == math.inf


# --- init guesses -----------------------------------------------------------------------------


def _write(folder: Path, frame: pl.DataFrame, name: str = "leads.csv") -> None:
    frame.write_csv(folder / name)


def test_an_ordinal_index_is_no_domain_and_a_flag_is_no_country(tmp_path: Path) -> None:
    n = 60
    _write(
        tmp_path,
        pl.DataFrame(
            {
                "lead_id": [f"L{i}" for i in range(n)],
                "priority": ["01.High", "02.Medium", "03.Low"] * (n // 3),
                "subscribed": ["No", "Yes", "No"] * (n // 3),
                "Converted": ["1", "0", "0"] * (n // 3),
            }
        ),
    )
    columns = guess_config(tmp_path, outcome="Converted").config["sources"]["accounts"]["columns"]
    assert "domain" not in columns and "country" not in columns


def test_init_outcome_without_an_id_column_uses_the_row_number(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 90
    _write(
        tmp_path,
        pl.DataFrame(
            {
                "age": rng.integers(20, 70, n),
                "job": rng.choice(["admin", "technician", "services"], n),
                "y": rng.choice(["yes", "no"], n),
            }
        ),
        "bank.csv",
    )
    guess = guess_config(tmp_path, outcome="y")
    accounts = guess.config["sources"]["accounts"]
    assert accounts["id_is_row_number"] is True
    crm = load_workspace(config_from_dict(guess.config), tmp_path)
    assert crm.accounts["account_id"].to_list()[:3] == ["1", "2", "3"]
    assert crm.deals is not None and crm.deals.height == n


def test_init_does_not_take_a_column_with_repeated_values_as_the_id(tmp_path: Path) -> None:
    n = 60
    ids = [f"{1.2 + (i % 50) / 100:.2f}E+12" for i in range(n)]  # a spreadsheet's rounding
    _write(
        tmp_path,
        pl.DataFrame({"PID": ids, "segment": ["Gold", "Silver"] * 30, "CHURN": ["No"] * n}),
    )
    guess = guess_config(tmp_path, outcome="CHURN")
    accounts = guess.config["sources"]["accounts"]
    if accounts["columns"].get("account_id") == "PID":  # only if PID was guessed at all
        pytest.fail("a column with repeated values was kept as the id")
    assert accounts.get("id_is_row_number") is True


def test_outcome_date_column_with_a_deals_source_is_reported_unused(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("account_id,created\na1,2024-01-01\na2,2024-02-01\n")
    (tmp_path / "deals.csv").write_text("deal_id,account_id,stage\nd1,a1,won\nd2,a2,lost\n")
    sources = {
        "accounts": {"path": "accounts.csv", "outcome_date_column": "created"},
        "deals": {"path": "deals.csv"},
    }
    report = check_workspace(config_from_dict({"sources": sources}), tmp_path)
    assert any(
        p.column == "created" and "outcome_date_column" in p.message for p in report.warnings
    )


def test_check_lists_every_column_fate(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 300
    _write(
        tmp_path,
        pl.DataFrame(
            {
                "lead_id": [f"L{i}" for i in range(n)],
                "account_owner": rng.choice(["Anna Novak", "Boris Keller", "Elena Rossi"], n),
                "segment": rng.choice(["Gold", "Silver", "Bronze", "unknown"], n),
                "Converted": rng.choice(["1", "0", "0"], n),
            }
        ),
    )
    guess = guess_config(tmp_path, outcome="Converted")
    (tmp_path / "icpkit.toml").write_text(_toml(guess.config))
    report = check_workspace(config_from_dict(guess.config), tmp_path)
    assert report.columns == ()  # the data layer alone lists no fates; the workspace check does
    from icpkit.pipeline import Workspace

    full = Workspace.open(tmp_path).check()
    fates = {c.column: c.fate for c in full.columns}
    assert fates["account_owner"] == "sales_process" and fates["segment"] == "attribute"
    text = "\n".join(full.summary_lines())
    assert "sales process: assigned person" in text and "Accounts columns:" in text


def _toml(config: dict[str, object]) -> str:
    import tomli_w

    text = tomli_w.dumps(config)
    tomllib.loads(text)
    return text


def test_a_numeric_code_for_no_value_is_never_inside_a_range() -> None:
    rng = np.random.default_rng(4)
    days = np.where(rng.random(2000) < 0.9, 999, rng.integers(0, 25, 2000)).astype(float)
    frame = pl.DataFrame({"pdays": days})
    assert numeric_sentinel(np.sort(days)) == ("high", 999.0, float(days[days < 999].max()))
    conditions = attribute_conditions(frame, "pdays", DiscoveryConfig())
    assert conditions and all(c.value[1] <= 999 for c in conditions if c.op == "range")
    for cond in conditions:
        assert not (Segment((cond,)).mask(frame) & (days == 999)).any(), cond
    plain = np.sort(rng.integers(0, 1200, 2000).astype(float))  # 999 is an ordinary value here
    assert numeric_sentinel(plain) is None


def test_the_detail_report_lists_column_fates_and_the_sales_process_finding() -> None:
    from icpkit.profile import ColumnFate, IcpProfile
    from icpkit.report import ReportInput
    from icpkit.report.render import render_html, render_markdown

    fates = [
        ColumnFate(column="industry", fate="attribute", reason="used as a customer attribute"),
        ColumnFate(column="KA_name", fate="sales_process", reason=ASSIGNED_PERSON),
        ColumnFate(column="origin", fate="placeholder_only", reason="only placeholders"),
    ]
    profile = IcpProfile(column_fates=fates)
    assert IcpProfile.model_validate_json(profile.model_dump_json()).column_fates == fates
    html = render_html(ReportInput(profile=profile))
    text, _ = render_markdown(ReportInput(profile=profile))
    for out in (html, text.replace("\\_", "_")):
        assert "Every column of the accounts table (1 of 3 used)" in out
        assert "Sales process: KA_name holds the assigned person" in out
        assert "placeholder only" in out


def test_a_column_named_like_an_id_with_distinct_values_is_an_id() -> None:
    n = 200
    accounts = pl.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "PID": np.random.default_rng(1).choice(10**9, n, replace=False),  # not a run
            "Lead Number": [str(660_000 + i) for i in range(n)],
            "employees": np.arange(n),  # distinct too, but a size, not an id
            "zone_code": ["N", "S", "E", "W"] * (n // 4),  # a code with few values is a category
        }
    )
    fates = {f.column: f.fate for f in choose_attributes(accounts).fates()}
    assert fates["PID"] == fates["Lead Number"] == "id"
    assert fates["employees"] == fates["zone_code"] == "attribute"
