"""Personas from outcomes and the buying committee, on the synthetic CRM and on bad input."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from icpkit.config import PersonasConfig
from icpkit.datasets import SyntheticCrm, make_crm
from icpkit.datasets.synthetic.spec import NO_PERSONA
from icpkit.datasets.synthetic.titles import TITLE_FORMS
from icpkit.errors import InsufficientDataError
from icpkit.personas import classify_titles
from icpkit.personas.analysis import find_personas
from icpkit.personas.linking import BAND_OF
from icpkit.profile import TitleCoverage
from icpkit.stats import mantel_haenszel


@pytest.fixture(scope="module")
def crm() -> SyntheticCrm:
    return make_crm(3000, seed=11)


def test_generator_titles_are_read_as_planted() -> None:
    """The classifier reads the generator's surface forms as the function and band they stand for."""
    rows = [(t, f, b) for (f, b), forms in TITLE_FORMS.items() for t in forms]
    found = classify_titles([t for t, _, _ in rows])
    functions = (found["function"] == pl.Series([f for _, f, _ in rows])).mean()
    bands = found["seniority"].replace_strict(BAND_OF, default=None)
    assert functions is not None and functions >= 0.97
    assert (bands == pl.Series([b for _, _, b in rows])).mean() >= 0.97


def test_generator_writes_raw_titles_only(crm: SyntheticCrm) -> None:
    contacts = crm.contacts
    assert contacts["department"].null_count() == contacts.height
    assert contacts["seniority"].null_count() == contacts.height
    assert contacts["title"].n_unique() > 150
    assert contacts["title"].str.contains("(?i)leiter|directeur|director de|hoofd").any()


def test_planted_persona_is_the_top_significant_persona(crm: SyntheticCrm) -> None:
    section = find_personas(crm.contacts, crm.deals)
    top = section.top(1)[0]
    assert top.persona == "Finance director+" and top.evidence == "strong"
    assert top.lift is not None and abs(top.lift / crm.truth.icp.persona_odds - 1) < 0.3
    assert top.lift_ci[0] is not None and top.lift_ci[0] > 1
    assert top.win_rate_with > top.win_rate_without
    significant = {p.persona for p in section.personas if p.significant}
    assert significant == {"Finance director+"}


def test_committee_size_effect_is_measured_and_not_credited_to_personas(
    crm: SyntheticCrm,
) -> None:
    section = find_personas(crm.contacts, crm.deals)
    committee = section.committee
    assert committee.median_contacts_won is not None and committee.median_contacts_lost is not None
    assert committee.median_contacts_won > committee.median_contacts_lost
    rates = {b.size: b.win_rate for b in committee.by_size}
    assert rates["5"] > rates["1"] + 0.15
    assert {r.name for r in committee.roles} == {"champion", "economic_buyer", "user"}
    assert committee.economic_buyer and committee.first_contact == []
    # Without the size strata, many personas would ride on "bigger committees win".
    null = make_crm(3000, seed=11, icp=NO_PERSONA)
    assert not [p for p in find_personas(null.contacts, null.deals).personas if p.significant]


def test_a_persona_that_marks_good_accounts_is_not_credited_within_tiers() -> None:
    """Crude win rates credit a persona found mostly in one tier; the stratified lift does not."""
    rng = np.random.default_rng(3)
    n = 4000
    tier = np.where(rng.random(n) < 0.5, "Tier 1", "Non-fit")
    good = tier == "Tier 1"
    won = rng.random(n) < np.where(good, 0.6, 0.15)
    on_deal = rng.random(n) < np.where(good, 0.7, 0.1)  # the persona marks Tier 1, nothing more
    deals = pl.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(n)],
            "account_id": [f"A{i}" for i in range(n)],
            "stage": np.where(won, "won", "lost"),
        }
    )
    titles = np.where(on_deal, "VP of IT", "Sales Manager")
    contacts = pl.DataFrame(
        {"deal_id": deals["deal_id"], "account_id": deals["account_id"], "title": titles}
    )
    tiers = pl.DataFrame({"account_id": deals["account_id"], "tier": tier})
    stratified = {p.persona: p for p in find_personas(contacts, deals, tiers).personas}
    crude = {p.persona: p for p in find_personas(contacts, deals).personas}
    assert crude["IT director+"].lift is not None and crude["IT director+"].lift > 3
    assert crude["IT director+"].significant
    assert not stratified["IT director+"].significant
    assert 0.7 < (stratified["IT director+"].lift or 0) < 1.4


def test_account_level_link_when_contacts_have_no_deal(crm: SyntheticCrm) -> None:
    section = find_personas(crm.contacts.drop("deal_id"), crm.deals)
    assert section.link == "account"
    assert any("linked at account level" in note for note in section.notes)
    assert section.n_deals > 0


def test_mantel_haenszel_matches_a_hand_computed_example() -> None:
    result = mantel_haenszel([[10, 20]], [[5, 10]], [[20, 30]], [[30, 25]])
    assert result.odds_ratio[0] == pytest.approx((300 / 65 + 500 / 85) / (100 / 65 + 300 / 85))
    assert result.ci_low[0] < result.odds_ratio[0] < result.ci_high[0]
    assert 0.0 < result.p_value[0] < 1.0
    null = mantel_haenszel([[10]], [[10]], [[10]], [[10]])
    assert null.odds_ratio[0] == 1.0 and null.p_value[0] > 0.5


