"""The planted usage effects are recovered by a full build (issue 28): breadth → retention with
its threshold within one bin, time to value → conversion, surges → a learned signal; the null
and the post-outcome features stay out of the ICP; bots stay out of the features."""

from __future__ import annotations

import math

import polars as pl
import pytest

from icpkit.config import WorkspaceConfig
from icpkit.datasets.synthetic.usage import BREADTH_CUT, TTV_CUT, USAGE_SETTINGS, make_usage_crm
from icpkit.pipeline import build_icp
from icpkit.rules import parse_segment


def _threshold(traits, attribute):  # type: ignore[no-untyped-def]
    rows = [t for t in traits if t.attribute == attribute and t.kind == "threshold"]
    assert rows, f"no threshold row for {attribute}"
    cond = parse_segment(rows[0].rule).conditions[0]
    lo, hi = cond.value
    cut, above = (lo, True) if math.isfinite(lo) else (hi, False)
    return cut, above, rows[0]


def check_recovery(seed: int, n_accounts: int, *, null: bool = True) -> None:
    synthetic = make_usage_crm(n_accounts, seed=seed)
    config = WorkspaceConfig.model_validate({"usage": USAGE_SETTINGS})
    built = build_icp(
        synthetic.to_crm_data(), config, validate=False, as_of=synthetic.as_of, themes=False
    )
    profile = built.profile
    traits = profile.single_traits or []
    # breadth: a threshold within one key feature of the planted cut, more is better
    cut, above, row = _threshold(traits, "usage_breadth")
    assert abs(cut - BREADTH_CUT) <= 1, row.rule
    assert (row.lift_best > 1) == above and row.q_best < 0.05, row
    # the breadth effect is on retention: customers above the cut renew more
    assert profile.usage is not None
    renewed = synthetic.subscriptions.group_by("account_id").agg(
        pl.col("end").is_null().any().alias("renewed")
    )
    customers = built.scored.join(renewed, on="account_id", how="inner")
    broad = customers.filter(pl.col("usage_breadth") >= BREADTH_CUT)["renewed"].mean()
    narrow = customers.filter(pl.col("usage_breadth") < BREADTH_CUT)["renewed"].mean()
    assert broad > 1.3 * narrow, (broad, narrow)
    # time to value: a cut within a day of the planted one, faster is better
    cut, above, row = _threshold(traits, "usage_days_to_value")
    assert abs(cut - TTV_CUT) <= 1.5, row.rule
    assert (row.lift_best > 1) != above and row.q_best < 0.05, row
    # null and post-outcome features: in no criterion or disqualifier (the ICP); the
    # post-outcome one (absent before every outcome) not even in the scorecard
    used = " ".join([c.rule for c in profile.criteria] + [d.rule for d in profile.disqualifiers])
    truth = synthetic.truth
    assert truth.post_outcome_feature not in used
    assert truth.post_outcome_feature not in json_of(profile.scorecard)
    if null:  # the ICP: its criteria, disqualifiers and statement (behaviour clause included)
        assert truth.null_feature not in used
        assert "theme change" not in profile.statement, profile.statement
        assert all(truth.null_feature not in b.rule for b in profile.usage.behaviour)
    # surges before expansions: a significant signal that raises deal openings
    assert profile.signals is not None
    surge = next(t for t in profile.signals.types if t.type == truth.surge_signal)
    assert surge.significant and surge.peak_opening_ratio > 1
    # bots: left out of the features, and said so
    assert any("bot users" in n for n in profile.usage.notes)
    assert "Behaviour:" in profile.statement


def json_of(model) -> str:  # type: ignore[no-untyped-def]
    return model.model_dump_json() if model is not None else ""


@pytest.mark.slow  # a full build on 2,000 accounts: ~15 s on a quiet machine, over the 3 s budget
def test_planted_usage_effects_are_recovered_on_one_seed() -> None:
    check_recovery(seed=3, n_accounts=2000)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_planted_usage_effects_are_recovered_on_ten_seeds(seed: int) -> None:
    check_recovery(seed=100 + seed, n_accounts=3000, null=False)


# The single-trait table is not asserted here: it lists every attribute with q-values at a 5 %
# false discovery rate, so a null attribute shows a q < 0.05 row in about 4 % of fresh draws
# (tests/test_trait_selection.py bounds that rate; seeds 105 and 108 are two such draws, with
# in-sample associations of Mann-Whitney p 0.007 and 0.04). What a 5 % procedure cannot promise
# is 10 clean seeds of 10 (0.96^10 = 66 %). The ICP (criteria, disqualifiers, statement) must stay
# clean: a chance trim kept by the remaining rows of a covering round reached a criterion on seed
# 108 until every condition had to earn its place on the whole search half.
@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_the_null_feature_stays_out_of_the_icp_on_ten_seeds(seed: int) -> None:
    check_recovery(seed=100 + seed, n_accounts=3000)
