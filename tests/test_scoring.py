"""FitScorer: the estimator contract, readable bins, exact points, JSON round trip, explanations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.utils.estimator_checks import parametrize_with_checks

import scoring_reference
from budget import examples
from icpkit.config import ScoringConfig, TierConfig
from icpkit.errors import ConfigError, NotFittedError, SchemaError
from icpkit.profile import IcpProfile
from icpkit.scoring import (
    FitScorer,
    Scorecard,
    explain_accounts,
    fit_scorecard_and_tiers,
    score_frame,
)
from icpkit.scoring.binning import nice_cuts
from icpkit.scoring.card import integer_points
from icpkit.scoring.learn import interaction_rules
from icpkit.scoring.scorecard import bin_coefficients, design_matrix

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


@pytest.fixture(scope="module", params=["onehot", "steps"])
def fitted(request) -> tuple[FitScorer, pl.DataFrame, np.ndarray]:
    frame, y = _accounts(4000, seed=0)
    scorer = FitScorer(random_state=0, numeric_encoding=request.param)
    return scorer.fit(frame, y), frame, y


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
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
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
        shown = [
            int(r.rsplit("(", 1)[1].rstrip(")").replace("\u2212", "-")) for r in exp.reasons_for
        ]
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


def test_step_design_gives_each_bin_its_cumulative_weight():
    rng = np.random.default_rng(3)
    codes = np.column_stack([rng.integers(0, 5, 300), rng.integers(0, 3, 300)]).astype(np.int32)
    sizes, steps = [5, 3], [3, 0]  # a numeric feature (4 ordered bins + missing), a one-hot one
    design = design_matrix(codes, sizes, steps)
    assert design.shape == (300, 3 + 1 + 3)
    coef = rng.normal(size=design.shape[1])
    per_bin = bin_coefficients(coef, sizes, steps)
    lookup = per_bin[codes[:, 0]] + per_bin[5 + codes[:, 1]]
    np.testing.assert_allclose(design @ coef, lookup)
    assert per_bin[0] == 0 and per_bin[4] == coef[3]  # lowest bin is the reference; missing apart


def test_regularisation_is_chosen_from_the_grid_by_inner_cv():
    frame, y = _accounts(1500, seed=4)
    scorer = FitScorer(random_state=0, numeric_encoding="steps", Cs=(0.001, 0.3, 1000.0))
    scorer.fit(frame, y)
    assert scorer.C_ == 0.3  # neither the near-flat nor the unpenalised model
    assert FitScorer.from_dict(json.loads(json.dumps(scorer.to_dict()))).Cs == scorer.Cs
    with pytest.raises(ConfigError, match="Cs"):
        FitScorer(Cs=(0.1, -1.0)).fit(frame, y)


def test_interaction_rules_keep_distinct_conjunctions_only():
    frame, _ = _accounts(2000, seed=5)
    both = "industry = 'Software' AND employees in [100, 500)"
    candidates = [
        "industry = 'Software'",  # one condition: the bins hold it already
        both,
        both,  # a repeat
        "industry = 'Software' AND employees in [90, 500)",  # a near copy of the first
        "industry = 'Rare' AND employees in [1, 10)",  # too few rows
        "industry = 'Retail' AND employees in [100, inf)",
        "revenue in [1, 2) AND industry = 'Retail'",  # not a scoring attribute
        "industry = 'Finance' AND employees in [10, inf)",
    ]
    kept = interaction_rules(frame, candidates, (), k=5, min_share=0.03)
    assert kept == (
        both,
        "industry = 'Retail' AND employees in [100, inf)",
        "industry = 'Finance' AND employees in [10, inf)",
    )
    assert interaction_rules(frame, candidates, (both,), k=1, min_share=0.03) == (kept[1],)


def test_pipeline_adds_segments_as_readable_interaction_points():
    frame, y = _accounts(2000, seed=6)
    frame = frame.with_row_index("account_id").with_columns(pl.col("account_id").cast(pl.Utf8))
    labels = np.where(y == 1, "best", "rest")
    segment = "industry = 'Software' AND employees in [100, 500)"
    card, _ = fit_scorecard_and_tiers(
        frame,
        labels,
        [],
        [],
        ScoringConfig(interaction_segments=3),
        TierConfig(),
        segments=[segment, "industry = 'Retail'"],
    )
    rules = [f for f in card["features"] if f["kind"] == "rule"]
    assert [(f["rule"], f["role"], f["labels"][1]) for f in rules] == [(segment, "points", segment)]
    plain, _ = fit_scorecard_and_tiers(
        frame, labels, [], [], ScoringConfig(), TierConfig(), segments=[segment]
    )
    assert not [f for f in plain["features"] if f["kind"] == "rule"]  # off by default


def test_reasons_built_once_per_distinct_list_equal_the_row_by_row_join(
    fitted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dictionary-encoded reasons (text per distinct list of reasons) decode to exactly the
    texts joined row by row, and to the one-row explanation's reasons."""
    from icpkit.scoring import explain

    scorer, frame, _ = fitted
    card = scorer.scorecard_
    batch = frame.to_arrow()
    codes, points = card.codes_and_points(batch)
    fast = explain.top_reasons(points, codes, card)
    assert pa.types.is_dictionary(fast.type)
    assert len(fast.dictionary) < len(fast)  # rows share lists
    monkeypatch.setattr(explain, "_DISTINCT", 0.0)  # as if every row had its own list
    plain = explain.top_reasons(points, codes, card)
    assert not pa.types.is_dictionary(plain.type)
    assert plain.to_pylist() == fast.dictionary_decode().to_pylist()
    texts, offsets = explain.reason_table(card)
    listed = explain.listed_points(points, codes, card)
    picks = scoring_reference.picks(listed, codes, offsets, explain.TOP, len(texts))
    slow = explain._joined_reasons(texts, picks)
    assert fast.dictionary_decode().to_pylist() == slow.to_pylist()
    for i in (0, 1, 2, 999):
        one = explain.explanation(card, codes[i], "", [], [], [])
        listed = [*one.reasons_for, *one.reasons_against]  # ties may list in another order
        assert sorted(r for r in fast[i].as_py().split("; ") if r) == sorted(listed)


