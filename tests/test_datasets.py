"""The synthetic CRM: canonical shape, realism, determinism, planted effects measured in the data.

The planted effects are checked the way discovery will see them: from the generated deals and
subscriptions, with rules evaluated on the observed (noisy) accounts, never from ``truth`` alone.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from icpkit.config import load_config
from icpkit.data import load_workspace
from icpkit.data.countries import ISO2_CODES
from icpkit.data.model import SCHEMA, TABLES, CrmData
from icpkit.datasets import SPECS, PlantedIcp, SyntheticCrm, make_crm
from icpkit.datasets.synthetic.engagement import THEMES
from icpkit.datasets.synthetic.firmographics import COUNTRY_REGIONS, INDUSTRIES, MAX_TOOLS
from icpkit.datasets.synthetic.titles import TITLE_FORMS
from icpkit.errors import ConfigError
from icpkit.rules import parse_segment

SIGNAL_SPECS = ["default", "categorical", "numeric", "tags", "two_segments"]


def account_outcomes(crm: SyntheticCrm) -> pl.DataFrame:
    """Per account (in accounts order): closed and won deals, won revenue, churned."""
    deals = crm.deals.group_by("account_id").agg(
        closed=(pl.col("stage") != "open").sum(),
        won=(pl.col("stage") == "won").sum(),
        won_revenue=pl.col("amount").filter(pl.col("stage") == "won").sum(),
    )
    subs = crm.subscriptions.group_by("account_id").agg(
        churned=pl.col("end").sort_by("start").last().is_not_null()
    )
    return (
        crm.accounts.select("account_id")
        .join(deals, on="account_id", how="left")
        .join(subs, on="account_id", how="left")
        .with_columns(pl.col("closed", "won", "won_revenue").fill_null(0))
    )


def rate_test(
    outcomes: pl.DataFrame, inside: np.ndarray, success: str, trials: str
) -> tuple[float, float]:
    """Ratio of success rates inside vs outside a mask, and the two-sided Fisher p-value."""
    ins, out = outcomes.filter(pl.Series(inside)), outcomes.filter(pl.Series(~inside))
    table = [
        [ins[success].sum(), ins[trials].sum() - ins[success].sum()],
        [out[success].sum(), out[trials].sum() - out[success].sum()],
    ]
    rate_in = table[0][0] / max(1, ins[trials].sum())
    rate_out = table[1][0] / max(1, out[trials].sum())
    return rate_in / max(rate_out, 1e-9), float(stats.fisher_exact(table).pvalue)


def churn_counts(outcomes: pl.DataFrame) -> pl.DataFrame:
    return outcomes.with_columns(
        customer=pl.col("churned").is_not_null().cast(pl.Int64),
        churned_n=pl.col("churned").fill_null(False).cast(pl.Int64),
    )


def covered(rules: tuple[str, ...], accounts: pl.DataFrame) -> np.ndarray:
    mask = np.zeros(accounts.height, dtype=bool)
    for rule in rules:
        mask |= parse_segment(rule).mask(accounts)
    return mask


# --- shape -------------------------------------------------------------------------------------


def test_every_table_has_the_canonical_columns_and_types(synthetic_crm: SyntheticCrm) -> None:
    for table in TABLES:
        frame = synthetic_crm.frames()[table]
        assert frame.schema == pl.Schema(SCHEMA[table]), table
        assert frame.height > 0, table


def test_to_crm_data_holds_the_same_frames(synthetic_crm: SyntheticCrm) -> None:
    crm = synthetic_crm.to_crm_data()
    assert isinstance(crm, CrmData)
    assert crm.present() == list(TABLES)
    assert crm.deals is not None and crm.deals.equals(synthetic_crm.deals)


def test_keys_are_unique_and_references_resolve(synthetic_crm: SyntheticCrm) -> None:
    accounts, deals = synthetic_crm.accounts, synthetic_crm.deals
    assert accounts["account_id"].is_unique().all() and accounts["domain"].is_unique().all()
    assert deals["deal_id"].is_unique().all()
    known = set(accounts["account_id"])
    for table in ("deals", "subscriptions", "contacts", "notes", "signals"):
        assert set(synthetic_crm.frames()[table]["account_id"]) <= known, table
    assert set(synthetic_crm.contacts["deal_id"]) <= set(deals["deal_id"])


# --- realism -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_crm() -> SyntheticCrm:
    return make_crm(20_000, seed=1)


def test_firmographics_are_long_tailed_and_skewed(large_crm: SyntheticCrm) -> None:
    accounts = large_crm.accounts
    employees = accounts["employees"].drop_nulls()
    assert employees.min() >= 1 and employees.max() > 10_000
    assert employees.mean() > 2 * employees.median()  # long right tail
    known = accounts.drop_nulls(["employees", "annual_revenue"])
    rho = stats.spearmanr(known["employees"], known["annual_revenue"]).statistic
    assert rho > 0.8
    top_industry = accounts["industry"].value_counts(sort=True)["count"][0] / accounts.height
    top_country = accounts["country"].value_counts(sort=True)["count"][0] / accounts.height
    assert 0.12 < top_industry < 0.4 and 0.15 < top_country < 0.5
    assert accounts["founded_year"].drop_nulls().max() <= 2025


def test_countries_are_iso2_and_regions_match_them(large_crm: SyntheticCrm) -> None:
    accounts = large_crm.accounts.drop_nulls(["country", "region"])
    assert set(accounts["country"]) <= ISO2_CODES
    expected = accounts["country"].replace_strict(COUNTRY_REGIONS)
    assert (accounts["region"] == expected).all()


def test_tech_stacks_hold_zero_to_six_distinct_tools(large_crm: SyntheticCrm) -> None:
    stacks = large_crm.accounts["tech_stack"].drop_nulls()
    sizes = stacks.list.len()
    assert sizes.min() == 0 and sizes.max() == MAX_TOOLS
    assert (stacks.list.n_unique() == sizes).all()
    popularity = stacks.explode().drop_nulls().value_counts(sort=True)["count"]
    assert popularity[0] > 4 * popularity[-1]  # popularity skew


@pytest.mark.parametrize(
    "column",
    [
        "industry",
        "employees",
        "annual_revenue",
        "country",
        "founded_year",
        "funding_stage",
        "tech_stack",
    ],
)
def test_optional_attributes_miss_a_few_percent(large_crm: SyntheticCrm, column: str) -> None:
    share = large_crm.accounts[column].null_count() / large_crm.accounts.height
    assert 0.005 < share < 0.12


def test_a_small_share_of_industry_cells_is_misspelt(large_crm: SyntheticCrm) -> None:
    industry = large_crm.accounts["industry"].drop_nulls()
    misspelt = ~industry.is_in(list(INDUSTRIES))
    assert 0.003 < misspelt.mean() < 0.015
    assert "software" in set(industry) or "Software " in set(industry)


def test_deals_follow_sales_cycles_and_are_partly_open(large_crm: SyntheticCrm) -> None:
    deals = large_crm.deals
    assert set(deals["stage"]) == {"won", "lost", "open"}
    open_share = (deals["stage"] == "open").mean()
    assert 0.05 < open_share < 0.15
    closed = deals.filter(pl.col("stage") != "open")
    cycle = (closed["closed_at"] - closed["created_at"]).dt.total_days()
    assert cycle.min() >= 14 and cycle.max() <= 200
    assert (
        deals.filter(pl.col("stage") == "open")["closed_at"].null_count()
        == open_share * deals.height
    )
    years = deals["created_at"].dt.year().unique().sort().to_list()
    assert years == [2023, 2024, 2025]
    assert deals["amount"].mean() > 1.3 * deals["amount"].median()
    per_account = deals.group_by("account_id").len()["len"]
    assert per_account.max() > 5


def test_subscriptions_start_at_the_first_win(large_crm: SyntheticCrm) -> None:
    first_win = (
        large_crm.deals.filter(pl.col("stage") == "won")
        .group_by("account_id")
        .agg(pl.col("closed_at").min())
    )
    first_start = large_crm.subscriptions.group_by("account_id").agg(pl.col("start").min())
    joined = first_win.join(first_start, on="account_id", how="full", coalesce=True)
    assert joined.null_count().sum_horizontal().item() == 0
    assert (joined["closed_at"] == joined["start"]).all()


def test_contacts_carry_fake_pii_and_roles(synthetic_crm: SyntheticCrm) -> None:
    contacts = synthetic_crm.contacts
    assert contacts["name"].str.starts_with("Contact ").all()
    assert contacts["email"].str.ends_with("@example.com").all()
    assert set(contacts["role_in_deal"]) == {"champion", "economic_buyer", "user"}
    assert {"VP Sales", "Head of RevOps", "CTO", "Data Engineer"} <= set(contacts["title"])
    assert (
        contacts["department"].null_count() == contacts["seniority"].null_count() == len(contacts)
    )


def test_notes_and_signals_use_the_documented_vocabularies(synthetic_crm: SyntheticCrm) -> None:
    notes, signals = synthetic_crm.notes, synthetic_crm.signals
    assert set(notes["source"]) <= {"interview", "survey", "support", "call", "lost_reason"}
    phrases = [p for paraphrases in THEMES.values() for p in paraphrases]
    assert notes["text"].str.contains_any(phrases).all()
    scores = notes.filter(pl.col("source") == "survey")["score"]
    assert scores.null_count() == 0 and scores.min() >= 0 and scores.max() <= 10
    assert (
        notes.filter(pl.col("source") != "survey")["score"].null_count()
        == notes.height - scores.len()
    )
    assert {"funding", "hiring", "leadership_change"} <= set(signals["type"])


# --- determinism and specs ---------------------------------------------------------------------


def test_the_same_seed_gives_the_same_crm_and_another_seed_differs() -> None:
    a, b, c = make_crm(300, seed=3), make_crm(300, seed=3), make_crm(300, seed=4)
    for table in TABLES:
        assert a.frames()[table].equals(b.frames()[table]), table
    assert np.array_equal(a.truth.p_win, b.truth.p_win)
    assert not a.deals.equals(c.deals)


def test_specs_plant_different_truths() -> None:
    truths = {name: make_crm(1000, seed=2, icp=name).truth for name in SPECS}
    names = list(truths)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            if first == "default" and second == "shifted":
                assert not np.array_equal(
                    truths[first].in_icp_after_shift, truths[second].in_icp_after_shift
                )
                continue
            assert not np.array_equal(truths[first].p_win, truths[second].p_win), (first, second)
    assert np.unique(truths["none"].p_win).size == 1 and np.unique(truths["none"].p_churn).size == 1


def test_truth_probabilities_follow_the_spec(synthetic_crm: SyntheticCrm) -> None:
    truth, spec = synthetic_crm.truth, synthetic_crm.truth.icp
    assert np.all(truth.p_win[truth.in_icp] == spec.icp_win)
    assert np.all(truth.p_win[truth.disqualified] == spec.disqualified_win)
    assert not np.any(truth.in_icp & truth.disqualified)
    assert 0.05 < truth.in_icp.mean() < 0.3
    # Membership is decided on the true values; the observed (noisy) cells agree almost always.
    observed = covered(spec.segments, synthetic_crm.accounts) & ~covered(
        spec.disqualifiers, synthetic_crm.accounts
    )
    assert (observed == truth.in_icp).mean() > 0.95
    json.dumps(truth.to_dict())
    assert synthetic_crm.truth_frame().height == synthetic_crm.accounts.height


# --- planted effects, measured from the generated outcomes -----------------------------------


@pytest.mark.parametrize("spec_name", SIGNAL_SPECS)
def test_planted_segments_win_more_and_bigger(spec_name: str) -> None:
    crm = make_crm(3000, seed=11, icp=spec_name)
    outcomes = account_outcomes(crm)
    for rule in crm.truth.icp.segments:
        inside = parse_segment(rule).mask(crm.accounts)
        lift, p_value = rate_test(outcomes, inside, "won", "closed")
        assert lift > 1.5 and p_value < 1e-4, (rule, lift, p_value)
        revenue = outcomes["won_revenue"].to_numpy()
        assert revenue[inside].mean() > 2 * revenue[~inside].mean(), rule
        assert (
            stats.mannwhitneyu(revenue[inside], revenue[~inside], alternative="greater").pvalue
            < 1e-4
        )


@pytest.mark.parametrize("spec_name", SIGNAL_SPECS)
def test_disqualified_accounts_lose_more(spec_name: str) -> None:
    crm = make_crm(3000, seed=11, icp=spec_name)
    inside = covered(crm.truth.icp.disqualifiers, crm.accounts)
    lift, p_value = rate_test(account_outcomes(crm), inside, "won", "closed")
    assert lift < 0.5 and p_value < 1e-3, (lift, p_value)


def test_churn_is_higher_when_disqualified_and_lower_in_the_icp() -> None:
    crm = make_crm(20_000, seed=5)
    outcomes = churn_counts(account_outcomes(crm))
    icp = crm.truth.icp
    disqualified = covered(icp.disqualifiers, crm.accounts)
    in_icp = covered(icp.segments, crm.accounts) & ~disqualified
    lift, p_value = rate_test(outcomes, disqualified, "churned_n", "customer")
    assert lift > 1.5 and p_value < 1e-3, (lift, p_value)
    lift, p_value = rate_test(outcomes, in_icp, "churned_n", "customer")
    assert lift < 0.6 and p_value < 1e-3, (lift, p_value)


def test_icp_subscriptions_expand(synthetic_crm: SyntheticCrm) -> None:
    subs = synthetic_crm.subscriptions.join(synthetic_crm.truth_frame(), on="account_id")
    growth = (
        subs.sort("start")
        .group_by("account_id", "in_icp")
        .agg(ratio=pl.col("mrr").last() / pl.col("mrr").first(), terms=pl.len())
        .filter(pl.col("terms") > 1)
    )
    inside = growth.filter(pl.col("in_icp"))["ratio"].mean()
    outside = growth.filter(~pl.col("in_icp"))["ratio"].mean()
    assert inside is not None and outside is not None and inside > outside > 1.0


def test_icp_accounts_give_higher_nps_and_show_signals_before_wins(
    synthetic_crm: SyntheticCrm,
) -> None:
    truth = synthetic_crm.truth_frame()
    nps = synthetic_crm.notes.filter(pl.col("source") == "survey").join(truth, on="account_id")
    inside, outside = nps.filter(pl.col("in_icp"))["score"], nps.filter(~pl.col("in_icp"))["score"]
    assert stats.mannwhitneyu(inside, outside, alternative="greater").pvalue < 1e-4
    signalled = synthetic_crm.signals.filter(
        pl.col("type").is_in(["funding", "hiring", "leadership_change"])
    )
    per_account = truth.join(
        signalled.group_by("account_id").len(), on="account_id", how="left"
    ).fill_null(0)
    counts = per_account["len"].to_numpy()
    assert (
        counts[truth["in_icp"].to_numpy()].mean() > 1.5 * counts[~truth["in_icp"].to_numpy()].mean()
    )


def test_won_deals_more_often_have_the_planted_persona(synthetic_crm: SyntheticCrm) -> None:
    spec = synthetic_crm.truth.icp
    forms = TITLE_FORMS[(spec.persona_function, spec.persona_band)]
    per_deal = (
        synthetic_crm.contacts.with_columns(
            persona=pl.col("title").str.to_lowercase().is_in([f.lower() for f in forms])
        )
        .group_by("deal_id")
        .agg(pl.col("persona").any(), pl.len())
        .join(synthetic_crm.deals.select("deal_id", "stage"), on="deal_id")
    )
    won = per_deal.filter(pl.col("stage") == "won")["persona"].mean()
    lost = per_deal.filter(pl.col("stage") == "lost")["persona"].mean()
    assert isinstance(won, float) and isinstance(lost, float)
    odds_ratio = won / (1 - won) / (lost / (1 - lost))
    assert 2.0 < odds_ratio < 4.5  # planted 3.0 (a few titles are noise)
    sizes = per_deal.group_by("stage").agg(pl.col("len").mean()).sort("stage")
    assert sizes["len"][2] > 1.2 * sizes["len"][0]  # won committees are bigger than lost ones


def test_the_none_spec_plants_no_difference() -> None:
    crm = make_crm(4000, seed=13, icp="none")
    outcomes = churn_counts(account_outcomes(crm))
    rules = {r for spec in SPECS.values() for r in (*spec.segments, *spec.disqualifiers)}
    for rule in sorted(rules):
        inside = parse_segment(rule).mask(crm.accounts)
        for success, trials in (("won", "closed"), ("churned_n", "customer")):
            _, p_value = rate_test(outcomes, inside, success, trials)
            assert p_value > 1e-3, (rule, success, p_value)


def test_the_shifted_spec_changes_win_rates_after_the_shift_date() -> None:
    crm = make_crm(6000, seed=5, icp="shifted")
    spec = crm.truth.icp
    assert spec.shift_date is not None
    new_icp = covered(spec.shifted_segments, crm.accounts) & ~covered(spec.segments, crm.accounts)
    old_icp = covered(spec.segments, crm.accounts) & ~covered(spec.shifted_segments, crm.accounts)
    deals = crm.deals.filter(pl.col("stage") != "open").with_columns(
        after=pl.col("created_at") >= spec.shift_date, won=pl.col("stage") == "won"
    )
    for mask, direction in ((new_icp, 1), (old_icp, -1)):
        ids = crm.accounts["account_id"].filter(pl.Series(mask & ~crm.truth.disqualified))
        rates = (
            deals.filter(pl.col("account_id").is_in(ids.implode()))
            .group_by("after")
            .agg(won=pl.col("won").sum(), n=pl.len())
        )
        before, after = rates.sort("after").rows()
        table = [[before[1], before[2] - before[1]], [after[1], after[2] - after[1]]]
        change = after[1] / after[2] - before[1] / before[2]
        assert direction * change > 0.2 and stats.fisher_exact(table).pvalue < 1e-3, (
            direction,
            change,
        )


# --- errors ------------------------------------------------------------------------------------


def test_unknown_spec_and_out_of_period_shift_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown planted ICP 'nope'"):
        make_crm(10, icp="nope")
    with pytest.raises(ConfigError, match="outside the CRM period"):
        make_crm(10, icp="shifted", start=date(2020, 1, 1))
    with pytest.raises(ConfigError, match="icp_win must be within"):
        PlantedIcp(icp_win=1.5)
    with pytest.raises(ConfigError, match="together"):
        PlantedIcp(shift_date=date(2024, 1, 1))


# --- workspace ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_workspace_round_trips_through_the_loader(tmp_path: Path, fmt: str) -> None:
    crm = make_crm(400, seed=9)
    config_path = crm.write_workspace(tmp_path, fmt=fmt)  # type: ignore[arg-type]
    assert config_path == tmp_path / "icpkit.toml"
    assert json.loads((tmp_path / "planted_icp.json").read_text())["icp"]["segments"]
    loaded = load_workspace(load_config(tmp_path), tmp_path)
    for table in TABLES:
        frame = loaded.table(table)
        assert frame is not None and frame.height == crm.frames()[table].height, table
    assert (
        loaded.deals is not None and loaded.deals["stage"].to_list() == crm.deals["stage"].to_list()
    )
    stacks = crm.accounts["tech_stack"].to_list()
    reloaded = loaded.accounts.sort("account_id")["tech_stack"].to_list()
    assert [sorted(s or []) for s in reloaded] == [sorted(s or []) for s in stacks]


# --- across seeds (slow) -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("spec_name", SIGNAL_SPECS)
def test_planted_lift_holds_for_every_seed(spec_name: str) -> None:
    for seed in range(15):
        crm = make_crm(2000, seed=seed, icp=spec_name)
        outcomes = account_outcomes(crm)
        for rule in crm.truth.icp.segments:
            lift, p_value = rate_test(
                outcomes, parse_segment(rule).mask(crm.accounts), "won", "closed"
            )
            assert lift > 1.3 and p_value < 0.01, (seed, rule, lift, p_value)


@pytest.mark.slow
def test_the_none_spec_rarely_shows_a_difference_across_seeds() -> None:
    rules = sorted({r for spec in SPECS.values() for r in (*spec.segments, *spec.disqualifiers)})
    p_values = []
    for seed in range(30):
        crm = make_crm(2000, seed=100 + seed, icp="none")
        outcomes = account_outcomes(crm)
        p_values += [
            rate_test(outcomes, parse_segment(r).mask(crm.accounts), "won", "closed")[1]
            for r in rules
        ]
    # Under no planted signal, p-values are (conservatively) uniform: about 5% fall below 0.05.
    assert np.mean(np.array(p_values) < 0.05) < 0.1
    assert np.median(p_values) > 0.3
