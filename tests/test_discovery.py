"""Discovery: exact pruned search, statistics, attributes, and the ICP on planted data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from budget import examples
from icpkit.config import DiscoveryConfig
from icpkit.discovery import (
    DepthFirstSearch,
    SearchTask,
    attribute_columns,
    condition_table,
    find_icp,
    quality_named,
)
from icpkit.discovery.attributes import round_cut
from icpkit.discovery.bitsets import pack, popcount, unpack
from icpkit.discovery.quality import Counts, Population
from icpkit.discovery.statement import describe_condition, describe_segment
from icpkit.discovery.statistics import two_sided_p
from icpkit.errors import ConfigError, InsufficientDataError
from icpkit.rules import Segment, parse_condition, parse_segment
from icpkit.stats import bh_q_values
from icpkit.stats import wilson_bounds as wilson_interval

CONFIG = DiscoveryConfig.model_validate({})


def planted_frame(n: int, seed: int, effect: float = 0.45) -> tuple[pl.DataFrame, np.ndarray]:
    """Accounts where Software companies with 200–2,000 employees are far more often 'best'."""
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "name": [f"Company {i}" for i in range(n)],
            "industry": rng.choice(["Software", "Retail", "Health", "Finance", "Energy"], n),
            "employees": np.round(np.exp(rng.uniform(np.log(5), np.log(20000), n))),
            "region": rng.choice(["EMEA", "NA", "APAC"], n),
            "tech_stack": [
                list(rng.choice(["Snowflake", "Salesforce", "HubSpot", "AWS"], k, replace=False))
                for k in rng.integers(0, 3, n)
            ],
        }
    )
    employees = frame["employees"].to_numpy()
    icp = (frame["industry"].to_numpy() == "Software") & (employees >= 200) & (employees < 2000)
    best = rng.random(n) < np.where(icp, 0.15 + effect, 0.15)
    labels = np.where(best, "best", np.where(rng.random(n) < 0.3, "worst", "rest"))
    return frame, labels


# --- bitsets ------------------------------------------------------------------------------------


@given(st.lists(st.booleans(), min_size=1, max_size=300))
def test_bitsets_round_trip_and_count(mask: list[bool]) -> None:
    array = np.array(mask)
    bits = pack(array)
    assert bits.dtype == np.uint64
    np.testing.assert_array_equal(unpack(bits, array.size), array)
    assert popcount(bits) == array.sum()


# --- search -------------------------------------------------------------------------------------


def brute_force(table, target, quality, depth, min_support, k):  # type: ignore[no-untyped-def]
    """Every conjunction, scored directly: the answer the pruned search must reproduce."""
    population = (
        Population(table.n_rows, mean=float(target.mean()))
        if quality.numeric_target
        else Population(table.n_rows, int(target.sum()))
    )
    masks = [table.mask(j) for j in range(len(table))]
    scored = []
    for d in range(1, depth + 1):
        for combo in itertools.combinations(range(len(table)), d):
            if len(set(table.attr_index[list(combo)])) < d:
                continue
            cover = np.logical_and.reduce([masks[j] for j in combo])
            if cover.sum() < min_support:
                continue
            if quality.numeric_target:
                dev = target - target.mean()
                counts = Counts(
                    size=np.array([cover.sum()]),
                    deviation=np.array([dev[cover].sum()]),
                    excess=np.array([0.0]),
                )
            else:
                counts = Counts(
                    size=np.array([cover.sum()]), positives=np.array([target[cover].sum()])
                )
            scored.append(float(quality.evaluate(counts, population)[0]))
    return sorted([q for q in scored if q > 0], reverse=True)[:k]


@pytest.mark.parametrize("quality_name", ["wracc", "binomial", "mean_shift"])
@pytest.mark.parametrize("seed", [0, 1])
def test_pruned_search_finds_the_exact_top_k(quality_name: str, seed: int) -> None:
    frame, labels = planted_frame(600, seed)
    table = condition_table(frame, attribute_columns(frame), CONFIG)
    quality = quality_named(quality_name)
    rng = np.random.default_rng(seed)
    target = (
        np.where(labels == "best", rng.lognormal(8, 1, labels.size), 0.0)
        if quality.numeric_target
        else labels == "best"
    )
    result = DepthFirstSearch().run(SearchTask(table, target, quality, 3, 20, 15))
    expected = brute_force(table, target, quality, 3, 20, 15)
    found = [c.quality for c in result.candidates]
    np.testing.assert_allclose(found, expected, rtol=1e-9)
    assert result.n_evaluated < sum(math.comb(len(table), d) for d in (1, 2, 3))  # it pruned
    for cand in result.candidates:  # the reported counts are the segment's real counts
        cover = cand.segment.mask(frame)
        assert cand.size == cover.sum()


@pytest.mark.parametrize("seed", [3, 4])
def test_chunked_tiled_counting_is_exact(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny chunks and tiles (many partial ones), positives and negatives in words of their own:
    the same exact top-k as the brute force."""
    from icpkit.discovery import search

    monkeypatch.setattr(search, "_CHUNK_WORDS", 3)
    monkeypatch.setattr(search, "_TILE_ROWS", 5)
    monkeypatch.setattr(search, "_LAYOUT_BATCH", 7)
    frame, labels = planted_frame(600, seed)
    table = condition_table(frame, attribute_columns(frame), CONFIG)
    quality = quality_named("wracc")
    target = labels == "best"
    result = DepthFirstSearch().run(SearchTask(table, target, quality, 3, 20, 15))
    expected = brute_force(table, target, quality, 3, 20, 15)
    np.testing.assert_allclose([c.quality for c in result.candidates], expected, rtol=1e-9)
    for cand in result.candidates:
        assert cand.size == cand.segment.mask(frame).sum()


