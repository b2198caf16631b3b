"""Only a disqualifier with enough evidence overrides the score; the tier table says how tiers are
really assigned."""

from __future__ import annotations

import polars as pl
import pytest

from icpkit.config import WorkspaceConfig
from icpkit.datasets import make_crm
from icpkit.pipeline import build_icp
from icpkit.profile import IcpProfile, RuleEvidence
from icpkit.report.tables_view import tiers_table
from icpkit.scoring import score_frame
from icpkit.scoring.tiers import TierCuts, forcing_disqualifiers, tier_rules


def _rule(rule: str, evidence: str, q: float) -> RuleEvidence:
    return RuleEvidence(
        rule=rule,
        support=40,
        coverage=0.3,
        precision=0.5,
        lift=1.8,
        lift_ci=(1.2, 2.4),
        q_value=q,
        evidence=evidence,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("evidence", "q", "setting", "forces"),
    [
        ("strong", 0.001, "moderate", True),
        ("moderate", 0.01, "moderate", True),
        ("weak", 0.01, "moderate", False),
        ("insufficient", 0.5, "moderate", False),
        ("moderate", 0.86, "moderate", False),  # q above the configured level
        ("moderate", 0.01, "strong", False),
        ("strong", 0.001, "never", False),
    ],
)
def test_only_enough_evidence_forces_nonfit(
    evidence: str, q: float, setting: str, forces: bool
) -> None:
    (out,) = forcing_disqualifiers([_rule("industry = 'X'", evidence, q)], setting, 0.05)
    assert out.forces_nonfit is forces


@pytest.fixture(scope="module")
def built() -> tuple[IcpProfile, pl.DataFrame, pl.DataFrame]:
    crm = make_crm(800, seed=4).to_crm_data()
    result = build_icp(crm, WorkspaceConfig(), validate=False)
    return result.profile, score_frame(result.profile, crm.accounts), crm.accounts


def test_a_weak_disqualifier_only_subtracts_points(
    built: tuple[IcpProfile, pl.DataFrame, pl.DataFrame],
) -> None:
    profile, _, accounts = built
    rule = "industry = 'Software'"
    weak = profile.model_copy(
        update={
            "disqualifiers": [_rule(rule, "weak", 0.3).model_copy(update={"forces_nonfit": False})]
        }
    )
    strong = weak.model_copy(
        update={"disqualifiers": [_rule(rule, "strong", 0.001)]}  # forces_nonfit defaults True
    )
    hit = (accounts["industry"] == "Software").fill_null(False).to_numpy()
    tiers_weak = score_frame(weak, accounts)["tier"].to_numpy()
    tiers_strong = score_frame(strong, accounts)["tier"].to_numpy()
    assert set(tiers_strong[hit]) == {"Non-fit"}
    assert set(tiers_weak[hit]) != {"Non-fit"}  # hits keep the tier their score earns


def test_tier_table_words_match_how_tiers_are_assigned(
    built: tuple[IcpProfile, pl.DataFrame, pl.DataFrame],
) -> None:
    profile, scored, _ = built
    assert profile.tiers is not None
    cuts = profile.tiers.cuts.model_dump()
    rules = profile.tiers.rules or {}
    overriding = set(profile.tiers.overriding_disqualifiers or [])
    assert overriding == {d.rule for d in profile.disqualifiers if d.forces_nonfit}
    score = scored["fit_score"].to_numpy()
    tier = scored["tier"].to_numpy()
    for name, key in (("Tier 1", "tier1"), ("Tier 2", "tier2"), ("Tier 3", "tier3")):
        inside = tier == name
        assert (score[inside] >= cuts[key]).all()
        assert f"≥ {cuts[key]}" in rules[name] or cuts[key] > 100
    assert ("meets a criterion" in rules["Tier 1"]) is bool(profile.criteria)
    # a Non-fit account that scores above the Tier-3 cut must have hit an overriding disqualifier
    above = (tier == "Non-fit") & (score >= cuts["tier3"])
    hits = scored["disqualifiers_hit"].to_numpy()
    for text in hits[above]:
        assert set(str(text).split("; ")) & overriding
    assert ("disqualifier" in rules["Non-fit"]) is bool(overriding)
    # an account at or above the Tier-1 cut outside Tier 1 meets no criterion or is disqualified
    high = (score >= cuts["tier1"]) & (tier != "Tier 1")
    met = scored["criteria_met"].to_numpy()
    assert all(
        not str(m) or set(str(h).split("; ")) & overriding
        for m, h in zip(met[high], hits[high], strict=True)
    )
    table = tiers_table(profile.tiers)
    assert "assigned when" in table.columns
    assert [row[table.columns.index("assigned when")] for row in table.rows] == [
        rules[t] for t in ("Tier 1", "Tier 2", "Tier 3", "Non-fit")
    ]


def test_tier_rules_say_when_no_score_reaches_a_tier() -> None:
    rules = tier_rules(TierCuts(101, 60, 40), criteria_based=False, forcing=False)
    assert rules["Tier 1"] == "no score reaches it"
    assert rules["Non-fit"] == "< 40"
    assert "disqualifier" in tier_rules(TierCuts(80, 60, 40), True, True)["Non-fit"]
