"""Honest verdicts on page 1: tier order, MadKudu's bar, too good to be true, calibration.

Worlds come from :mod:`icpkit.datasets.verdicts` (seeded, planted truth). The planted-scorer cases
are fast; those that learn a scorecard before the cut are marked slow.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from icpkit.config import ScoringConfig, TierConfig
from icpkit.datasets.verdicts import verdict_world
from icpkit.evaluation.backtest import split_at
from icpkit.evaluation.calibration import (
    calibrate_held_out,
    expected_calibration_error,
    isotonic_map,
)
from icpkit.evaluation.checks import bar_check, rate_ratio, tier_order, tier_rates
from icpkit.evaluation.validation import evaluate, with_held_out
from icpkit.profile import IcpProfile, TooGoodCheck, ValidationSection
from icpkit.report import ReportInput, render_html, render_markdown
from icpkit.scoring.apply import score_frame
from icpkit.scoring.learn import fit_scorecard_and_tiers


def _page_one(profile: IcpProfile) -> tuple[str, str]:
    """(one-pager HTML, the Markdown report's text above its first section)."""
    html = render_html(ReportInput(profile=profile), onepager_only=True)
    text, _ = render_markdown(ReportInput(profile=profile))
    return html, text.split("## Who to target")[0]


def _planted(case: str, seed: int = 0) -> tuple[ValidationSection, IcpProfile]:
    world = verdict_world(case, seed=seed)  # type: ignore[arg-type]
    assert world.scored is not None
    _, after = split_at(world.crm, world.cut)
    result = evaluate(world.scored, after, cut=world.cut)
    return result, with_held_out(IcpProfile(), result)


def _learned(case: str, n: int = 1500, seed: int = 0) -> tuple[ValidationSection, IcpProfile]:
    """A scorecard learned on the deals before the cut, tested on those after it."""
    world = verdict_world(case, n=n, seed=seed)  # type: ignore[arg-type]
    before, after = split_at(world.crm, world.cut)
    assert before.deals is not None
    stage = dict(before.deals.select("account_id", "stage").iter_rows())
    labels = np.array(
        [
            {"won": "best", "lost": "rest"}.get(stage.get(i, ""), "unranked")
            for i in before.accounts["account_id"]
        ]
    )
    scoring = ScoringConfig(target="won", regularization_grid=[])
    card, tiers = fit_scorecard_and_tiers(
        before.accounts, labels, [], [], scoring, TierConfig(), deals=before.deals
    )
    profile = IcpProfile(scorecard=card, tiers=tiers)
    scored = score_frame(profile, after.accounts, reasons=False)
    result = evaluate(scored, after, cut=world.cut, profile=profile)
    return result, with_held_out(profile, result)


# --- tier order --------------------------------------------------------------------------------


def test_tiers_out_of_order_beyond_their_intervals_fail_with_the_reason() -> None:
    result, profile = _planted("out_of_order")
    verdict = result.verdict
    assert verdict is not None and verdict.status == "fail"
    assert any("Tier 2 converts below Tier 3" in r and "out of order" in r for r in verdict.reasons)
    assert profile.validation is not None and profile.validation.checks is not None
    order = profile.validation.checks.tier_order
    assert not order.in_order
    assert [(i.higher, i.lower, i.distinct) for i in order.inversions] == [
        ("Tier 2", "Tier 3", True)
    ]
    html, text = _page_one(profile)
    assert 'data-status="fail"' in html and "Tier 2 converts below Tier 3" in html
    assert "PASSED" not in html and "Tier 2 converts below Tier 3" in text


def test_tiers_out_of_order_within_their_intervals_are_amber_not_passed() -> None:
    # the demo's rates: 53 / 31 / 33 / 24%
    result, profile = _planted("blurred")
    verdict = result.verdict
    assert verdict is not None and verdict.status == "warn", verdict
    assert not verdict.reasons
    assert any("not distinguishable" in w for w in verdict.warnings)
    html, text = _page_one(profile)
    assert 'class="held-out warn"' in html and 'data-status="warn"' in html
    assert "not distinguishable" in html and "PASSED" not in html
    assert "CAUTION" in text and "not distinguishable" in text


def test_tier_order_compares_every_pair_and_skips_empty_tiers() -> None:
    closed = pl.DataFrame(
        {
            "tier": ["Tier 1"] * 10 + ["Tier 3"] * 10 + ["Non-fit"] * 10,
            "_won": [True] * 2 + [False] * 8 + [True] * 5 + [False] * 5 + [False] * 10,
        }
    )
    order = tier_order(tier_rates(closed))
    assert [(i.higher, i.lower) for i in order.inversions] == [("Tier 1", "Tier 3")]
    assert not order.inversions[0].distinct  # 20% of 10 vs 50% of 10: intervals overlap


# --- the published bar -------------------------------------------------------------------------


def test_rate_ratio_and_katz_interval() -> None:
    ratio, lo, hi = rate_ratio(50, 100, 5, 100)
    assert ratio == pytest.approx(10.0)
    se = np.sqrt(1 / 50 - 1 / 100 + 1 / 5 - 1 / 100)
    assert lo == pytest.approx(10 * np.exp(-1.959963984540054 * se))
    assert hi == pytest.approx(10 * np.exp(1.959963984540054 * se))
    ratio, lo, hi = rate_ratio(10, 20, 0, 50)  # no win at the bottom: corrected, finite
    assert ratio is not None and np.isfinite(ratio) and lo is not None and lo > 1
    assert rate_ratio(1, 0, 1, 10) == (None, None, None)


def test_bar_counts_accounts_and_needs_both_parts() -> None:
    # 100 accounts; Tier 1+2 are 30 of them and hold 27 of 30 conversions; Tier 1 90% vs 3%
    tiers = ["Tier 1"] * 20 + ["Tier 2"] * 10 + ["Tier 3"] * 30 + ["Non-fit"] * 40
    won = [True] * 18 + [False] * 2 + [True] * 9 + [False] + [True] * 2 + [False] * 28
    won += [True] + [False] * 39
    closed = pl.DataFrame({"account_id": range(100), "tier": tiers, "_won": won})
    bar = bar_check(closed, tier_rates(closed))
    assert bar is not None and bar.unit == "accounts"
    assert bar.top_share_of_leads == pytest.approx(0.30)
    assert bar.top_share_of_conversions == pytest.approx(27 / 30)
    assert bar.bottom_tier == "Non-fit"
    assert bar.top_bottom_ratio == pytest.approx(0.9 / 0.025)
    assert bar.concentration_met and bar.ratio_met and bar.met
    # the same wins spread over 60% of the leads: concentration missed
    wide = closed.with_columns(
        pl.when(pl.col("tier") == "Tier 3").then(pl.lit("Tier 2")).otherwise("tier").alias("tier")
    )
    bar = bar_check(wide, tier_rates(wide))
    assert bar is not None and not bar.concentration_met and not bar.met


# --- too good ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_leaked_column_is_too_good_and_named_on_page_one() -> None:
    result, profile = _learned("leaked")
    assert result.auc is not None and result.auc.value is not None and result.auc.value > 0.95
    verdict = result.verdict
    assert verdict is not None and verdict.status == "warn"
    assert any("too good for fit data" in w for w in verdict.warnings)
    assert profile.validation is not None and profile.validation.checks is not None
    good = profile.validation.checks.too_good
    assert good is not None and good.carriers[0].columns == ["segment_code"]
    assert good.carriers[0].auc is not None and good.carriers[0].auc > 0.9
    html, text = _page_one(profile)
    assert 'class="held-out ok"' not in html and "PASSED" not in html
    for page in (html, text.replace("\\_", "_")):  # Markdown escapes the underscore
        assert "too good for fit data" in page and "segment_code" in page


@pytest.mark.slow
def test_a_healthy_moderate_model_meeting_the_bar_passes() -> None:
    result, profile = _learned("healthy")
    assert result.auc is not None and 0.7 < (result.auc.value or 0) < 0.95
    assert result.verdict is not None and result.verdict.status == "pass", result.verdict
    assert profile.validation is not None and profile.validation.checks is not None
    bar = profile.validation.checks.bar
    assert bar is not None and bar.met and profile.validation.checks.too_good is None
    html, text = _page_one(profile)
    assert 'class="held-out ok"' in html and "PASSED" in html
    assert "Published bar met:" in html and "Published bar met:" in text
    # the held-out calibration replaced the probability map, not the points
    assert profile.scorecard is not None and result.calibration is not None
    calibration = profile.validation.calibration
    assert calibration is not None and calibration.applied
    assert calibration.ece_after is not None and calibration.ece_before is not None
    assert calibration.ece_after < calibration.ece_before
    assert list(profile.scorecard.probability) == calibration.probability
    assert profile.scorecard.calibration.startswith("isotonic on")
    before = IcpProfile(scorecard=profile.scorecard.model_copy(update={"probability": []}))
    assert [f.points for f in before.scorecard.features] == [  # type: ignore[union-attr]
        f.points
        for f in profile.scorecard.features  # type: ignore[union-attr]
    ]
    # the profile JSON round-trips with the typed checks and calibration
    again = IcpProfile.model_validate_json(profile.to_json())
    assert again.validation == profile.validation


# --- calibration -------------------------------------------------------------------------------


def _known_probabilities(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores 0–100, their true probability, and outcomes drawn from it."""
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 101, n)
    truth = 1 / (1 + np.exp(-(score - 60) / 8))
    y = rng.random(n) < truth
    return score, truth, y


def test_isotonic_calibration_improves_ece_on_known_probabilities() -> None:
    score, truth, y = _known_probabilities(4000, 0)
    built = score / 100  # the build's map: linear, badly calibrated
    check, rows = calibrate_held_out(score, built, y, outcome="won", target="won")
    assert check.ece_before is not None and check.ece_after is not None
    assert check.ece_after < check.ece_before / 2
    assert check.brier_after is not None and check.brier_before is not None
    assert check.brier_after < check.brier_before
    # the map is close to the true probabilities and counts every row
    table = np.asarray(check.probability)
    assert np.abs(table[score] - truth).mean() < 0.05
    assert sum(r["n"] for r in rows) == score.size
    assert expected_calibration_error(truth, y) < check.ece_before


def test_a_monotone_map_preserves_the_ranking() -> None:
    score, _, y = _known_probabilities(1500, 1)
    table = isotonic_map(score, y)
    assert np.all(np.diff(table) >= 0)
    p = table[score]
    order = np.argsort(score, kind="stable")
    assert np.all(np.diff(p[order]) >= 0)  # a higher score never gets a lower probability
    assert table.min() > 0 and table.max() < 1  # never certain from a finite sample


def test_too_few_rows_learn_no_map_and_say_so() -> None:
    score, _, y = _known_probabilities(40, 2)
    check, _ = calibrate_held_out(score, score / 100, y, outcome="won", target="won")
    assert not check.probability and check.ece_after is None and "too few" in check.note


def test_calibration_does_not_depend_on_row_order() -> None:
    world = verdict_world("blurred", seed=3)
    assert world.scored is not None
    _, after = split_at(world.crm, world.cut)
    a = evaluate(world.scored, after, cut=world.cut)
    shuffled = after.deals.sample(fraction=1.0, shuffle=True, seed=7)  # type: ignore[union-attr]
    b = evaluate(
        world.scored.sample(fraction=1.0, shuffle=True, seed=8),
        type(after)(accounts=after.accounts, deals=shuffled),
        cut=world.cut,
    )
    assert a.calibration == b.calibration and a.reliability == b.reliability
    assert a.checks == b.checks and a.verdict == b.verdict


def test_accounts_with_many_deals_are_counted_by_deal() -> None:
    # 10 accounts with 20 closed deals each: every account has a win, so accounts cannot tell
    tiers = ["Tier 1"] * 40 + ["Tier 3"] * 60 + ["Non-fit"] * 100
    won = ([True] * 30 + [False] * 10) + ([True] * 10 + [False] * 50) + ([True] * 5 + [False] * 95)
    closed = pl.DataFrame({"account_id": [i // 20 for i in range(200)], "tier": tiers, "_won": won})
    bar = bar_check(closed, tier_rates(closed))
    assert bar is not None and bar.unit == "deals" and bar.n_leads == 200
    assert bar.top_share_of_conversions == pytest.approx(30 / 45)


def test_reversed_tiers_read_as_one_sentence_per_kind() -> None:
    rates = [0.10, 0.2, 0.3, 0.4]  # every pair inverted, within their intervals (n=20 each)
    tiers, won = [], []
    for name, r in zip(("Tier 1", "Tier 2", "Tier 3", "Non-fit"), rates, strict=True):
        tiers += [name] * 20
        won += [True] * int(r * 20) + [False] * (20 - int(r * 20))
    closed = pl.DataFrame({"tier": tiers, "_won": won, "fit_score": range(80)})
    from icpkit.evaluation.validation import held_out_verdict
    from icpkit.stats import auc_with_ci

    auc = auc_with_ci(closed["fit_score"].to_numpy().astype(float), np.asarray(won))
    verdict = held_out_verdict(closed, auc, "out-of-time", "won vs lost deals")
    blurred = [w for w in verdict.warnings if "not distinguishable" in w]
    assert len(blurred) == 1 and "Tier 1 converts below Non-fit" in blurred[0]
    assert "(and 5 more pairs)" in blurred[0]


def test_a_too_good_verdict_without_a_model_to_ask_names_the_final_scorecards_inputs() -> None:
    # cross-validated: no single model scored the held-out rows, so the final scorecard is asked
    from pathlib import Path

    full = IcpProfile.read(Path(__file__).parent / "fixtures" / "profile_full.json")
    assert full.scorecard is not None
    result, _ = _planted("blurred")
    assert result.checks is not None
    checks = result.checks.model_copy(
        update={"too_good": TooGoodCheck(auc=0.98, threshold=0.95, carriers=[])}
    )
    result = result.model_copy(update={"checks": checks})
    profile = with_held_out(full, result)
    assert profile.validation is not None and profile.validation.checks is not None
    good = profile.validation.checks.too_good
    assert good is not None and good.carriers
    assert all(c.auc is None and c.points_share for c in good.carriers)  # points share only
    assert profile.validation.verdict is not None
    lines = " ".join(profile.validation.verdict.lines)
    assert "too good for fit data" in lines and good.carriers[0].name in lines