@settings(max_examples=examples(60), deadline=None)
@given(st.integers(1, 200), st.integers(0, 200), st.data())
def test_optimistic_estimate_bounds_every_refinement(
    size: int, pos: int, data: st.DataObject
) -> None:
    pos = min(pos, size)
    sub_size = data.draw(st.integers(0, size))
    sub_pos = data.draw(st.integers(max(0, sub_size - (size - pos)), min(pos, sub_size)))
    population = Population(1000, 200)
    for name in ("wracc", "binomial"):
        q = quality_named(name)
        bound = q.optimistic_estimate(Counts(np.array([size]), np.array([pos])), population)[0]
        value = q.evaluate(Counts(np.array([sub_size]), np.array([sub_pos])), population)[0]
        assert value <= bound + 1e-9


def test_unknown_quality_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="wracc"):
        quality_named("accuracy")


# --- attributes ---------------------------------------------------------------------------------


def test_attribute_columns_leave_out_ids_names_pii_and_free_text() -> None:
    n = 100
    frame = pl.DataFrame(
        {
            "account_id": [str(i) for i in range(n)],
            "name": [f"n{i}" for i in range(n)],
            "domain": [f"d{i}.com" for i in range(n)],
            "contact_email": [f"e{i}@x.com" for i in range(n)],
            "notes": [
                f"free text that is long and different every time number {i}" for i in range(n)
            ],
            "industry": ["A", "B"] * 50,
            "employees": list(range(n)),
            "constant": ["x"] * n,
            "signup": pl.date_range(pl.date(2020, 1, 1), pl.date(2020, 4, 9), eager=True),
            "tech_stack": [["a"]] * n,
        }
    )
    assert attribute_columns(frame) == ["industry", "employees", "tech_stack"]
    only = DiscoveryConfig.model_validate({"exclude": ["industry"]})
    assert attribute_columns(frame, only) == ["employees", "tech_stack"]


@pytest.mark.parametrize(
    ("value", "tolerance", "expected"),
    [
        (97.3, 20, 100),
        (512.8, 100, 500),
        (2013.4, 2, 2015),
        (2013.4, 0.4, 2013.5),
        (0.0374, 0.005, 0.04),
    ],
)
def test_cut_points_round_to_what_a_person_would_say(
    value: float, tolerance: float, expected: float
) -> None:
    assert round_cut(value, tolerance) == expected


def test_conditions_cover_enough_rows_and_read_as_ranges() -> None:
    frame, _ = planted_frame(1000, 0)
    table = condition_table(frame, attribute_columns(frame), CONFIG)
    texts = [str(c) for c in table.conditions]
    assert "industry = 'Software'" in texts
    assert "tech_stack contains 'Snowflake'" in texts
    ranges = [c for c in table.conditions if c.op == "range"]
    assert ranges and all(c.attr == "employees" for c in ranges)
    assert all(popcount(table.bits[j]) >= CONFIG.min_support_count for j in range(len(table)))


# --- statistics ---------------------------------------------------------------------------------


def test_wilson_interval_matches_the_textbook() -> None:
    lo, hi = wilson_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))
    np.testing.assert_allclose(lo, [0.0, 0.2366, 0.7225], atol=1e-4)
    np.testing.assert_allclose(hi, [0.2775, 0.7634, 1.0], atol=1e-4)


