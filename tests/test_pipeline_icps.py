"""Build options around discovery: the mean_shift quality on won revenue, and several ICPs side by
side (one per partition of the accounts) with their comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from icpkit.config import config_from_dict
from icpkit.datasets import PlantedIcp, make_crm
from icpkit.errors import ConfigError
from icpkit.pipeline import build_icp, partitions_by
from icpkit.profile import IcpProfile
from icpkit.report.render import ReportInput, render


def test_mean_shift_build_finds_the_segment_with_more_won_revenue() -> None:
    crm = make_crm(2000, seed=3, icp="categorical").to_crm_data()
    config = config_from_dict({"discovery": {"quality": "mean_shift"}})
    result = build_icp(crm, config, validate=False)
    assert result.discovery.segments.quality == "mean_shift"
    rules = [c.rule for c in result.profile.criteria if c.significant]
    assert any("Financial Services" in r for r in rules), rules


def test_mean_shift_with_an_unknown_value_metric_is_a_config_error() -> None:
    crm = make_crm(300, seed=3, icp="categorical").to_crm_data()
    config = config_from_dict({"discovery": {"quality": "mean_shift", "value": "arr"}})
    with pytest.raises(ConfigError, match=r"discovery\.value = 'arr'.*available: .*won_revenue"):
        build_icp(crm, config, validate=False)


# --- several ICPs side by side -------------------------------------------------------------------

REGIONAL = PlantedIcp(
    segments=(
        "industry = 'Software' AND region = 'EMEA'",
        "region = 'North America' AND tech_stack contains 'HubSpot'",
    )
)


@pytest.fixture(scope="module")
def regional_build() -> Any:
    crm = make_crm(4000, seed=5, icp=REGIONAL).to_crm_data()
    parts = [p.model_dump() for p in partitions_by(crm.accounts, "region")]
    assert [p["name"] for p in parts][:2] == ["EMEA", "North America"]
    config = config_from_dict({"icps": parts})
    return build_icp(crm, config, validate=False)


@pytest.mark.slow  # a build with four regional ICPs: about a minute on a busy machine
def test_each_region_gets_its_own_icp_and_the_comparison_shows_the_difference(
    regional_build: Any,
) -> None:
    comparison = regional_build.profile.partitions
    icps = {i.name: i for i in comparison.icps}
    emea = [c.rule for c in icps["EMEA"].criteria if c.significant]
    na = [c.rule for c in icps["North America"].criteria if c.significant]
    assert any("industry = 'Software'" in r for r in emea), emea
    assert any("tech_stack contains 'HubSpot'" in r for r in na), na
    verdicts = {r.rule: r for r in comparison.rules}
    software = next(r for rule, r in verdicts.items() if "industry = 'Software'" in rule)
    hubspot = next(r for rule, r in verdicts.items() if "contains 'HubSpot'" in rule)
    for row, home, other in (
        (software, "EMEA", "North America"),
        (hubspot, "North America", "EMEA"),
    ):
        assert row.verdict == "differs" and row.p_differs < 0.001, row
        assert row.per_icp[home].lift_ci[0] > 1.5
        assert row.per_icp[other].lift_ci[0] < 1.0
    # LATAM (~3 % of accounts) is too small for evidence and says so
    assert "too small" in icps["LATAM"].note


@pytest.mark.slow
def test_the_report_has_the_side_by_side_section(regional_build: Any, tmp_path: Path) -> None:
    profile = regional_build.profile
    html = render(ReportInput(profile=profile), "html", tmp_path / "r.html").read_text()
    assert "ICPs side by side" in html and "What differs and what is shared" in html
    section = html[html.index('id="icps"') :]
    section = section[: section.index("</section>")]
    assert "differs" in section and "HubSpot" in section and "Software" in section
    assert "too small" in section
    md = render(ReportInput(profile=profile), "md", tmp_path / "r.md").read_text()
    assert "## ICPs side by side" in md
    # the comparison survives the profile's JSON round trip
    assert IcpProfile.from_json(profile.to_json()).partitions == profile.partitions


def test_partitions_by_a_missing_or_numeric_column_is_a_config_error() -> None:
    accounts = make_crm(200, seed=1).accounts
    with pytest.raises(ConfigError, match="no such column"):
        partitions_by(accounts, "segment")
    with pytest.raises(ConfigError, match="range rule"):
        partitions_by(accounts, "employees")
    with pytest.raises(ConfigError, match="distinct values"):
        partitions_by(accounts, "country")  # dozens of countries: group them with [[icps]]


def test_a_partition_rule_that_does_not_parse_is_a_config_error() -> None:
    crm = make_crm(300, seed=1).to_crm_data()
    config = config_from_dict({"icps": [{"name": "x", "where": "region = "}]})
    with pytest.raises(ConfigError, match="icps 'x'"):
        build_icp(crm, config, validate=False)
