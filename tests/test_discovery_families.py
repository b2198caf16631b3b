"""Segment families: each distinct group of best customers is reported once, its variants under it,
and a small strong segment beside a large one is not pushed out by the large one's variants."""

from __future__ import annotations

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig
from icpkit.discovery import find_icp
from icpkit.rules import parse_segment

CONFIG = DiscoveryConfig.model_validate({})


def big_and_small(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """A large segment (Software founded 2012+, ~12 % of accounts, best rate 55 %) and a small one
    (APAC accounts using Okta, ~1.6 %, best rate 75 %) on other attributes; base rate 12 %."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(
        ["Software", "Retail", "Health", "Finance", "Energy"], n, p=[0.3, 0.2, 0.2, 0.15, 0.15]
    )
    founded = rng.integers(1980, 2024, n)
    region = rng.choice(["EMEA", "NA", "APAC"], n, p=[0.45, 0.4, 0.15])
    okta = rng.random(n) < 0.11
    frame = pl.DataFrame(
        {
            "industry": industry,
            "founded_year": founded,
            "region": region,
            "employees": np.round(np.exp(rng.uniform(np.log(5), np.log(20000), n))),
            "tech_stack": [["Okta", "AWS"] if o else ["AWS"] for o in okta],
        }
    )
    big = (industry == "Software") & (founded >= 2012)
    small = (region == "APAC") & okta
    p = np.where(small, 0.75, np.where(big, 0.55, 0.12))
    best = rng.random(n) < p
    labels = np.where(best, "best", np.where(rng.random(n) < 0.35, "worst", "rest"))
    return frame, labels


def test_a_small_strong_segment_beside_a_large_one_is_found() -> None:
    frame, labels = big_and_small(8000, 0)
    found = find_icp(frame, labels, CONFIG)
    rules = [c.rule for c in found.criteria if c.significant]
    assert "founded_year in [2012, inf) AND industry = 'Software'" in rules or any(
        "industry = 'Software'" in r and "founded_year" in r for r in rules
    ), rules
    # (the recovery test measures how often a condition is added or lost, over specs and seeds)
    assert any("region = 'APAC'" in r and "tech_stack contains 'Okta'" in r for r in rules), rules


def test_each_family_is_reported_once_with_its_variants_under_it() -> None:
    frame, labels = big_and_small(8000, 1)
    found = find_icp(frame, labels, CONFIG)
    segments = found.segments.segments
    best = labels[labels != "unranked"] == "best"
    ranked = frame.filter(pl.Series(labels != "unranked"))
    covers = [s.segment.mask(ranked) & best for s in segments]
    # no two reported families describe mostly the same best customers
    for i in range(len(covers)):
        for j in range(i):
            inter = np.count_nonzero(covers[i] & covers[j])
            union = np.count_nonzero(covers[i] | covers[j])
            assert inter < 0.5 * union, (segments[j].segment, segments[i].segment)
    # the large family lists other bounds of the same idea under it, readable
    software = next(s for s in segments if "industry = 'Software'" in str(s.segment))
    assert software.variants and len(software.also) == len(set(software.also))
    for rule, label in zip(software.variants, software.also, strict=False):
        assert label and parse_segment(rule) != software.segment
    assert found.to_dict()["segments"]["segments"][0]["also"] is not None


def test_variant_labels_say_what_differs() -> None:
    from icpkit.discovery.icp import variant_label

    head = parse_segment("founded_year in [2012, inf) AND industry = 'Software'")
    assert (
        variant_label(parse_segment("founded_year in [2005, inf) AND industry = 'Software'"), head)
        == "founded in 2005 or later"
    )
    assert variant_label(parse_segment("industry = 'Software'"), head) == (
        "without founded in 2012 or later"
    )
    assert (
        variant_label(parse_segment("employees in [200, inf) AND industry = 'Software'"), head)
        == "200+ employees instead of founded in 2012 or later"
    )