def test_bh_q_values_match_scipy() -> None:
    p = np.random.default_rng(0).random(50) ** 3
    np.testing.assert_allclose(bh_q_values(p), stats.false_discovery_control(p), rtol=1e-12)


@pytest.mark.parametrize(
    ("hits", "size", "target", "total"), [(8, 10, 20, 100), (300, 1000, 2000, 10000)]
)
def test_two_sided_p_is_fisher_or_chi_square(hits: int, size: int, target: int, total: int) -> None:
    table = [[hits, size - hits], [target - hits, total - size - target + hits]]
    fisher = stats.fisher_exact(table).pvalue
    chi2 = stats.chi2_contingency(table, correction=False).pvalue
    expected = fisher if total <= 5000 else chi2
    assert two_sided_p(hits, size, target, total) == pytest.approx(expected)


# --- statement ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("employees in [200, 2000)", "a mid-sized (200–2,000 employees) company"),
        (
            "employees in [1000, inf) AND industry = 'Software'",
            "a large (1,000+ employees) company in the Software sector",
        ),
        ("tech_stack contains 'Snowflake'", "a company that uses Snowflake"),
        (
            "industry in ('Health', 'Retail') AND region = 'EMEA'",
            "a company in the Health or Retail sectors based in EMEA",
        ),
        ("annual_revenue in [-inf, 5000000)", "a company with under 5M in annual revenue"),
    ],
)
def test_segments_read_in_plain_words(rule: str, words: str) -> None:
    assert describe_segment(parse_segment(rule)) == words


def test_missing_condition_in_words() -> None:
    assert (
        describe_condition(parse_condition("funding_stage is missing")) == "no known funding stage"
    )


# --- find_icp -----------------------------------------------------------------------------------


def test_find_icp_recovers_a_planted_segment_with_evidence() -> None:
    frame, labels = planted_frame(3000, 0)
    found = find_icp(frame, labels, CONFIG)
    assert found.criteria, found.statement
    top = found.criteria[0]
    assert top.significant and top.evidence in ("strong", "moderate")
    rule = parse_segment(top.rule)
    assert {c.attr for c in rule} == {"industry", "employees"}
    assert top.lift_ci[0] > 1 and top.q_value < 0.05 and top.holdout_lift and top.holdout_lift > 1
    assert "Software" in found.statement and "Our ideal customer is" in found.statement
    frame_out = found.segments.to_frame()
    assert {"rule", "support", "coverage", "precision", "lift_lo", "q_value"} <= set(
        frame_out.columns
    )
    assert found.to_dict()["criteria"][0]["rule"] == top.rule
    assert found.single_traits[0].rule == "industry = 'Software'"


def test_find_icp_on_few_accounts_says_the_evidence_is_weak() -> None:
    frame, labels = planted_frame(85, 3, effect=0.2)
    found = find_icp(frame, labels, CONFIG)
    assert any("weak" in c for c in found.caveats)
    assert all(c.evidence in ("weak", "insufficient") or c.significant for c in found.criteria)
    for c in found.criteria:
        assert c.lift_ci[1] - c.lift_ci[0] > 0.5  # wide intervals, not confident claims


def test_find_icp_without_signal_says_so() -> None:
    frame, labels = planted_frame(1500, 5, effect=0.0)
    found = find_icp(frame, labels, CONFIG)
    assert not any(c.significant for c in found.criteria)
    assert found.statement.startswith("The data does not show a clear ICP yet")


def test_unranked_accounts_are_left_out() -> None:
    frame, labels = planted_frame(1200, 1)
    labels = labels.astype("<U8")
    labels[:200] = "unranked"
    found = find_icp(frame, labels, CONFIG)
    assert found.segments.n_accounts == 1000
    assert any("unranked" in c for c in found.caveats)


@pytest.mark.parametrize(
    ("labels", "error"),
    [
        (np.array(["best"] * 5), ConfigError),
        (np.array(["good"] * 10), ConfigError),
        (np.array(["rest"] * 10), InsufficientDataError),
    ],
)
def test_bad_labels_are_refused(labels: np.ndarray, error: type[Exception]) -> None:
    frame = pl.DataFrame({"account_id": [str(i) for i in range(10)], "industry": ["a", "b"] * 5})
    with pytest.raises(error):
        find_icp(frame, labels, CONFIG)


# --- level sets, minimality, equivalent conditions ----------------------------------------------


