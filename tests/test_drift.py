"""Drift: PSI per attribute, tier decay, win-pattern shifts, age, and the verdict."""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import cache

import numpy as np
import polars as pl
import pytest

from icpkit.config import DriftConfig
from icpkit.datasets import SPECS, SyntheticCrm, make_crm
from icpkit.errors import SchemaError
from icpkit.evaluation.backtest import default_cut_date, split_at
from icpkit.evaluation.validation import evaluate
from icpkit.lifecycle.drift import DriftResult, drift_report, tier_decay
from icpkit.lifecycle.stability import (
    attribute_drift,
    population_drift,
    psi,
    psi_level,
)
from icpkit.profile import IcpProfile, RuleEvidence, ValidationSection
from icpkit.stats import Estimate

SHIFT = SPECS["shifted"].shift_date
SHIFTED_ATTRIBUTES = {"industry", "employees", "tech_stack"}  # of SPECS["shifted"].shifted_segments
BUILT = "2025-03-01T00:00:00+00:00"


def planted_profile(created_at: str = BUILT) -> IcpProfile:
    rules = [*SPECS["default"].segments]
    return IcpProfile(
        created_at=created_at,
        criteria=[
            RuleEvidence(
                rule=r, support=100, coverage=0.4, precision=0.5, lift=2.0, lift_ci=(1.5, 2.5)
            )
            for r in rules
        ],
        disqualifiers=[
            RuleEvidence(
                rule=r, support=50, coverage=0.3, precision=0.5, lift=2.0, lift_ci=(1.5, 2.5)
            )
            for r in SPECS["default"].disqualifiers
        ],
    )


@cache
def synthetic(spec: str, seed: int = 0) -> SyntheticCrm:
    return make_crm(2000, seed, icp=spec)


def planted_tiers(crm: SyntheticCrm, seed: int = 0) -> pl.DataFrame:
    """Tiers from the planted ICP *before* any shift: what a correct build in early 2025 gives."""
    truth = crm.truth
    tier = np.where(truth.disqualified, "Non-fit", np.where(truth.in_icp, "Tier 1", "Tier 3"))
    rng = np.random.default_rng(seed)
    base = np.select([tier == "Tier 1", tier == "Non-fit"], [85.0, 10.0], 40.0)
    return pl.DataFrame(
        {
            "account_id": crm.accounts["account_id"],
            "tier": tier,
            "fit_score": base + rng.normal(0, 5, tier.size),
        }
    )


def report_for(spec: str, seed: int = 0) -> DriftResult:
    crm = synthetic(spec, seed)
    deals = crm.deals.join(planted_tiers(crm, seed), on="account_id")
    return drift_report(
        planted_profile(),
        crm.accounts,
        crm.accounts,
        deals.filter(pl.col("created_at") >= SHIFT),
        train_scored_deals=deals.filter(pl.col("created_at") < SHIFT),
        now=date(2025, 3, 2),
    )


# -- the must-show: planted shift → rebuild naming the attribute; no shift → keep ---------------


def test_planted_shift_says_rebuild_and_names_the_shifted_attribute() -> None:
    result = report_for("shifted")
    assert result.verdict == "rebuild"
    assert result.decay is not None and result.decay.significant
    named = result.named_attributes()
    assert named and named[0] in SHIFTED_ATTRIBUTES
    assert named[0] in result.to_text()


def test_no_shift_says_keep() -> None:
    result = report_for("default")
    assert result.verdict == "keep", result.to_text()
    assert result.decay is not None and not result.decay.decayed


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_verdicts_hold_across_seeds(seed: int) -> None:
    shifted = report_for("shifted", seed)
    assert shifted.verdict == "rebuild"
    named = shifted.named_attributes()
    assert named and named[0] in SHIFTED_ATTRIBUTES, shifted.to_text()
    assert report_for("default", seed).verdict == "keep"


@pytest.mark.parametrize(("spec", "decays"), [("shifted", True), ("default", False)])
def test_backtest_across_the_shift_shows_the_decay(spec: str, decays: bool) -> None:
    crm = synthetic(spec)
    _, after = split_at(crm.to_crm_data(), SHIFT)
    result = evaluate(planted_tiers(crm), after, cut=SHIFT)
    icp, rest = result.kpi("ICP", "win_rate"), result.kpi("Non-ICP", "win_rate")
    assert icp is not None and rest is not None and result.auc is not None
    separated = bool(icp.ci_low > rest.ci_high)  # type: ignore[operator]
    assert separated is not decays
    assert bool(result.top_decile_lift < 1.5) is decays  # type: ignore[operator]


def test_backtest_default_cut_on_shifted_data_still_sees_it() -> None:
    crm = synthetic("shifted")
    cut = default_cut_date(crm.deals)
    assert cut >= SHIFT  # the last quarter of closed deals falls after the shift
    _, after = split_at(crm.to_crm_data(), cut)
    result = evaluate(planted_tiers(crm), after, cut=cut)
    assert result.kpi("ICP", "win_rate").value < 0.4  # type: ignore[union-attr,operator]


# -- PSI ------------------------------------------------------------------------------------------


