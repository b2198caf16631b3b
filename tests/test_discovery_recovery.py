"""Recovery of the planted ICP of the synthetic CRM, through the real outcomes path.

A planted condition counts as recovered when a significant criterion (or disqualifier) has a
condition on the same attribute with the same levels or tag — numeric bounds may sit one cut point
away (the bins are rounded quantiles, the planted bounds are not). Equivalence-aware matching also
counts a found condition that selects the same accounts as a planted one (Jaccard >= 0.9 over all
accounts): the data cannot tell them apart. Both figures are tested; only the strict one is a
known gap. Precision: the share of
conditions in significant criteria that match a planted one; recall: the share of planted
conditions recovered. Both are pooled over specs and seeds.

The generator also plants a size effect (``PlantedIcp.size_effect``: bigger accounts open more and
larger deals, so they earn more). A condition that says "bigger" for the best customers (a range
open upwards on employees or annual revenue) or "smaller" for the worst is that planted truth too.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pytest

from icpkit.config import DiscoveryConfig, SuccessConfig
from icpkit.datasets import SPECS, make_crm
from icpkit.discovery import find_icp
from icpkit.discovery.attributes import numeric_cut_points
from icpkit.outcomes import compute_outcomes
from icpkit.rules import Condition, Segment, parse_segment

JACCARD = 0.9

CONFIG = DiscoveryConfig.model_validate({})
N_ACCOUNTS = int(os.environ.get("ICPKIT_RECOVERY_N", "4000"))
# The small segment is about 1.3 % of the accounts: 10,000 accounts give it ~65 ranked accounts
# in the search half (2,000 would give ~13, too few for any test to see it).
N_FOR_SPEC = {"small_segment": 10_000}


def _levels(cond: Condition) -> set[object]:
    return {cond.value} if cond.op == "eq" else set(cond.value)


def _near(found: float, planted: float, cuts: list[float]) -> bool:
    """found is the cut point (or open end) next to ``planted`` on either side."""
    edges = [-math.inf, *cuts, math.inf]
    below = max(e for e in edges if e <= planted)
    above = min(e for e in edges if e >= planted)
    return found in (below, above)


def matches(found: Condition, planted: Condition, cuts: dict[str, list[float]]) -> bool:
    if found.attr != planted.attr:
        return False
    if planted.op == "range" and found.op == "range":
        attr_cuts = cuts.get(found.attr, [])
        return all(_near(f, p, attr_cuts) for f, p in zip(found.value, planted.value, strict=True))
    if planted.op in ("eq", "in") and found.op in ("eq", "in"):
        return _levels(found) <= _levels(planted)
    return found == planted


SIZE_ATTRS = ("employees", "annual_revenue")


def size_effect_match(found: Condition, spec: str, group: str) -> bool:
    """A size condition in the direction the generator's size effect points."""
    if SPECS[spec].size_effect <= 0 or found.attr not in SIZE_ATTRS or found.op != "range":
        return False
    lo, hi = found.value
    return math.isinf(hi) if group == "best" else math.isinf(lo)


def same_accounts(found: Condition, planted: Condition, accounts: pl.DataFrame) -> bool:
    """The two conditions select the same accounts as far as the data can tell (Jaccard ≥ 0.9
    over all accounts), e.g. ``country = 'US'`` for a planted ``region = 'North America'``."""
    a, b = Segment((found,)).mask(accounts), Segment((planted,)).mask(accounts)
    union = np.count_nonzero(a | b)
    return bool(union) and np.count_nonzero(a & b) >= JACCARD * union


@dataclass(frozen=True)
class Recovery:
    """Counts for one spec and seed: [matched found, found, recovered planted, planted], strict
    and equivalence-aware, and the significant rules found (for the failure message)."""

    strict: np.ndarray
    equivalent: np.ndarray
    rules: tuple[str, ...]


def _count(found: list[Condition], planted: list[Condition], match: Any, size: Any) -> np.ndarray:
    return np.array(
        [
            sum(any(match(f, p) for p in planted) or size(f) for f in found),
            len(found),
            sum(any(match(f, p) for f in found) for p in planted),
            len(planted),
        ]
    )