@pytest.mark.parametrize("scale", [1, 1000])  # int16 keys, and int32 ones
@pytest.mark.parametrize("k", [1, 2, 5, 20])
@pytest.mark.parametrize("tiles, parallel", [(1, False), (3, True), (3, False)])
def test_reason_picks_follow_points_then_scorecard_order(
    k: int, scale: int, tiles: int, parallel: bool
) -> None:
    """Top 3 for (largest positive points first), then top 3 against (most negative first),
    equal points in feature order — checked row by row against a plain sort, with many ties,
    within one tile of rows and over several (on the thread pool or not)."""
    from icpkit.scoring import explain

    rng = np.random.default_rng(k)
    n = 3000 if tiles == 1 else explain._TILE * tiles + 17
    sizes = rng.integers(2, 9, size=k)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    codes = np.asfortranarray((rng.random((n, k)) * sizes).astype(np.int32))
    points = np.asfortranarray((rng.integers(-3, 4, size=(n, k)) * scale).astype(np.int16))
    none = int(sizes.sum())
    picks = np.column_stack(scoring_reference.picks(points, codes, offsets, 3, none, parallel))
    for i in range(0, n, 7 if tiles == 1 else 97):
        ids = codes[i] + offsets
        up = sorted((j for j in range(k) if points[i, j] > 0), key=lambda j: (-points[i, j], j))
        down = sorted((j for j in range(k) if points[i, j] < 0), key=lambda j: (points[i, j], j))
        want = [*(ids[j] for j in up[:3]), *[none] * (3 - min(3, len(up)))]
        want += [*(ids[j] for j in down[:3]), *[none] * (3 - min(3, len(down)))]
        assert picks[i].tolist() == want
