"""The single-trait profile reads as one table per attribute: non-overlapping bins that sum to
100 %, the best single threshold, levels by lift, and no empty rows."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

from icpkit.config import DiscoveryConfig
from icpkit.discovery import find_icp
from icpkit.rules import parse_condition


@pytest.fixture(scope="module")
def traits() -> list[dict[str, object]]:
    rng = np.random.default_rng(0)
    n = 3000
    frame = pl.DataFrame(
        {
            "industry": rng.choice(["Software", "Retail", "Health", "Finance", "Energy"], n),
            "employees": np.round(np.exp(rng.uniform(np.log(5), np.log(20000), n))),
            "region": rng.choice(["EMEA", "NA", "APAC"], n),
        }
    )
    employees = frame["employees"].to_numpy()
    icp = (frame["industry"].to_numpy() == "Software") & (employees >= 200) & (employees < 2000)
    best = rng.random(n) < np.where(icp, 0.6, 0.15)
    labels = np.where(best, "best", np.where(rng.random(n) < 0.3, "worst", "rest"))
    # the typed rows, read as their JSON records
    return [
        t.model_dump()
        for t in find_icp(frame, labels, DiscoveryConfig.model_validate({})).single_traits
    ]


def test_numeric_bins_do_not_overlap_and_their_shares_sum_to_one(traits: list) -> None:
    bins = [t for t in traits if t["attribute"] == "employees" and t["kind"] == "bin"]
    assert len(bins) >= 3
    ranges = [parse_condition(str(t["rule"])).value for t in bins]
    assert ranges[0][0] == -math.inf and ranges[-1][1] == math.inf
    for (_, hi), (lo, _) in itertools.pairwise(ranges):
        assert hi == lo  # adjacent, in value order
    assert sum(t["share_best"] for t in bins) == pytest.approx(1.0, abs=0.02)  # missing: none
    assert sum(t["share_not_best"] for t in bins) == pytest.approx(1.0, abs=0.02)
    assert sum(t["support"] for t in bins) == 3000 - sum(
        t["support"] for t in traits if t["attribute"] == "employees" and t["kind"] == "missing"
    )


def test_one_best_threshold_per_numeric_attribute(traits: list) -> None:
    cuts = [t for t in traits if t["attribute"] == "employees" and t["kind"] == "threshold"]
    assert len(cuts) == 1
    lo, hi = parse_condition(str(cuts[0]["rule"])).value
    assert math.isinf(lo) or math.isinf(hi)
    assert str(cuts[0]["label"]).endswith("employees")


def test_levels_are_sorted_by_lift_with_counts_and_nothing_is_empty(traits: list) -> None:
    levels = [t for t in traits if t["attribute"] == "industry"]
    lifts = [t["lift_best"] for t in levels]
    assert lifts == sorted(lifts, reverse=True)
    assert levels[0]["rule"] == "industry = 'Software'"
    for t in traits:
        assert str(t["rule"]).strip() and str(t["label"]).strip()
        assert t["support"] > 0
    # the most significant attribute comes first
    assert traits[0]["attribute"] == "industry"
    assert np.isfinite([t["q_best"] for t in traits]).all()
