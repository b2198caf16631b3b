"""Profile diff: rules narrowed or widened, criteria, success, tiers, KPIs, tier migration."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpkit.errors import SchemaError
from icpkit.lifecycle.diff import compare_rules, diff_profiles
from icpkit.profile import IcpProfile, RuleEvidence


def rule(text: str, lift: float = 2.0, evidence: str = "strong") -> RuleEvidence:
    return RuleEvidence(
        rule=text,
        support=80,
        coverage=0.4,
        precision=0.5,
        lift=lift,
        lift_ci=(lift - 0.4, lift + 0.4),
        evidence=evidence,
    )  # type: ignore[arg-type]


def kpis(icp_win: float, n: int = 200) -> dict[str, Any]:
    half = 0.05
    return {
        "kpis": [
            {
                "group": "ICP",
                "kpi": "win_rate",
                "value": icp_win,
                "n": n,
                "ci_low": icp_win - half,
                "ci_high": icp_win + half,
            }
        ],
        "auc": {"group": "All", "kpi": "auc", "value": 0.7, "n": 300},
        "top_decile_lift": 2.0,
    }


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("employees in [100, 5000)", "employees in [250, 1000)", "narrowed"),
        ("employees in [250, 1000)", "employees in [100, inf)", "widened"),
        ("employees in [100, 500)", "employees in [300, 900)", "changed"),
        ("industry in ('A', 'B', 'C')", "industry in ('A', 'B')", "narrowed"),
        ("industry = 'A'", "industry in ('A', 'B')", "widened"),
        ("industry = 'A'", "industry = 'B'", "changed"),
        ("industry = 'A'", "industry = 'A' AND region = 'EMEA'", "narrowed"),
        ("industry = 'A' AND region = 'EMEA'", "industry = 'A'", "widened"),
        (
            "industry = 'A' AND employees in [1, 10)",
            "industry = 'A' AND employees in [1, 50)",
            "widened",
        ),
        ("tech_stack contains 'X'", "tech_stack contains 'Y'", "changed"),
        ("industry = 'A'", "industry = 'A'", "same"),
    ],
)
def test_compare_rules(old: str, new: str, expected: str) -> None:
    direction, details = compare_rules(old, new)
    assert direction == expected
    assert (details == []) is (expected == "same")


@given(
    lo=st.integers(0, 100),
    width=st.integers(1, 100),
    shrink_lo=st.integers(0, 50),
    shrink_hi=st.integers(0, 50),
)
def test_a_range_inside_another_is_narrower_and_the_reverse_wider(
    lo: int, width: int, shrink_lo: int, shrink_hi: int
) -> None:
    hi = lo + width + shrink_lo + shrink_hi
    outer = f"employees in [{lo}, {hi})"
    inner = f"employees in [{lo + shrink_lo}, {hi - shrink_hi})"
    if outer == inner:
        assert compare_rules(outer, inner)[0] == "same"
    else:
        assert compare_rules(outer, inner)[0] == "narrowed"
        assert compare_rules(inner, outer)[0] == "widened"


@pytest.fixture
def two_versions() -> tuple[IcpProfile, IcpProfile]:
    a = IcpProfile(
        statement="Software firms with 100–5000 employees.",
        criteria=[
            rule("industry = 'Software' AND employees in [100, 5000)"),
            rule("region = 'EMEA' AND tech_stack contains 'Snowflake'"),
            rule("funding_stage = 'Series B'", lift=1.6),
        ],
        disqualifiers=[rule("employees in [1, 10)")],
        success_definition={
            "metrics": [{"name": "won_revenue", "weight": 1.0, "direction": "higher"}],
            "best_share": 0.2,
            "as_of": "2024-01-01",
        },
        counts={"n_accounts": 1000, "n_best": 200},
        tiers={"cuts": {"tier1": 80, "tier2": 60, "tier3": 40}},
        validation=kpis(0.55),
    )
    b = IcpProfile(
        statement="Software firms with 250–1000 employees.",
        criteria=[
            rule("industry = 'Software' AND employees in [250, 1000)"),
            rule("region = 'EMEA' AND tech_stack contains 'Snowflake'", lift=3.0),
            rule("ownership = 'Private'"),
        ],
        disqualifiers=[rule("employees in [1, 10)"), rule("industry = 'Education'")],
        success_definition={
            "metrics": [{"name": "ltv", "weight": 1.0, "direction": "higher"}],
            "best_share": 0.1,
            "as_of": "2025-01-01",
        },
        counts={"n_accounts": 1200, "n_best": 120},
        tiers={"cuts": {"tier1": 75, "tier2": 60, "tier3": 40}},
        validation=kpis(0.35),
    )
    return a, b


def test_changelog_names_every_change(two_versions: tuple[IcpProfile, IcpProfile]) -> None:
    diff = diff_profiles(*two_versions, label_a="v1", label_b="v2")
    actions = {(c.kind, c.action, c.subject) for c in diff.changes}
    assert (
        "criterion",
        "narrowed",
        "industry = 'Software' AND employees in [250, 1000)",
    ) in actions
    assert ("criterion", "dropped", "funding_stage = 'Series B'") in actions
    assert ("criterion", "added", "ownership = 'Private'") in actions
    assert (
        "criterion",
        "changed",
        "region = 'EMEA' AND tech_stack contains 'Snowflake'",
    ) in actions
    assert ("disqualifier", "added", "industry = 'Education'") in actions
    assert ("success", "changed", "metrics") in actions and (
        "success",
        "changed",
        "best_share",
    ) in actions
    assert not any(c.subject == "as_of" for c in diff.changes)
    assert ("tiers", "changed", "Tier 1") in actions
    assert ("kpi", "changed", "ICP win_rate") in actions
    text = diff.to_text()
    assert text.startswith("Changes from v1 to v2:")
    for phrase in (
        "won_revenue → ltv",
        "Tier 1 cut-off: fit score ≥ 80 → fit score ≥ 75",
        "win rate ICP: 55% (n=200) → 35% (n=200); the intervals do not overlap",
        "statement changed",
        "evidence base, accounts: 1000 → 1200",
    ):
        assert phrase in text
    json.dumps(diff.to_dict())
    assert diff.to_frame().height == len(diff.changes)


def test_identical_versions_have_no_changes(two_versions: tuple[IcpProfile, IcpProfile]) -> None:
    a, _ = two_versions
    diff = diff_profiles(a, a.model_copy())
    assert diff.changes == () and "no change" in diff.to_text()


def test_tier_migration_table() -> None:
    ids = [f"a{i}" for i in range(6)]
    tiers_a = pl.DataFrame(
        {"account_id": ids, "tier": ["Tier 1", "Tier 1", "Tier 2", "Tier 3", "Non-fit", "Tier 1"]}
    )
    tiers_b = pl.DataFrame(
        {
            "account_id": [*ids[:5], "zz"],
            "tier": ["Tier 1", "Tier 2", "Tier 2", "Tier 1", "Non-fit", "Tier 1"],
        }
    )
    diff = diff_profiles(IcpProfile(), IcpProfile(), tiers_a, tiers_b)
    assert diff.n_common_accounts == 5
    moved = {(m["tier_a"], m["tier_b"]): m["n"] for m in diff.migration}
    assert moved[("Tier 1", "Tier 2")] == 1 and moved[("Tier 3", "Tier 1")] == 1
    assert sum(moved.values()) == 5
    table = diff.to_frame("migration")
    assert table["tier_a"].to_list() == ["Tier 1", "Tier 2", "Tier 3", "Non-fit"]
    assert "2 changed tier" in diff.to_text() and "moved Tier 1 → Tier 2" in diff.to_text()


def test_migration_needs_account_and_tier_columns() -> None:
    with pytest.raises(SchemaError, match="tier"):
        diff_profiles(
            IcpProfile(),
            IcpProfile(),
            pl.DataFrame({"account_id": ["a"]}),
            pl.DataFrame({"account_id": ["a"], "tier": ["Tier 1"]}),
        )


def test_backtest_appearing_is_reported() -> None:
    diff = diff_profiles(IcpProfile(), IcpProfile(validation=kpis(0.5)))
    assert any("now has a backtest" in c.text for c in diff.changes)


def test_small_kpi_moves_are_counted_not_listed() -> None:
    a = IcpProfile(validation=kpis(0.50))
    b = IcpProfile(validation=kpis(0.52))  # 2 points, intervals overlap: noise
    diff = diff_profiles(a, b)
    assert [c.subject for c in diff.changes] == ["other KPIs"]
    assert "1 other KPI changes are small" in diff.to_text()


def test_an_unreachable_cut_reads_as_such() -> None:
    from icpkit.lifecycle.diff import _cut_text

    assert _cut_text(101) == "no account can reach it"
    assert _cut_text(52) == "fit score ≥ 52"
