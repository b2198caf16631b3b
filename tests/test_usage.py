"""Product usage (issue 28): readers, mapping, features as of a date, check, bad input, the planted
synthetic effects, PQA. The 10-seed recovery runs under the slow marker."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import namedtuple
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from icpkit.config import UsageConfig
from icpkit.datasets.synthetic.usage import USAGE_SETTINGS, make_usage_crm
from icpkit.errors import IcpError, SchemaError
from icpkit.usage.build import check_usage, convert_usage, with_usage
from icpkit.usage.features import usage_features
from icpkit.usage.mapping import map_accounts
from icpkit.usage.pqa import pqa_check
from icpkit.usage.readers import canonical, scan_usage
from icpkit.usage.signals import usage_signals

ACCOUNTS = pl.DataFrame({"account_id": ["A1", "A2"], "domain": ["acme.com", "beta.io"]})


def _lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


FORMATS = {
    "posthog": [
        {"event": "dashboard_created", "distinct_id": "ann@acme.com",
         "timestamp": "2024-03-01T10:00:00.000Z", "properties": {"$groups": {"company": "A1"}}},
        {"event": "integration_connected", "distinct_id": "bob@beta.io",
         "timestamp": "2024-03-02T11:00:00+01:00", "properties": {"integration": "slack"}},
    ],
    "segment": [
        {"type": "track", "event": "dashboard_created", "userId": "ann@acme.com",
         "timestamp": "2024-03-01T10:00:00Z", "context": {"groupId": "A1"}, "properties": {}},
        {"type": "identify", "userId": "x", "timestamp": "2024-03-01T10:00:00Z"},
        {"type": "track", "event": "integration_connected", "anonymousId": "bob@beta.io",
         "timestamp": "2024-03-02T10:00:00Z", "properties": {"integration": "slack"}},
    ],
    "amplitude": [
        {"event_type": "dashboard_created", "user_id": "ann@acme.com",
         "event_time": "2024-03-01 10:00:00.000000", "groups": {"company": "A1"}},
        {"event_type": "integration_connected", "user_id": "bob@beta.io",
         "event_time": "2024-03-02 10:00:00.000000", "event_properties": {"integration": "slack"}},
    ],
    "mixpanel": [
        {"event": "dashboard_created",
         "properties": {"time": 1709287200, "distinct_id": "ann@acme.com", "company_id": "A1"}},
        {"event": "integration_connected",
         "properties": {"time": 1709373600000, "distinct_id": "bob@beta.io",
                        "integration": "slack"}},
    ],
}  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_json_export_reads_into_the_same_events(tmp_path: Path, fmt: str) -> None:
    path = _lines(tmp_path / "events.jsonl", FORMATS[fmt])
    for given in (fmt, "auto"):
        events = map_accounts(canonical(scan_usage(path, given)), ACCOUNTS).collect()
        assert events["account_id"].to_list() == ["A1", "A2"]
        assert events["event"].to_list() == ["dashboard_created", "integration_connected"]
        assert events["timestamp"][0] == datetime(2024, 3, 1, 10)
        assert events["timestamp"][1] == datetime(2024, 3, 2, 10)
        assert events["integration"][1] == "slack"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_duckdb_parses_each_json_export_into_the_same_events_as_polars(
    tmp_path: Path, fmt: str
) -> None:
    records = [*FORMATS[fmt], {**FORMATS[fmt][0], "extra": {"nested": [1, 2]}}]
    if fmt != "mixpanel":  # a numeric value property
        key = "event_properties" if fmt == "amplitude" else "properties"
        records.append({**FORMATS[fmt][0], key: {"value": 2.5, "integration": "jira"}})
    path = _lines(tmp_path / "events.jsonl", records)
    streamed = canonical(scan_usage(path, fmt, engine="polars")).collect()
    copied = scan_usage(path, fmt, engine="duckdb")
    assert "parquet" in copied.explain().lower()  # read from the copy, not the JSON
    assert_frame_equal(canonical(copied).collect(), streamed)


def test_a_malformed_line_past_the_sample_is_named_by_the_duckdb_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import icpkit.usage.readers as readers

    monkeypatch.setattr(readers, "SAMPLE_ROWS", 1)  # line 3 lies past the checked sample
    records = [json.dumps(r) for r in FORMATS["posthog"]]
    path = tmp_path / "events.jsonl"
    path.write_text(records[0] + "\n" + records[1] + "\n" + '{"event": "x", "distinct_id": \n')
    with pytest.raises(SchemaError) as err:
        scan_usage(path, "posthog", shown="events.jsonl", engine="duckdb")
    text = str(err.value)
    assert "events.jsonl row 3" in text and "not valid JSON" in text


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_plain_tables_read_with_mapped_columns(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame(
        {
            "who": ["ann@acme.com"],
            "when": ["2024-03-01 10:00:00"],
            "what": ["x"],
            "account_id": ["A1"],
        }
    )
    path = tmp_path / f"e.{suffix}"
    frame.write_csv(path) if suffix == "csv" else frame.write_parquet(path)
    cols = {"user_id": "who", "timestamp": "when", "event": "what"}
    events = canonical(scan_usage(path, "auto", columns=cols)).collect()
    assert events.row(0, named=True)["group_id"] == "A1"
    assert events["timestamp"][0] == datetime(2024, 3, 1, 10)


def test_a_malformed_json_line_is_named_with_its_line(tmp_path: Path) -> None:
    records = [json.dumps(r) for r in FORMATS["posthog"]]
    path = tmp_path / "events.jsonl"
    path.write_text(records[0] + "\n" + records[1] + "\n" + '{"event": "x", "distinct_id": \n')
    with pytest.raises(SchemaError) as err:
        scan_usage(path, "posthog", shown="events.jsonl")
    text = str(err.value)
    assert "events.jsonl row 3" in text and "not valid JSON" in text


def test_an_unknown_timestamp_format_names_row_and_value(tmp_path: Path) -> None:
    records = [dict(r) for r in FORMATS["segment"]]
    records[2] = {**records[2], "timestamp": "03/02/2024 10h00"}
    path = _lines(tmp_path / "events.jsonl", records)
    with pytest.raises(SchemaError) as err:
        scan_usage(path, "segment", shown="events.jsonl")
    text = str(err.value)
    assert "row 3" in text and "03/02/2024 10h00" in text and "ISO 8601" in text


def test_check_reports_unmapped_users_skew_bots_and_early_events_without_naming_users() -> None:
    base = datetime(2024, 3, 1, 10)
    users = ["ann@acme.com", "zed@nowhere.org", "bot@beta.io"]
    rows = [(None, users[0], base, "a"), (None, users[1], base, "a")]
    rows += [(None, users[0], datetime(2031, 1, 1), "a")]  # clock skew
    rows += [(None, users[2], base + timedelta(seconds=i / 100), "a") for i in range(1200)]
    events = pl.DataFrame(
        rows, schema=["group_id", "user_id", "timestamp", "event"], orient="row"
    ).with_columns(
        pl.lit(None, pl.Float64).alias("value"), pl.lit(None, pl.Utf8).alias("integration")
    )
    accounts = ACCOUNTS.with_columns(pl.Series("created_at", [date(2024, 6, 1), date(2023, 1, 1)]))
    mapped = map_accounts(events.lazy(), accounts)
    problems, counts = check_usage(
        mapped, accounts, UsageConfig(), "events.jsonl", now=datetime(2025, 1, 1)
    )
    codes = {p.code for p in problems}
    assert codes == {"unmapped_users", "before_account", "clock_skew", "bots"}
    assert counts["unmapped_users"] == 1 and counts["bots"] == 1 and counts["future"] == 1
    assert counts["before_created"] == 1  # ann's March event precedes A1's creation (June)
    assert not any("@" in str(p) for p in problems)


def test_features_never_use_events_on_or_after_the_as_of_date() -> None:
    base = datetime(2024, 1, 1)
    rows = [
        ("A1", "u1", base + timedelta(days=d), e)
        for d, e in [(0, "a_used"), (2, "report_created"), (10, "b_used")]
    ]
    rows += [("A1", "u2", base + timedelta(days=40), "c_used")]
    events = pl.DataFrame(
        rows,
        schema=["account_id", "user_id", "timestamp", "event"],
        orient="row",
    ).with_columns(pl.lit(None, pl.Utf8).alias("integration"))
    settings = UsageConfig.model_validate(USAGE_SETTINGS | {"key_events": ["*_used"]})
    early = usage_features(events.lazy(), settings, as_of=date(2024, 1, 11)).frame.row(
        0, named=True
    )
    late = usage_features(events.lazy(), settings, as_of=date(2024, 3, 1)).frame.row(0, named=True)
    assert early["usage_breadth"] == 1 and late["usage_breadth"] == 3
    assert early["usage_days_to_value"] == pytest.approx(2.0)
    cut = pl.DataFrame({"account_id": ["A1"], "cut": [date(2024, 1, 2)]})
    first = usage_features(events.lazy(), settings, as_of=date(2024, 3, 1), cuts=cut).frame.row(
        0, named=True
    )
    assert first["usage_breadth"] == 1 and first["usage_days_to_value"] is None


def test_a_file_larger_than_the_free_space_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _lines(tmp_path / "events.jsonl", FORMATS["posthog"])
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**12, 10**12, 10))
    target = tmp_path / "out" / "usage.parquet"
    with pytest.raises(IcpError, match="free; nothing was written"):
        convert_usage(canonical(scan_usage(path)), path, target)
    assert not target.exists() and not list((tmp_path / "out").glob("*"))
    monkeypatch.undo()
    convert_usage(canonical(scan_usage(path)), path, target)
    assert pl.read_parquet(target).height == 2


@pytest.fixture(scope="module")
def synthetic():  # type: ignore[no-untyped-def]
    return make_usage_crm(2500, seed=1)


def test_the_post_outcome_feature_leaks_at_the_end_and_vanishes_as_of_each_outcome(
    synthetic,
) -> None:  # type: ignore[no-untyped-def]
    settings = UsageConfig.model_validate(USAGE_SETTINGS)
    crm = synthetic.to_crm_data()
    guarded = with_usage(crm, settings, synthetic.as_of, signals=False).accounts
    assert guarded["usage_count_invoices"].max() == 0  # measured before each outcome: absent
    events = map_accounts(crm.usage, crm.accounts, crm.contacts)
    naive = usage_features(events, settings, as_of=synthetic.as_of).frame
    won = set(synthetic.deals.filter(pl.col("stage") == "won")["account_id"])
    invoices = naive.filter(pl.col("usage_count_invoices") > 0)["account_id"]
    assert set(invoices) <= won  # measured at the end it would single out customers


def test_usage_surges_become_signals_with_readable_values(synthetic) -> None:  # type: ignore[no-untyped-def]
    crm = synthetic.to_crm_data()
    events = map_accounts(crm.usage, crm.accounts, crm.contacts)
    found = usage_signals(events, UsageConfig.model_validate(USAGE_SETTINGS))
    surges = found.filter(pl.col("type") == "usage_surge")
    assert surges.height > 50
    assert surges["value"].str.contains(r"^\d+× in 2 weeks$").all()


def test_pqa_meets_madkudus_bar_on_the_synthetic_data(synthetic) -> None:  # type: ignore[no-untyped-def]
    crm = synthetic.to_crm_data()
    crm = dataclasses.replace(crm, usage=map_accounts(crm.usage, crm.accounts, crm.contacts))
    # fit alone: the planted firmographic effect (Software converts more)
    fit = crm.accounts.select(
        "account_id", (0.3 + 0.3 * (pl.col("industry") == "Software")).alias("fit_probability")
    )
    check = pqa_check(
        crm, UsageConfig.model_validate(USAGE_SETTINGS), synthetic.as_of - timedelta(days=90), fit
    )
    assert check.top30_share_pqa >= 0.6 and check.top30_share_pqa > check.top30_share_fit
    # MadKudu's second bar (top 10% ≥ 10× the low band): 14.5× here, but its 95% interval on
    # 114 open accounts and 13 conversions is 4.2–45×, and on 10k accounts it is met on some
    # seeds only (bench/usage_pqa_seeds.py); asserted at 5× so the test says what is reliably true
    assert check.top_vs_bottom_pqa is not None and check.top_vs_bottom_pqa >= 5
    assert [b.band for b in check.bands] == ["very high", "high", "medium", "low"]


def test_the_report_section_shows_behaviour_and_the_pqa_check() -> None:
    from types import SimpleNamespace

    from icpkit.profile import BehaviourTrait, PqaBand, PqaCheck, UsageSection
    from icpkit.report.usage_view import usage_tables

    trait = BehaviourTrait(
        rule="usage_integrations in [2, inf)", words="connect 2+ integrations in the first 30 days",
        outcome="renew", rate_with=0.9, rate_without=0.375, ratio=2.4, n_with=80, n_without=300,
        q_value=0.001, sentence="Customers that connect 2+ integrations … renew at 2.4× the rate",
    )  # fmt: skip
    bands = [PqaBand(band="very high", accounts=2, conversions=2, rate=1.0)]
    check = PqaCheck(
        cut="2025-10-02", horizon_days=60, accounts=100, conversions=20, top30_share_pqa=0.7,
        top30_share_fit=0.3, bands=bands,
    )  # fmt: skip
    profile = SimpleNamespace(usage=UsageSection(behaviour=[trait], pqa=check))
    tables = usage_tables(profile)  # type: ignore[arg-type]
    assert tables[0].table.rows[0][4] == "2.4×"
    assert "top 30% hold 70%" in tables[1].title and "fit alone 30%" in tables[1].title


def test_prioritize_reads_a_usage_surge_as_usage_up() -> None:
    from icpkit.signals.intent import _phrases

    template, _, _ = _phrases("usage_surge")
    assert template.format(value="3× in 2 weeks") == "usage up 3× in 2 weeks"