def test_psi_of_identical_shares_is_zero_and_known_value() -> None:
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    expected = (0.7 - 0.5) * np.log(0.7 / 0.5) + (0.3 - 0.5) * np.log(0.3 / 0.5)
    assert psi(np.array([0.5, 0.5]), np.array([0.7, 0.3])) == pytest.approx(expected)
    assert np.isfinite(psi(np.array([1.0, 0.0]), np.array([0.0, 1.0])))  # epsilon for empties


@pytest.mark.parametrize(
    ("value", "level"), [(0.05, "stable"), (0.1, "moderate"), (0.2, "moderate"), (0.3, "major")]
)
def test_psi_levels(value: float, level: str) -> None:
    assert psi_level(value) == level


def _series(name: str, values: list[object] | np.ndarray) -> pl.Series:
    return pl.Series(name, values)


def test_numeric_psi_sees_a_shift_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    train = _series("employees", rng.lognormal(5, 1, 3000))
    same = attribute_drift(train, _series("employees", rng.lognormal(5, 1, 3000)))
    moved = attribute_drift(train, _series("employees", rng.lognormal(6, 1, 3000)))
    assert same.level == "stable" and same.p_value > 0.01
    assert moved.level == "major" and moved.p_value < 1e-6 and moved.kind == "numeric"


def test_categorical_psi_pools_new_levels_and_counts_missing() -> None:
    train = _series("industry", ["A"] * 50 + ["B"] * 50)
    current = _series("industry", ["A"] * 40 + ["C"] * 30 + [None] * 30)
    drift = attribute_drift(train, current)
    bins = {b["bin"] for b in drift.top_bins}
    assert {"(other)", "(missing)"} <= bins and drift.level == "major"


def test_tag_psi_uses_each_tags_share() -> None:
    train = _series("tech_stack", [["a", "b"], ["a"], ["b"], []] * 50)
    current = _series("tech_stack", [["c"], ["a"], ["c", "a"], None] * 50)
    drift = attribute_drift(train, current)
    assert drift.kind == "tags" and drift.level == "major"
    assert drift.top_bins[0]["bin"] in {"(other tag)", "b"}


def test_population_drift_skips_ids_and_dates() -> None:
    crm = synthetic("default")
    rows = population_drift(crm.accounts, crm.accounts)
    names = {r.attribute for r in rows}
    assert {"account_id", "name", "domain"}.isdisjoint(names) and "industry" in names
    assert all(r.psi == pytest.approx(0.0) for r in rows)


def test_a_prospect_list_from_another_market_needs_a_rebuild() -> None:
    crm = synthetic("default")
    small = crm.accounts.filter(pl.col("employees") < 60)
    result = drift_report(planted_profile(), crm.accounts, small, now=date(2025, 3, 2))
    assert result.verdict == "rebuild"
    assert result.named_attributes()[0] == "employees"  # used by the ICP, and shifted most
    frame = result.to_frame()
    assert frame.filter(pl.col("attribute") == "employees")["level"][0] == "major"


# -- decay, age, shapes ---------------------------------------------------------------------------


def test_decay_against_the_stored_backtest() -> None:
    profile = planted_profile().model_copy(
        update={
            "validation": ValidationSection(
                kpis=[Estimate(group="Tier 1", kpi="win_rate", value=0.6, n=200)]
            )
        }
    )
    recent = pl.DataFrame(
        {"account_id": ["a"] * 100, "tier": ["Tier 1"] * 100, "stage": ["won"] * 25 + ["lost"] * 75}
    )
    decay = tier_decay(profile, recent)
    assert decay is not None and decay.significant and decay.build_source == "profile validation"
    assert decay.build.n == 200 and decay.recent.value == pytest.approx(0.25)


def test_no_build_rate_means_no_decay_check() -> None:
    recent = pl.DataFrame({"account_id": ["a"], "tier": ["Tier 1"], "stage": ["won"]})
    assert tier_decay(planted_profile(), recent) is None


@pytest.mark.parametrize(
    ("days", "verdict"), [(30, "cannot tell"), (120, "review"), (200, "rebuild")]
)
def test_age_drives_the_verdict(days: int, verdict: str) -> None:
    crm = synthetic("default")
    result = drift_report(
        planted_profile(), crm.accounts, crm.accounts, now=date(2025, 3, 1) + timedelta(days=days)
    )
    assert result.verdict == verdict and result.age_days == days


def test_age_thresholds_are_configurable() -> None:
    crm = synthetic("default")
    settings = DriftConfig(review_after_days=10, rebuild_after_days=20)
    result = drift_report(
        planted_profile(), crm.accounts, crm.accounts, now=date(2025, 3, 16), settings=settings
    )
    assert result.verdict == "review"


def test_result_is_json_safe_and_tabular() -> None:
    result = report_for("shifted")
    json.dumps(result.to_dict(), allow_nan=False)
    frame = result.to_frame()
    assert set(frame["check"]) == {"population", "win pattern"}
    assert result.to_text().startswith("Verdict: REBUILD")


def test_scored_deals_need_a_tier() -> None:
    crm = synthetic("default")
    with pytest.raises(SchemaError, match="tier"):
        drift_report(
            planted_profile(), crm.accounts, crm.accounts, crm.deals.select("account_id", "stage")
        )
