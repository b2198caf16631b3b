"""The holdout experiment (issue 26): the draw, the power plan, the read-out and its intervals.

The statistical claims are checked against a planted truth (icpkit.datasets.synthetic.routing):
deals after the start are simulated with a known effect of ICP routing, so the true difference of
every metric is known exactly. The default suite runs a few seeds; the slow suite runs 50, with a
null effect read every two weeks (peeking) as well.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.datasets import SyntheticCrm, make_crm
from icpkit.datasets.synthetic.routing import RoutingEffect, routing_truth, simulate_routing
from icpkit.errors import ConfigError, InsufficientDataError, StoreError
from icpkit.lifecycle import experiment as ex

START = date(2026, 1, 1)
FIXTURES = Path(__file__).parent / "fixtures"


def truth_tiers(crm: SyntheticCrm) -> pl.DataFrame:
    """Tiers from the planted truth: in the ICP → Tier 1, not disqualified → Tier 2, else Tier 3."""
    truth = crm.truth
    tier = np.where(truth.in_icp, "Tier 1", np.where(~truth.disqualified, "Tier 2", "Tier 3"))
    return pl.DataFrame({"account_id": crm.accounts["account_id"], "tier": tier})


@pytest.fixture(scope="module")
def world() -> tuple[SyntheticCrm, pl.DataFrame]:
    crm = make_crm(2500, seed=5)
    return crm, truth_tiers(crm)


def test_the_holdout_is_drawn_within_each_tier_whatever_the_row_order(world) -> None:
    crm, scored = world
    plan, assignments = ex.start_experiment(scored, crm.deals, start=START, seed=3)
    for stratum in plan.strata:
        assert stratum.holdout == round(stratum.accounts * 0.1)
        part = assignments.filter(pl.col("tier") == stratum.tier)
        assert (part["arm"] == "holdout").sum() == stratum.holdout
    shuffled = scored.sample(fraction=1.0, shuffle=True, seed=11)
    _, again = ex.start_experiment(shuffled, crm.deals, start=START, seed=3)
    assert again.sort("account_id").equals(assignments.sort("account_id"))
    _, other = ex.start_experiment(scored, crm.deals, start=START, seed=4)
    assert not other.sort("account_id").equals(assignments.sort("account_id"))
    assert set(assignments["tier"].unique()) <= {"Tier 1", "Tier 2"}


def test_customers_are_left_out_unless_asked(world) -> None:
    crm, scored = world
    won_before = (
        crm.deals.filter((pl.col("stage") == "won") & (pl.col("closed_at") < START))["account_id"]
        .unique()
        .to_list()
    )
    plain = ex.eligible_accounts(scored, crm.deals, START)
    assert not set(plain["account_id"]) & set(won_before)
    every = ex.eligible_accounts(scored, crm.deals, START, include_customers=True)
    assert set(every["account_id"]) & set(won_before)
    assert every.height > plain.height


def test_the_power_plan_needs_fewer_weeks_for_a_bigger_lift_or_a_bigger_holdout(world) -> None:
    crm, scored = world
    small, _ = ex.start_experiment(scored, crm.deals, start=START, seed=1, min_lift=0.5)
    big, _ = ex.start_experiment(scored, crm.deals, start=START, seed=1, min_lift=1.0)
    wide, _ = ex.start_experiment(
        scored, crm.deals, start=START, seed=1, min_lift=0.5, holdout_share=0.5
    )
    weeks = [p.power.weeks_needed or ex.MAX_WEEKS + 1 for p in (small, big, wide)]
    assert weeks[1] < weeks[0] and weeks[2] < weeks[0]
    # a sequential test that may be read every week needs longer than one read once
    assert big.power.fixed_horizon_weeks is not None and big.power.weeks_needed is not None
    assert big.power.fixed_horizon_weeks < big.power.weeks_needed
    assert "weeks to detect" in big.power.sentence()
    assert big.power.history_wins > 0 and 0 < big.power.weekly_conversion_rate < 0.1


def test_the_confidence_sequence_is_wider_than_a_one_look_interval() -> None:
    _k, factor = ex.mixture_factor(0.05)
    assert factor > 1.96  # the price of looking as often as you like
    rho = 0.3 * 1e-4
    tightest = ex.sequence_halfwidth(1e-4, rho, 0.05)
    assert tightest > 1.96 * 1e-2
    assert ex.sequence_halfwidth(4e-4, rho, 0.05) > tightest  # more noise, wider
    assert ex.sequence_halfwidth(float("nan"), rho, 0.05) == float("inf")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_planted_effect_is_inside_every_interval(world, seed: int) -> None:
    crm, scored = world
    plan, assignments = ex.start_experiment(
        scored, crm.deals, start=START, seed=seed, holdout_share=0.2
    )
    deals, truth = simulate_routing(assignments, START, 26, RoutingEffect(0.3, 0.3), seed)
    history = crm.deals.select(deals.columns)
    report = ex.experiment_report(plan, assignments, pl.concat([history, deals]), truth.end)
    for item in report.effects:
        assert item.low <= truth.effects[item.metric] <= item.high, item
    assert report.effect("conversion").effect > 0
    assert report.weeks == pytest.approx(26)


def test_a_null_effect_read_every_two_weeks_claims_nothing(world) -> None:
    crm, scored = world
    plan, assignments = ex.start_experiment(scored, crm.deals, start=START, seed=9)
    deals, _ = simulate_routing(assignments, START, 30, RoutingEffect(), 109)
    for week in range(2, 31, 2):
        report = ex.experiment_report(plan, assignments, deals, START + timedelta(days=7 * week))
        assert report.effect("conversion").verdict == "no effect detected"
    assert "No effect detected" in report.verdict


def test_the_truth_of_a_null_effect_is_zero(world) -> None:
    crm, scored = world
    _, assignments = ex.start_experiment(scored, crm.deals, start=START, seed=0)
    truth = routing_truth(assignments, START, 20, RoutingEffect())
    assert all(abs(v) < 1e-12 for v in truth.effects.values())
    lifted = routing_truth(assignments, START, 20, RoutingEffect(0.5, 0.0))
    assert lifted.effects["pipeline_deals"] > 0 and lifted.effects["win_rate"] == pytest.approx(0)


def test_a_clear_error_for_each_bad_request(world, tmp_path: Path) -> None:
    crm, scored = world
    with pytest.raises(ConfigError, match="--holdout must be between 0 and 1"):
        ex.start_experiment(scored, crm.deals, start=START, holdout_share=1.5)
    with pytest.raises(ConfigError, match="--min-lift must be positive"):
        ex.start_experiment(scored, crm.deals, start=START, min_lift=0)
    with pytest.raises(InsufficientDataError, match="at least 20"):
        ex.start_experiment(scored.head(5), crm.deals, start=START)
    no_wins = crm.deals.filter(pl.col("stage") != "won")
    with pytest.raises(InsufficientDataError, match="no first win"):
        ex.start_experiment(scored, no_wins, start=START)
    with pytest.raises(ConfigError, match="no experiment in this workspace"):
        ex.load_experiment(tmp_path)
    plan, assignments = ex.start_experiment(scored, crm.deals, start=START, seed=1)
    ex.save_experiment(tmp_path, plan, assignments)
    with pytest.raises(StoreError, match="still running"):
        ex.save_experiment(tmp_path, plan, assignments)
    with pytest.raises(ConfigError, match="before the experiment started"):
        ex.experiment_report(plan, assignments, crm.deals, START - timedelta(days=1))
    (ex.experiment_dir(tmp_path) / ex.PLAN_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreError, match="damaged"):
        ex.load_experiment(tmp_path)


def test_stop_keeps_the_data_and_allows_a_new_start(world, tmp_path: Path) -> None:
    crm, scored = world
    plan, assignments = ex.start_experiment(scored, crm.deals, start=START, seed=1)
    ex.save_experiment(tmp_path, plan, assignments)
    stopped = ex.stop_experiment(tmp_path, START + timedelta(days=70))
    assert stopped.status == "stopped" and stopped.stopped_on == START + timedelta(days=70)
    again, stored = ex.load_experiment(tmp_path)
    assert again.status == "stopped" and stored.equals(assignments)
    ex.save_experiment(tmp_path, plan, assignments)  # a stopped one may be replaced


# ----------------------------------------------------------------------------- the command line


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    """A synthetic workspace with the stored demo profile saved as version 1 (no build needed)."""
    from icpkit import pipeline
    from icpkit.lifecycle.store import fingerprint
    from icpkit.profile import IcpProfile

    crm = make_crm(1500, seed=2)
    crm.write_workspace(tmp_path)
    ws = pipeline.Workspace.open(tmp_path)
    profile = IcpProfile.from_json((FIXTURES / "profile_v2_demo.json").read_text(encoding="utf-8"))
    ws.store.save(
        profile.to_json(),
        config_hash=ws.config.content_hash(),
        fingerprint=fingerprint(ws.load()),
        validation=None,
    )
    return tmp_path


def test_the_commands_start_report_and_stop(workspace: Path) -> None:
    runner = CliRunner()
    out = workspace / "holdout.csv"
    w = ["-w", str(workspace)]
    dry = runner.invoke(app, ["experiment", "start", *w, "--start", "2026-01-01", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would hold out" in dry.output and not ex.experiment_dir(workspace).exists()
    started = runner.invoke(
        app,
        ["experiment", "start", *w, "--start", "2026-01-01", "--seed", "4", "-o", str(out)],
    )
    assert started.exit_code == 0, started.output
    rows = pl.read_csv(out)
    assert rows.columns == ["account_id", "name", "domain", "tier", "icp_experiment_arm"]
    assert set(rows["icp_experiment_arm"]) == {"routed", "holdout"}
    # new deals arrive in the next export: the read-out sees them
    plan, assignments = ex.load_experiment(workspace)
    deals, truth = simulate_routing(assignments, START, 20, RoutingEffect(0.4, 0.4), 4)
    old = pl.read_csv(workspace / "deals.csv", try_parse_dates=True)
    pl.concat([old, deals], how="diagonal_relaxed").write_csv(workspace / "deals.csv")
    result = runner.invoke(app, ["experiment", "report", *w, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["as_of"] <= str(truth.end) and payload["primary"] == "conversion"
    assert {e["metric"] for e in payload["effects"]} == set(ex.METRICS)
    text = runner.invoke(app, ["experiment", "report", *w]).output
    assert "routed" in text and "holdout" in text and plan.experiment_id in text
    again = runner.invoke(app, ["experiment", "start", *w])
    assert again.exit_code != 0 and "still running" in again.output
    assert "Traceback" not in again.output
    stop = runner.invoke(app, ["experiment", "stop", *w, "--on", "2026-06-01"])
    assert stop.exit_code == 0 and "stopped on 2026-06-01" in stop.output


def test_no_contact_data_reaches_the_write_back_or_the_report(workspace: Path) -> None:
    runner = CliRunner()
    out = workspace / "holdout.csv"
    w = ["-w", str(workspace)]
    runner.invoke(app, ["experiment", "start", *w, "--start", "2026-01-01", "-o", str(out)])
    report = runner.invoke(app, ["experiment", "report", *w, "--json"]).output
    contacts = pl.read_csv(workspace / "contacts.csv")
    written = out.read_text(encoding="utf-8") + report
    for column in ("name", "email"):
        for value in contacts[column].drop_nulls().head(200):
            assert str(value) not in written


# ----------------------------------------------------------------------------- 50 seeds (slow)


@pytest.mark.slow
def test_fifty_seeds_recover_the_effect_and_a_null_stays_quiet_while_peeking() -> None:
    """The issue's bar: the planted effect inside the interval in >= 90% of 50 seeds, and a null
    effect called "no effect" at the nominal rate although it is read every two weeks."""
    crm = make_crm(6000, seed=5)
    scored = truth_tiers(crm)
    covered = detected = false_alarms = naive_alarms = 0
    for seed in range(50):
        plan, assignments = ex.start_experiment(
            scored, crm.deals, start=START, seed=seed, holdout_share=0.2
        )
        deals, truth = simulate_routing(assignments, START, 26, RoutingEffect(0.3, 0.3), seed)
        report = ex.experiment_report(plan, assignments, deals, truth.end)
        main = report.effect("conversion")
        covered += main.low <= truth.effects["conversion"] <= main.high
        detected += main.verdict == "higher"
        null, _ = simulate_routing(assignments, START, 26, RoutingEffect(), 1000 + seed)
        alarm = naive = False
        for week in range(2, 27, 2):
            look = ex.experiment_report(plan, assignments, null, START + timedelta(days=7 * week))
            item = look.effect("conversion")
            alarm |= item.verdict != "no effect detected"
            naive |= _naive_claims(plan, assignments, null, week)  # a fixed 95% interval
        false_alarms += alarm
        naive_alarms += naive
    assert covered >= 45, covered
    assert false_alarms <= 5, false_alarms  # nominal 5% of 50 is 2.5; 5 is its binomial 92nd pct
    assert detected >= 20, detected  # a +69% hazard is found within half a year in most seeds
    assert naive_alarms >= false_alarms


def _naive_claims(plan, assignments, deals, week: int) -> bool:
    """A fixed-horizon two-sided 95% test of conversion at this look (invalid when peeking)."""
    end = START + timedelta(days=7 * week)
    outcomes = ex.account_outcomes(assignments["account_id"], deals, START, end)
    frame = assignments.join(outcomes, on="account_id")
    routed = (frame["arm"] == "routed").to_numpy()
    effect, variance, _, _ = ex._stratified(
        frame["conversion"].to_numpy(), routed, frame["tier"].to_numpy()
    )
    return bool(variance > 0 and abs(effect) > 1.96 * variance**0.5)
