"""Which target the numbers mean: 'won' for a binary outcome, recorded and named everywhere."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from icpkit.config import config_from_dict
from icpkit.data.model import CrmData
from icpkit.pipeline import build_icp
from icpkit.report import ReportInput, render_html
from icpkit.scoring.learn import choose_target


def _deals(accounts: list[str], stages: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(len(accounts))],
            "account_id": accounts,
            "stage": stages,
            "created_at": [date(2024, 1, 1)] * len(accounts),
        }
    )


def test_binary_outcome_defaults_to_won_and_says_why() -> None:
    chosen = choose_target(None, _deals(["a", "b", "c"], ["won", "lost", "open"]))
    assert chosen.target == "won" and chosen.chosen == "auto"
    assert "binary" in chosen.why
    assert "won" in chosen.probability_of


def test_several_deals_per_account_or_a_setting_keep_best() -> None:
    several = _deals(["a", "a", "b"], ["won", "lost", "lost"])
    assert choose_target(None, several).target == "best"
    assert choose_target(None, None).target == "best"
    assert choose_target(None, _deals(["a", "b"], ["won", "won"])).target == "best"
    configured = choose_target("best", _deals(["a", "b"], ["won", "lost"]))
    assert configured.target == "best" and configured.chosen == "config"


def test_lead_list_profile_records_and_names_the_target() -> None:
    rng = np.random.default_rng(0)
    n = 240
    size = rng.choice(["small", "large"], n)
    won = rng.random(n) < np.where(size == "large", 0.45, 0.1)
    ids = [f"L{i}" for i in range(n)]
    crm = CrmData(
        accounts=pl.DataFrame({"account_id": ids, "size": size}),
        deals=_deals(ids, np.where(won, "won", "lost").tolist()),
    )
    config = config_from_dict(
        {"validation": {"cv_folds": 0}, "scoring": {"regularization_grid": []}}
    )
    profile = build_icp(crm, config).profile
    assert profile.success_definition.scoring_target is not None
    assert profile.success_definition.scoring_target.target == "won"
    assert profile.scorecard is not None and profile.scorecard.target == "won"
    assert profile.tiers is not None and profile.tiers.success_name == "won"
    html = render_html(ReportInput(profile=profile))
    assert "won (build)" in html and "success (build)" not in html
    assert "fit_probability is the calibrated probability that a closed deal" in html
