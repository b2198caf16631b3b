"""The promotion gate: candidate vs champion on the same out-of-time cut, not worse or rejected."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from icpkit.config import WorkspaceConfig
from icpkit.data.model import CrmData
from icpkit.datasets import make_crm
from icpkit.profile import IcpProfile
from icpkit.refresh.gate import decide, gate_cut, paired_bootstrap
from icpkit.scoring.spec import spec_to_profile

GOOD = {  # the planted default ICP, written by hand
    "criteria": [
        {"rule": "industry = 'Software' AND employees in [100, 5000)", "points": 40},
        {"rule": "region = 'EMEA' AND tech_stack contains 'Snowflake'", "points": 30},
    ],
    "disqualifiers": [{"rule": "employees in [1, 10)", "points": -30}],
}
BAD = {"criteria": [{"rule": "industry = 'Education'", "points": 40}]}


@pytest.fixture(scope="module")
def crm() -> CrmData:
    return make_crm(700, seed=11).to_crm_data()


def _builder(raw: dict) -> object:
    profile = spec_to_profile(raw)
    return lambda before, config: profile


def _config(**refresh: object) -> WorkspaceConfig:
    return WorkspaceConfig.model_validate({"refresh": {"bootstrap": 200, **refresh}})


def _decide(crm: CrmData, candidate: dict, champion: IcpProfile | None, **rules: object):
    return decide(
        crm, _config(**rules), candidate=2, champion=None if champion is None else 1,
        champion_profile=champion, champion_until=None, pre_cut_builder=_builder(candidate),
    )  # fmt: skip


def test_a_worse_candidate_is_rejected_with_reasons_in_words(crm: CrmData) -> None:
    decision = _decide(crm, BAD, spec_to_profile(GOOD))
    assert decision.decision == "reject" and not decision.promote
    assert decision.auc is not None and decision.auc.ci_high is not None
    assert decision.auc.ci_high < 0  # the whole interval below zero
    assert any("held-out AUC is worse" in r for r in decision.reasons)
    assert "rejected; v1 stays in use" in decision.summary()
    assert decision.cut is not None and decision.n_closed >= 40


def test_an_equal_candidate_is_promoted(crm: CrmData) -> None:
    decision = _decide(crm, GOOD, spec_to_profile(GOOD))
    assert decision.decision == "promote" and decision.promote
    assert decision.auc is not None and decision.auc.diff == pytest.approx(0.0)
    assert decision.new_failures == []


def test_a_better_candidate_is_promoted(crm: CrmData) -> None:
    decision = _decide(crm, GOOD, spec_to_profile(BAD))
    assert decision.promote and decision.auc is not None and decision.auc.ci_low > 0


def test_always_promote_promotes_and_still_says_what_the_gate_saw(crm: CrmData) -> None:
    decision = _decide(crm, BAD, spec_to_profile(GOOD), always_promote=True)
    assert decision.decision == "always" and decision.promote
    assert any("would have said" in r for r in decision.reasons)


def test_too_few_held_out_deals_keeps_the_champion(crm: CrmData) -> None:
    decision = _decide(crm, GOOD, spec_to_profile(GOOD), min_closed=100_000)
    assert decision.decision == "insufficient" and not decision.promote
    assert "too few" in decision.reasons[0]


def test_the_first_version_is_promoted(crm: CrmData) -> None:
    decision = _decide(crm, GOOD, None)
    assert decision.decision == "first" and decision.promote and decision.champion is None


def test_cut_moves_past_what_the_champion_saw(crm: CrmData) -> None:
    config = _config(min_closed=20)
    base, seen = gate_cut(crm, config, None, 20)
    assert seen is None
    until = date.fromordinal(base.toordinal() + 60)  # a champion built 60 days after the cut
    moved, seen = gate_cut(crm, config, until, 20)
    assert moved == date.fromordinal(until.toordinal() + 1) and seen == 0.0
    kept, seen = gate_cut(crm, config, until, 100_000)  # too few newer deals: keep, and say so
    assert kept == base and seen is not None and 0 < seen <= 1


def test_paired_bootstrap_by_account() -> None:
    rng = np.random.default_rng(0)
    n = 400
    truth = rng.random(n)
    won = rng.random(n) < truth
    pairs = pl.DataFrame({
        "account_id": [f"a{i // 2}" for i in range(n)],  # two deals per account
        "won": won,
        "s_cand": truth * 100,
        "t_cand": np.where(truth > 0.8, "Tier 1", "Tier 3"),
        "s_champ": rng.random(n) * 100,
        "t_champ": np.where(rng.random(n) > 0.8, "Tier 1", "Tier 3"),
    })  # fmt: skip
    auc, lift = paired_bootstrap(pairs, resamples=200, confidence=0.95, seed=1)
    assert auc is not None and lift is not None
    assert auc.ci_low is not None and auc.ci_low > 0.1  # the candidate ranks, the champion not
    assert lift.diff is not None and lift.diff > 0
    same, _ = paired_bootstrap(
        pairs.with_columns(pl.col("s_cand").alias("s_champ")), resamples=100, confidence=0.95,
        seed=1,
    )  # fmt: skip
    assert same is not None and same.ci_low == same.ci_high == 0.0


def test_a_champion_that_saw_the_held_out_deals_is_rebuilt_with_its_own_settings(
    crm: CrmData,
) -> None:
    """Out-of-time on both sides: the champion's settings rebuild it from the pre-cut data."""
    assert crm.deals is not None
    newest = crm.deals["created_at"].max()
    until = date.fromordinal(newest.toordinal() - 5)  # it saw the held-out deals, few newer ones
    good, bad = spec_to_profile(GOOD), spec_to_profile(BAD)
    champion_settings = _config(min_closed=100_000)  # tells the builder which side it builds

    def builder(before: CrmData, config: WorkspaceConfig) -> IcpProfile:
        return good if config is champion_settings else bad

    decision = decide(
        crm, _config(min_closed=40), candidate=2, champion=1, champion_profile=bad,
        champion_until=until, pre_cut_builder=builder, champion_config=champion_settings,
    )  # fmt: skip
    assert decision.champion_seen_share is not None and decision.champion_seen_share > 0
    assert decision.decision == "reject"  # judged against the rebuilt (good) champion
    assert any("rebuilt from the same pre-cut data" in r for r in decision.reasons)