def recovery(spec: str, seed: int) -> Recovery:
    """Recovery of the planted conditions over criteria and disqualifiers."""
    crm = make_crm(N_FOR_SPEC.get(spec, N_ACCOUNTS), seed, icp=spec)
    labels = compute_outcomes(crm.to_crm_data(), SuccessConfig()).labels_for(crm.accounts)
    result = find_icp(crm.accounts, labels, CONFIG)
    ranked = crm.accounts.filter(labels != "unranked")
    cuts = {
        a: numeric_cut_points(ranked[a].cast(float).to_numpy(), CONFIG.numeric_bins, 10)
        for a in ("employees", "annual_revenue", "founded_year")
    }
    strict, equivalent = np.zeros(4, dtype=int), np.zeros(4, dtype=int)
    planted_sets = (SPECS[spec].segments, SPECS[spec].disqualifiers)
    groups = zip(
        ("best", "worst"), (result.criteria, result.disqualifiers), planted_sets, strict=True
    )
    rules = []
    for group, found_rules, planted_rules in groups:
        found = [c for r in found_rules if r.significant for c in parse_segment(r.rule)]
        planted = [c for text in planted_rules for c in parse_segment(text)]
        rules += [f"{group}: {r.rule}" for r in found_rules if r.significant]

        def size(f: Condition, group: str = group) -> bool:
            return size_effect_match(f, spec, group)

        strict += _count(found, planted, lambda f, p: matches(f, p, cuts), size)
        equivalent += _count(
            found,
            planted,
            lambda f, p: matches(f, p, cuts) or same_accounts(f, p, crm.accounts),
            size,
        )
    return Recovery(strict, equivalent, tuple(rules))


def test_categorical_spec_is_recovered_on_one_seed() -> None:
    hit, found, got, planted = recovery("categorical", 0).strict
    assert got == planted and hit == found


# A level, a numeric range, a tag, two segments of equal strength, and a small strong segment
# (~1.6 % of accounts) beside a large one (~11 %).
SPEC_NAMES = ("categorical", "numeric", "tags", "two_segments", "small_segment")
SEEDS = range(5)


@pytest.fixture(scope="module")
def recoveries() -> list[Recovery]:
    return [recovery(spec, seed) for spec in SPEC_NAMES for seed in SEEDS]


@pytest.mark.slow
def test_planted_conditions_are_recovered_up_to_equivalent_conditions(
    recoveries: list[Recovery],
) -> None:
    # A found condition that selects the same accounts as a planted one (Jaccard >= 0.9 over all
    # accounts) also counts here: the data cannot tell them apart. Measured: see docs/discovery.md.
    totals = sum((r.equivalent for r in recoveries), np.zeros(4, dtype=int))
    precision, recall = totals[0] / max(totals[1], 1), totals[2] / max(totals[3], 1)
    rules = [rule for r in recoveries for rule in r.rules]
    assert precision >= 0.9, (precision, recall, totals, rules)
    assert recall >= 0.9, (precision, recall, totals, rules)


@pytest.mark.slow
def test_planted_conditions_are_recovered_strictly(recoveries: list[Recovery]) -> None:
    # Same attribute and levels (numeric bounds within one cut point), 5 specs x 5 seeds.
    totals = sum((r.strict for r in recoveries), np.zeros(4, dtype=int))
    precision, recall = totals[0] / max(totals[1], 1), totals[2] / max(totals[3], 1)
    rules = [rule for r in recoveries for rule in r.rules]
    assert precision >= 0.9, (precision, recall, totals, rules)
    assert recall >= 0.9, (precision, recall, totals, rules)


@pytest.mark.slow
def test_no_signal_spec_reports_nothing_significant_in_95_percent_of_seeds() -> None:
    # n = 1000 accounts per seed keeps 40 seeds around a minute.
    flagged = 0
    for seed in range(40):
        crm = make_crm(1000, seed, icp="none")
        labels = compute_outcomes(crm.to_crm_data(), SuccessConfig()).labels_for(crm.accounts)
        result = find_icp(crm.accounts, labels, CONFIG)
        flagged += any(s.significant for s in result.segments.segments)
    assert flagged <= 2, f"{flagged} of 40 seeds reported a significant segment"
