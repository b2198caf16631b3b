"""Estimates and intervals: Wilson, t, bootstrap median, Hanley–McNeil AUC, one-sided Fisher."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest
from scipy.stats import t as student_t
from sklearn.metrics import roc_auc_score

from icpkit.stats import (
    Estimate,
    auc_with_ci,
    fisher_lower_p,
    json_safe,
    mean_interval,
    median_interval,
    rate,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (50, 100, 0.4038, 0.5962),  # p = 0.5: symmetric, a little narrower than Wald
        (0, 10, 0.0, 0.2775),  # z²/(n + z²): the rule-of-three-like upper bound at k = 0
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_interval_known_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_matches_scipy(kn: tuple[int, int]) -> None:
    k, n = kn
    lo, hi = wilson_interval(k, n)
    ref = binomtest(k, n).proportion_ci(method="wilson")
    assert lo == pytest.approx(ref.low, abs=1e-6)
    assert hi == pytest.approx(ref.high, abs=1e-6)
    assert lo - 1e-12 <= k / n <= hi + 1e-12  # type: ignore[operator]  # k = n: hi is 1 - 1 ulp


def test_rate_with_no_observations_is_undefined() -> None:
    assert rate("ICP", "win_rate", 0, 0) == Estimate("ICP", "win_rate", None, 0, None, None)
    est = rate("ICP", "win_rate", 3, 12)
    assert (est.value, est.n) == (0.25, 12)
    assert (est.ci_low, est.ci_high) == wilson_interval(3, 12)


def test_mean_interval_is_the_t_interval() -> None:
    values = np.array([3.0, 5.0, 8.0, 13.0, 21.0])
    est = mean_interval("All", "ltv", values)
    lo, hi = student_t.interval(0.95, 4, loc=values.mean(), scale=values.std(ddof=1) / math.sqrt(5))
    assert est.value == pytest.approx(10.0)
    assert (est.ci_low, est.ci_high) == (pytest.approx(lo), pytest.approx(hi))


@pytest.mark.parametrize("interval", [mean_interval, median_interval])
@pytest.mark.parametrize(("values", "n"), [([], 0), ([7.0], 1)])
def test_too_few_values_give_no_interval(interval: object, values: list[float], n: int) -> None:
    args = (np.random.default_rng(0),) if interval is median_interval else ()
    est = interval("All", "kpi", np.array(values), *args)  # type: ignore[operator]
    assert est.n == n and est.ci_low is None and est.ci_high is None
    assert est.value == (values[0] if values else None)


def test_median_bootstrap_is_seeded() -> None:
    values = np.random.default_rng(1).lognormal(3, 1, 80)
    first = median_interval("All", "cycle", values, np.random.default_rng(7))
    again = median_interval("All", "cycle", values, np.random.default_rng(7))
    other = median_interval("All", "cycle", values, np.random.default_rng(8))
    assert first == again
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.value == pytest.approx(np.median(values))
    assert first.ci_low < first.value < first.ci_high  # type: ignore[operator]


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_sklearn_and_its_interval_holds_it(seed: int) -> None:
    rng = np.random.default_rng(seed)
    won = rng.random(300) < 0.3
    scores = np.round(rng.normal(won * 0.8, 1.0) * 10)  # rounded: ties must count half
    est = auc_with_ci(scores, won)
    assert est is not None and est.n == 300
    assert est.value == pytest.approx(roc_auc_score(won, scores))
    assert 0.0 <= est.ci_low < est.value < est.ci_high <= 1.0  # type: ignore[operator]


def test_auc_undefined_with_one_class_and_bounded_when_perfect() -> None:
    assert auc_with_ci(np.arange(5.0), np.ones(5, dtype=bool)) is None
    perfect = auc_with_ci(np.arange(10.0), np.arange(10) >= 5)
    assert perfect is not None and perfect.value == 1.0 and perfect.ci_high == 1.0


def test_fisher_lower_p_known_value() -> None:
    # 0/10 against 5/10: P(X = 0) for X ~ Hypergeometric(20, 10, 5) = C(10,5)/C(20,5).
    assert fisher_lower_p(0, 10, 5, 10) == pytest.approx(252 / 15504)
    assert fisher_lower_p(5, 10, 0, 10) == pytest.approx(1.0)


def test_estimate_round_trips_and_reads_as_text() -> None:
    est = Estimate("Tier 1", "win_rate", 0.42, 180, 0.35, 0.49)
    assert Estimate.from_dict(json.loads(json.dumps(est.to_dict()))) == est
    assert est.text(percent=True) == "42% [35%, 49%] n=180"
    assert Estimate("All", "cac", None, 0).text() == "n/a n=0"
    assert Estimate("All", "ltv", 12345.6, 9, 1000.0, None).text() == "12,346 [1,000, ?] n=9"


def test_json_safe_drops_non_finite_and_numpy_scalars() -> None:
    out = json_safe({"a": float("nan"), "b": (np.float64(1.5), float("inf")), 3: np.int64(2)})
    assert out == {"a": None, "b": [1.5, None], "3": 2}
    assert type(out["3"]) is int


def test_bh_q_values_leave_an_untested_p_value_out_of_the_family() -> None:
    """A NaN p-value stays NaN and the others are adjusted over the tested ones only."""
    from scipy.stats import false_discovery_control

    from icpkit.stats import bh_q_values

    q = bh_q_values([0.01, float("nan"), 0.04, 0.03])
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2, 3]], false_discovery_control([0.01, 0.04, 0.03]))
    assert bh_q_values([]).shape == (0,)
