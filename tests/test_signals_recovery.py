"""Recovery of the planted signal effects over seeds: the learner finds what the generator planted.

Effective types must be significant with lifts within 30% of the planted ones and a decay within
x1.5 of the planted half-life (or flat window); types without an effect must be significant in at
most 5% of seeds. Fit tiers are the planted fit (in the ICP / ordinary / disqualified), so the
check is about the signal learner alone.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from icpkit.config import SignalsConfig
from icpkit.datasets import SyntheticCrm, make_crm
from icpkit.profile import SignalsSection
from icpkit.signals import learn_signals
from icpkit.signals.timeline import ages

SEEDS = range(12)
pytestmark = pytest.mark.slow


def planted_tiers(crm: SyntheticCrm) -> pl.DataFrame:
    truth = crm.truth_frame()
    return truth.select(
        "account_id",
        tier=pl.when("disqualified")
        .then(pl.lit("Non-fit"))
        .when("in_icp")
        .then(pl.lit("Tier 1"))
        .otherwise(pl.lit("Tier 2")),
    )


def deal_ages(crm: SyntheticCrm, signal_type: str) -> np.ndarray:
    ids = crm.accounts["account_id"]
    code = dict(zip(ids.to_list(), range(len(ids)), strict=True))
    signals = crm.signals.filter(pl.col("type") == signal_type)
    return ages(
        np.array([code[a] for a in crm.deals["account_id"]]),
        crm.deals["created_at"].cast(pl.Int64).to_numpy().astype(float),
        np.array([code[a] for a in signals["account_id"]]),
        signals["date"].cast(pl.Int64).to_numpy().astype(float),
    )


def planted_lifts(crm: SyntheticCrm, signal_type: str, window: int) -> tuple[float, float]:
    """(opening, winning) lifts the generator planted, in the window the learner reported."""
    truth = crm.signal_truth
    assert truth is not None
    age = deal_ages(crm, signal_type)
    inside = np.isfinite(age) & (age <= window)
    opened_by_it = inside & (truth.opened_by == signal_type)
    opening = inside.sum() / max(inside.sum() - opened_by_it.sum(), 1)
    closed = crm.deals["stage"].is_in(["won", "lost"]).to_numpy()
    return float(opening), truth.win_lift(signal_type, inside & closed)


@pytest.fixture(scope="module")
def sweeps() -> list[tuple[SyntheticCrm, SignalsSection]]:
    out = []
    for seed in SEEDS:
        crm = make_crm(2000, seed=seed)
        section = learn_signals(crm.to_crm_data(), planted_tiers(crm), SignalsConfig())
        out.append((crm, section))
    return out


@pytest.mark.parametrize("signal_type", ["funding", "leadership_change"])
def test_effective_types_are_found_with_their_lift_and_decay(
    sweeps: list[tuple[SyntheticCrm, SignalsSection]], signal_type: str
) -> None:
    misses = []
    for seed, (crm, section) in zip(SEEDS, sweeps, strict=True):
        found = {t.type: t for t in section.types}[signal_type]
        assert crm.signal_truth is not None
        spec = crm.signal_truth.spec(signal_type)
        opening, winning = planted_lifts(crm, signal_type, found.window_days)
        problems = []
        if not found.significant:
            problems.append("not significant")
        for kind, planted in (("opening", opening), ("winning", winning)):
            got = getattr(found.lift, kind)
            if got is None or not 1 / 1.3 <= got / planted <= 1.3:
                problems.append(f"{kind} lift {got} vs planted {planted:.2f}")
        if spec.half_life_days is not None:
            h = found.half_life_days
            if (
                found.decay != "exponential"
                or h is None
                or not 1 / 1.5 <= h / spec.half_life_days <= 1.5
            ):
                problems.append(f"decay {found.decay} half-life {h}")
        else:
            w = found.window_days
            if found.decay != "window" or not 1 / 1.5 <= w / float(spec.window_days or 1) <= 1.5:
                problems.append(f"decay {found.decay} window {w}")
        if problems:
            misses.append((seed, problems))
    assert not misses, misses


def test_types_without_effect_are_significant_in_at_most_5_percent(
    sweeps: list[tuple[SyntheticCrm, SignalsSection]],
) -> None:
    nulls = ("hiring", "tech_adoption", "web_visit")
    found = [t.significant for _, s in sweeps for t in s.types if t.type in nulls]
    assert len(found) == len(nulls) * len(SEEDS)
    assert sum(found) <= 0.05 * len(found), sum(found)