# ---------------------------------------------------------------------------------------------
# Bad input: a counted warning or a clear message, never a traceback


def _small(crm: SyntheticCrm) -> tuple[pl.DataFrame, pl.DataFrame]:
    return crm.contacts.head(4000), crm.deals


def test_contacts_without_any_link_are_counted(crm: SyntheticCrm) -> None:
    contacts, deals = _small(crm)
    orphans = contacts.head(7).with_columns(
        deal_id=pl.lit(None, pl.Utf8), account_id=pl.lit(None, pl.Utf8)
    )
    section = find_personas(pl.concat([contacts, orphans]), deals)
    assert any(
        w.startswith("7 contacts have neither a deal nor an account") for w in section.warnings
    )


@pytest.mark.parametrize("junk", ["", "   ", "🚀🔥💯", "asdf;lkj", "-", None])
def test_blank_garbage_and_emoji_titles_are_unknown(crm: SyntheticCrm, junk: str | None) -> None:
    contacts, deals = _small(crm)
    junked = contacts.with_columns(title=pl.lit(junk, pl.Utf8))
    section = find_personas(junked, deals)
    assert section.title_coverage.function_known == 0.0
    assert section.personas == []
    assert section.committee.by_size


def test_a_deal_with_5000_contacts_is_left_out_with_a_warning(crm: SyntheticCrm) -> None:
    contacts, deals = _small(crm)
    deal = contacts["deal_id"][0]
    bulk = pl.concat([contacts.head(1)] * 5000).with_columns(
        contact_id=pl.format("X{}", pl.int_range(0, 5000)).cast(pl.Utf8),
        deal_id=pl.lit(deal),
    )
    section = find_personas(pl.concat([contacts, bulk]), deals)
    pattern = r"^1 deal has more than 50 contacts \(largest 5,00\d"
    assert any(re.match(pattern, w) for w in section.warnings), section.warnings
    assert all(b.size != "11+" or b.deals < 50 for b in section.committee.by_size)


def test_duplicate_contacts_are_counted_once(crm: SyntheticCrm) -> None:
    contacts, deals = _small(crm)
    once = find_personas(contacts, deals)
    twice = find_personas(pl.concat([contacts, contacts.head(300)]), deals)
    assert any(w.startswith("300 duplicate contacts") for w in twice.warnings)
    assert twice.committee.by_size == once.committee.by_size


def test_missing_titles_and_closed_deals_are_clear_errors(crm: SyntheticCrm) -> None:
    contacts, deals = _small(crm)
    with pytest.raises(InsufficientDataError, match="need a job title"):
        find_personas(contacts.drop("title", "seniority", "department"), deals)
    with pytest.raises(InsufficientDataError, match="closed"):
        find_personas(contacts, deals.with_columns(stage=pl.lit("open")))


def test_seniority_and_department_columns_stand_in_for_a_missing_title(crm: SyntheticCrm) -> None:
    contacts = pl.DataFrame(
        {"account_id": ["A1", "A2"], "deal_id": ["D1", "D2"], "seniority": ["VP", "Manager"],
         "department": ["Finance", "Sales"]}
    )  # fmt: skip
    deals = pl.DataFrame(
        {"deal_id": ["D1", "D2"], "account_id": ["A1", "A2"], "stage": ["won", "lost"]}
    )
    section = find_personas(contacts, deals, config=PersonasConfig(min_deals=1))
    assert section.title_coverage == TitleCoverage(function_known=1.0, seniority_known=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_recovery_over_seeds(seed: int) -> None:
    """Planted persona: the top significant one, lift within 30% of the planted odds."""
    crm = make_crm(3000, seed=100 + seed)
    top = find_personas(crm.contacts, crm.deals).top(1)
    assert top and top[0].persona == "Finance director+"
    assert abs((top[0].lift or 0) / crm.truth.icp.persona_odds - 1) < 0.3


@pytest.mark.slow
def test_no_effect_spec_rarely_finds_a_persona() -> None:
    seeds = range(20)
    hits = 0
    for seed in seeds:
        crm = make_crm(3000, seed=200 + seed, icp=replace(NO_PERSONA))
        hits += any(p.significant for p in find_personas(crm.contacts, crm.deals).personas)
    assert hits / len(seeds) <= 0.05


def test_first_contact_persona_when_contacts_are_dated(crm: SyntheticCrm) -> None:
    contacts = crm.contacts.with_columns(
        created_at=(pl.lit(20_000) + pl.int_range(pl.len()) % 7).cast(pl.Date)
    )
    committee = find_personas(contacts, crm.deals).committee
    assert committee.first_contact
    assert all(0 <= r.share_won <= 1 and 0 <= r.share_lost <= 1 for r in committee.first_contact)
    assert sum(r.deals_won + r.deals_lost for r in committee.first_contact) <= crm.deals.height