def two_level_frame(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Two of five industries are best far more often; region is a copy of country up to 2 %."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(["A", "B", "C", "D", "E"], n)
    country = rng.choice(["US", "DE", "JP"], n)
    region = np.where(country == "US", "NA", np.where(country == "DE", "EMEA", "APAC"))
    region = np.where(rng.random(n) < 0.02, "APAC", region)
    best = rng.random(n) < np.where(np.isin(industry, ["A", "B"]), 0.55, 0.1)
    frame = pl.DataFrame(
        {
            "industry": industry,
            "country": country,
            "region": region,
            "founded_year": rng.integers(1990, 2024, n),
        }
    )
    return frame, np.where(best, "best", np.where(rng.random(n) < 0.3, "worst", "rest"))


def test_two_planted_levels_come_back_as_one_set() -> None:
    frame, labels = two_level_frame(3000, 1)
    result = find_icp(frame, labels, CONFIG)
    assert [c.rule for c in result.criteria if c.significant] == ["industry in ('A', 'B')"]


def test_a_condition_that_barely_restricts_its_segment_is_dropped() -> None:
    from icpkit.discovery.bitsets import pack as pack_bits
    from icpkit.discovery.levels import with_level_sets
    from icpkit.discovery.refine import productive

    frame, labels = two_level_frame(3000, 2)
    table = condition_table(frame, attribute_columns(frame), CONFIG)
    best = labels == "best"
    table = with_level_sets(table, np.ones(best.size, dtype=bool), best)
    # the widest founded_year range (most accounts, restricts almost nothing)
    widest = max(
        (c for c in table.conditions if c.attr == "founded_year"),
        key=lambda c: int(popcount(table.bits[table.index[c]])),
    )
    vacuous = Segment((widest, parse_condition("industry in ('A', 'B')")))
    assert productive(vacuous, table, pack_bits(best), 0.05) == parse_segment(
        "industry in ('A', 'B')"
    )
    # a real restriction stays
    real = parse_segment("industry in ('A', 'B')")
    assert productive(real, table, pack_bits(best), 0.05) == real


def test_near_identical_conditions_are_reported_as_equivalents() -> None:
    from icpkit.discovery.equivalents import near_identical, prefer_held_out

    frame, _ = two_level_frame(2000, 3)
    table = condition_table(frame, attribute_columns(frame), CONFIG)
    cond = parse_condition("country = 'US'")
    assert parse_condition("region = 'NA'") in near_identical(table, cond, set())
    assert parse_condition("region = 'EMEA'") not in near_identical(table, cond, set())
    region = pack(frame["region"].to_numpy() == "NA")

    def score(bits: np.ndarray) -> float:  # prefers the region's exact cover
        return -float(popcount(bits ^ region))

    chosen, notes = prefer_held_out(Segment((cond,)), table, score)
    assert str(chosen) == "region = 'NA'"
    assert notes == ("country = 'US' (same accounts as region = 'NA')",)


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=300),
    st.integers(2, 20),
)
def test_quantiles_of_sorted_values_equal_numpys_bit_for_bit(
    values: list[float], bins: int
) -> None:
    from icpkit.discovery.attributes import sorted_quantiles

    ordered = np.sort(np.array(values))
    q = np.linspace(0, 1, bins + 1)
    assert np.array_equal(sorted_quantiles(ordered, q), np.quantile(ordered, q))


def test_a_rows_mask_searches_exactly_those_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows left out by a mask count nowhere: the same top-k as a table of the kept rows."""
    from icpkit.discovery import search

    monkeypatch.setattr(search, "_CHUNK_WORDS", 2)
    frame, labels = planted_frame(700, 5)
    conditions = condition_table(frame, attribute_columns(frame), CONFIG).conditions
    keep = np.random.default_rng(5).random(frame.height) < 0.6
    target = labels == "best"
    quality = quality_named("wracc")
    full = condition_table(frame, attribute_columns(frame), CONFIG, list(conditions))
    masked = DepthFirstSearch().run(SearchTask(full, target, quality, 3, 10, 12, rows=keep))
    kept = frame.filter(pl.Series(keep))
    part = condition_table(kept, attribute_columns(frame), CONFIG, list(conditions))
    alone = DepthFirstSearch().run(SearchTask(part, target[keep], quality, 3, 10, 12))
    assert [c.quality for c in masked.candidates] == pytest.approx(
        [c.quality for c in alone.candidates], rel=1e-12
    )
    assert [c.size for c in masked.candidates] == [c.size for c in alone.candidates]
