"""Cold start: a hand-written TOML spec scores through the same path as a learned profile."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from icpkit.datasets import make_crm
from icpkit.errors import ConfigError
from icpkit.scoring import explain_accounts, load_spec, score_frame

SPEC = Path(__file__).parent / "fixtures" / "spec_cold_start.toml"


@pytest.fixture(scope="module")
def accounts() -> pl.DataFrame:
    return make_crm(600, seed=5).accounts


def test_spec_scores_like_a_learned_profile(accounts):
    profile = load_spec(SPEC)
    assert profile.origin == "hand-written"
    scored = score_frame(profile, accounts)
    assert scored["fit_score"].min() >= 0 and scored["fit_score"].max() <= 100
    assert scored["fit_probability"].null_count() == accounts.height  # never calibrated
    hit = scored.filter(pl.col("employees") < 10)
    assert (hit["tier"] == "Non-fit").all()
    assert hit["disqualifiers_hit"].str.contains("employees in [1, 10)", literal=True).all()
    tier1 = scored.filter(pl.col("tier") == "Tier 1")
    assert (tier1["criteria_met"] != "").all() and (tier1["fit_score"] >= 60).all()


def test_points_keep_their_proportions_and_range(accounts):
    profile = load_spec(SPEC)
    card = profile.scorecard
    assert card is not None
    met = {f.name: f.points[1] for f in card.features}
    assert met["employees in [50, 1000) AND industry = 'Software'"] == 30  # 40 of 135 → 30 of 100
    assert met["employees in [1, 10)"] == -22
    lows = sum(min(f.points) for f in card.features)
    highs = sum(max(f.points) for f in card.features)
    assert (card.base + lows, card.base + highs) == (0, 100)
    for exp in explain_accounts(profile, accounts, list(range(20))):
        assert exp.total() == exp.score


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[criteria]]\nrule = "industry ="\n', "criteria #1"),
        ('[[criteria]]\nrule = "industry = \'A\'"\npoints = "many"\n', "expected a number"),
        ('colour = "blue"\n[points]\n"region = \'EMEA\'" = 5\n', "unknown keys"),
        ("[points]\n\"region = 'EMEA'\" = 5\n[tiers]\ntier1 = 10\ntier2 = 50\n", "tiers"),
        ("name = 'empty'\n", "at least one"),
    ],
)
def test_bad_specs_are_explained(tmp_path, text, message):
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_spec(path)


def test_missing_spec_file(tmp_path):
    with pytest.raises(ConfigError, match="no such spec"):
        load_spec(tmp_path / "absent.toml")
