"""Themes on notes they were not built on (icpkit.datasets.synthetic.voice): other words, fillers
that depend on the note's source, and best accounts that leave twice as many notes, from other
sources.

The truth: one theme (EFFECT) is voiced more by the best accounts, one (FLAT) in the same share of
every note. Checked: the planted theme is found higher among the best accounts; no theme that
does not carry it is reported higher (a theme "carries" EFFECT when at least CARRIES of its notes
are on it: the static embedding mixes some of its notes with others); the flat theme is never
reported, in either direction; at most 15 themes; no theme is one source's filler. The
background themes may be reported *lower* among the best accounts, and truly are: a note voices
one theme, so best accounts, whose notes voice EFFECT more, voice each background theme in fewer
of their notes.

Measured (2026-12-07), 10 seeds × 1,500 accounts (≈ 4,000 notes): planted theme found 10/10,
seeds with a false finding 0/10, themes per seed 14–15. Before this generator existed (plain mean
embedding, crude account shares), seed 0 gave 5 themes, one per source's filler, all five
"significant" (lifts 0.74 to 4.6), the flat theme among them.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest

from icpkit.datasets.synthetic.voice import EFFECT, FLAT, SOURCES, make_voice_notes
from icpkit.themes.analysis import find_themes

CARRIES = 0.2
MAX_THEMES = 15


def _run(seed: int, n_accounts: int = 1500) -> dict[str, object]:
    voice = make_voice_notes(n_accounts, seed=seed)
    found = find_themes(voice.notes, voice.outcomes)
    labels = found.assignments.sort("note_row")["theme"].to_numpy()
    sources = voice.notes["source"].to_numpy()
    effect_share = {
        t.id: float((voice.planted[labels == t.id] == EFFECT).mean()) for t in found.themes
    }
    majority = {
        t.id: Counter(voice.planted[labels == t.id]).most_common(1)[0][0] for t in found.themes
    }
    top_source = {
        t.id: Counter(sources[labels == t.id]).most_common(1)[0][1] / t.n_notes
        for t in found.themes
    }
    significant = [t for t in found.tests if t.q_value < 0.05 and t.comparison == "best_vs_rest"]
    parents = {t.theme for t in significant if t.source == "voice"}
    return {
        "n_themes": len(found.themes),
        "found": any(
            t.source == "voice" and t.direction == "higher" and effect_share[t.theme] >= 0.5
            for t in significant
        ),
        "false": [
            (t.theme, t.source, round(effect_share[t.theme], 2), t.lift)
            for t in significant
            if effect_share[t.theme] < CARRIES and t.direction == "higher"
        ],
        "flat": [t.theme for t in significant if majority[t.theme] == FLAT],
        # a theme made of one source's notes only is that source's filler, not a theme
        "by_source": [k for k, share in top_source.items() if share > 0.9],
        # a sub-theme is never reported when its parent theme shows nothing
        "orphans": [p.label for p in found.sub_themes if p.parent not in parents],
    }


def _check(runs: list[dict[str, object]]) -> None:
    assert all(r["found"] for r in runs), runs
    assert not any(r["false"] for r in runs), runs
    assert not any(r["flat"] for r in runs), runs
    assert all(int(r["n_themes"]) <= MAX_THEMES for r in runs), runs  # type: ignore[call-overload]
    assert not any(r["by_source"] for r in runs), runs
    assert not any(r["orphans"] for r in runs), runs


def test_generator_plants_what_it_says() -> None:
    voice = make_voice_notes(1500, seed=0)
    best = voice.outcomes.filter(voice.outcomes["label"] == "best")["account_id"]
    is_best = voice.notes["account_id"].is_in(best.implode()).to_numpy()
    flat = voice.planted == FLAT
    effect = voice.planted == EFFECT
    assert abs(flat[is_best].mean() - flat[~is_best].mean()) < 0.04  # same share of every note
    assert effect[is_best].mean() > 2.5 * effect[~is_best].mean()
    notes_per_account = voice.notes.group_by("account_id").len()["len"].mean()
    assert notes_per_account is not None and float(notes_per_account) > 2  # type: ignore[arg-type]
    assert set(voice.notes["source"].unique()) == set(SOURCES)
    # best accounts leave about twice as many notes: a crude comparison calls every theme theirs
    per_best = is_best.sum() / len(best)
    per_rest = (~is_best).sum() / (voice.outcomes.height - len(best))
    assert per_best > 1.6 * per_rest
    assert np.isin(voice.planted, [EFFECT, FLAT]).mean() < 0.7


def test_themes_on_an_unseen_generator_one_seed() -> None:
    _check([_run(0, n_accounts=1000)])


@pytest.mark.slow
def test_themes_on_an_unseen_generator_over_seeds() -> None:
    _check([_run(seed) for seed in range(10)])


def test_no_theme_is_split_when_it_shows_nothing() -> None:
    voice = make_voice_notes(600, seed=1)
    flat = voice.outcomes.with_columns(label=pl.lit("rest"))  # nobody is best: nothing differs
    flat = flat.with_columns(
        label=pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("best")).otherwise("label")
    )
    found = find_themes(voice.notes, flat)
    assert all(t.direction == "none" for t in found.tests if t.source == "voice")
    assert found.sub_themes == []
