"""FitScorer: the estimator contract, readable bins, exact points, JSON round trip, explanations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.utils.estimator_checks import parametrize_with_checks

from icpkit.errors import ConfigError, NotFittedError, SchemaError
from icpkit.profile import IcpProfile
from icpkit.scoring import FitScorer, Scorecard, explain_accounts, score_frame
from icpkit.scoring.binning import nice_cuts
from icpkit.scoring.card import integer_points

INDUSTRIES = ["Software", "Retail", "Finance", "Health", "Mining", "Rare"]


def _accounts(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    employees = np.round(rng.lognormal(4, 1.5, n))
    industry = rng.choice(INDUSTRIES, n, p=[0.3, 0.3, 0.2, 0.15, 0.04, 0.01])
    tags = [
        list(rng.choice(["sf", "hub", "aws"], rng.integers(0, 3), replace=False)) for _ in range(n)
    ]
    logit = -2 + 1.5 * (industry == "Software") + 1.2 * ((employees >= 100) & (employees < 500))
    logit += 0.8 * np.array(["sf" in t for t in tags])
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    employees[rng.random(n) < 0.05] = np.nan
    frame = pl.DataFrame(
        {
            "employees": employees,
            "industry": industry,
            "tech_stack": pl.Series(tags, dtype=pl.List(pl.Utf8)),
        }
    )
    frame = frame.with_columns(pl.col("employees").fill_nan(None))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 17 == 0)
        .then(None)
        .otherwise(pl.col("tech_stack"))
        .alias("tech_stack")
    )
    return frame, y.astype(int)


@pytest.fixture(scope="module")
def fitted() -> tuple[FitScorer, pl.DataFrame, np.ndarray]:
    frame, y = _accounts(4000, seed=0)
    return FitScorer(random_state=0).fit(frame, y), frame, y


# Fitting with weights equals fitting with repeated rows only up to rounding: the calibration
# folds split repeated rows apart, and cut points are rounded by counting rows.
SKIPPED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "calibration folds split repeated rows; cut rounding counts rows, not weights"
    ),
}


@parametrize_with_checks(
    [FitScorer(random_state=0)], expected_failed_checks=lambda est: SKIPPED_CHECKS
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_bins_are_readable_and_points_run_0_to_100(fitted):
    scorer, frame, _ = fitted
    card = scorer.scorecard_
    employees = next(f for f in card.features if f.name == "employees")
    for cut in employees.cuts:  # at most two significant digits
        assert float(f"{cut:.2g}") == cut
    assert employees.labels[-1] == "employees is missing"
    industry = next(f for f in card.features if f.name == "industry")
    assert "Rare" not in industry.levels and "industry = other" in industry.labels
    assert card.score_range() == (0, 100)
    scores = scorer.score(frame)
    assert scores.min() >= 0 and scores.max() <= 100


def test_learns_the_planted_effects(fitted):
    scorer, frame, y = fitted
    card = scorer.scorecard_
    industry = next(f for f in card.features if f.name == "industry")
    pts = dict(zip(industry.labels, card.points[card.features.index(industry)], strict=True))
    assert pts["industry = 'Software'"] == max(pts.values()) > 0
    p = scorer.predict_proba(frame)[:, 1]
    assert abs(p.mean() - y.mean()) < 0.02  # calibrated in the large


def test_polars_pandas_and_json_agree(fitted):
    scorer, frame, _ = fitted
    restored = FitScorer.from_dict(json.loads(json.dumps(scorer.to_dict())))
    from_pandas = scorer.score(frame.to_pandas())
    np.testing.assert_array_equal(restored.score(frame), scorer.score(frame))
    np.testing.assert_array_equal(from_pandas, scorer.score(frame))
    assert isinstance(scorer.points(frame.to_pandas()), pd.DataFrame)


def test_unseen_category_and_missing_values_score(fitted):
    scorer = fitted[0]
    new = pl.DataFrame(
        {
            "employees": [None, 150.0],
            "industry": ["Brand-new", None],
            "tech_stack": pl.Series([None, ["sf"]], dtype=pl.List(pl.Utf8)),
        }
    )
    pts = scorer.points(new)
    assert pts.row(0)[1] == scorer.scorecard_.points[1][-2]  # 'other' bin


def test_errors_name_the_problem(fitted):
    scorer, frame, y = fitted
    with pytest.raises(NotFittedError):
        FitScorer().score(frame)
    with pytest.raises(SchemaError, match="industry"):
        scorer.score(frame.drop("industry"))
    with pytest.raises(ConfigError, match="max_bins"):
        FitScorer(max_bins=1).fit(frame, y)


@st.composite
def _rows(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 30))
    employees = draw(st.lists(st.one_of(st.none(), st.floats(0, 1e6)), min_size=n, max_size=n))
    industry = draw(
        st.lists(
            st.one_of(st.none(), st.sampled_from([*INDUSTRIES, "New"])), min_size=n, max_size=n
        )
    )
    tags = draw(
        st.lists(
            st.one_of(st.none(), st.lists(st.sampled_from(["sf", "hub", "x"]))),
            min_size=n,
            max_size=n,
        )
    )
    return pl.DataFrame(
        {
            "employees": pl.Series(employees, dtype=pl.Float64),
            "industry": pl.Series(industry, dtype=pl.Utf8),
            "tech_stack": pl.Series(tags, dtype=pl.List(pl.Utf8)),
        }
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_rows())
def test_listed_points_sum_to_the_score(fitted, rows):
    scorer, _, _ = fitted
    profile = IcpProfile(
        scorecard=scorer.scorecard_.to_dict(),
        tiers={"cuts": {"tier1": 70, "tier2": 50, "tier3": 30}},
    )
    scored = score_frame(profile, rows)
    for row, exp in zip(scored.iter_rows(named=True), explain_accounts(profile, rows), strict=True):
        # every point the explanation lists (each feature, then the base) adds up to the score
        assert int(exp.to_frame()["points"].sum()) == exp.total() == exp.score == row["fit_score"]
        assert 0 <= row["fit_score"] <= 100
        shown = [int(r.split(" ")[0].replace("\u2212", "-")) for r in exp.reasons_for]
        assert shown == sorted(shown, reverse=True) and all(p > 0 for p in shown)


@given(st.lists(st.lists(st.floats(-5, 5), min_size=1, max_size=6), min_size=1, max_size=12))
def test_integer_points_span_exactly_0_to_100(weights):
    arrays = [np.asarray(w) for w in weights]
    shares = [np.full(len(w), 1 / len(w)) for w in arrays]
    points, base, _ = integer_points(arrays, shares)
    low = base + sum(int(p.min()) for p in points)
    high = base + sum(int(p.max()) for p in points)
    if any(np.ptp(w) > 1e-9 for w in arrays):
        assert (low, high) == (0, 100)
    else:
        assert low == high == 50


def test_nice_cuts_round_without_moving_rows():
    values = np.arange(1, 10001, dtype=float)
    assert nice_cuts([99.5, 1234.5], values) == (100.0, 1200.0)


def test_scorecard_rejects_a_foreign_dict():
    with pytest.raises(ConfigError, match="format"):
        Scorecard.from_dict({"format": "other"})


def test_fast_score_path_equals_the_explained_path(fitted):
    scorer = fitted[0]
    card = scorer.scorecard_
    frame, _ = _accounts(3000, seed=3)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 11 == 0)
        .then(pl.lit("Brand-new"))
        .otherwise(pl.col("industry"))
        .alias("industry")
    )
    plain = frame.to_arrow()
    encoded = plain.set_column(1, "industry", plain.column("industry").dictionary_encode())
    for table in (plain, encoded):
        _, points = card.codes_and_points(table)
        np.testing.assert_array_equal(card.score_only(table), card.scores(points))
