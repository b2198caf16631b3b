"""The whole pipeline against the ground truth of the synthetic CRM.

The scorecard test in test_scoring_quality.py hands the planted rules to the scorecard; this one
does not: discovery finds the criteria from outcomes, the scorecard is built on them, and the fit
score of a fresh CRM drawn from the same planted ICP is measured against the Bayes-optimal AUC of
the generator's true win probabilities on its closed deals.
"""

from __future__ import annotations

import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from icpkit.config import config_from_dict
from icpkit.datasets import make_crm
from icpkit.pipeline import build_icp, score_accounts


def _auc_ratio(spec: str, target: str, n: int = 4000) -> float:
    train, test = make_crm(n, seed=21, icp=spec), make_crm(n, seed=22, icp=spec)
    config = config_from_dict({"scoring": {"target": target}})
    profile = build_icp(train.to_crm_data(), config, validate=False).profile
    scored = score_accounts(profile, test.accounts).select(
        "account_id", "fit_score", pl.Series("p_true", test.truth.p_win)
    )
    closed = test.deals.filter(pl.col("stage").is_in(["won", "lost"])).join(scored, on="account_id")
    won = (closed["stage"] == "won").to_numpy()
    ours = roc_auc_score(won, closed["fit_score"].to_numpy())
    bayes = roc_auc_score(won, closed["p_true"].to_numpy())
    return float(ours / bayes)


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["default", "categorical", "numeric", "tags", "two_segments"])
@pytest.mark.parametrize("target", ["best", "won"])
def test_pipeline_fit_score_reaches_98_percent_of_bayes_optimal(spec: str, target: str) -> None:
    ratio = _auc_ratio(spec, target)
    assert ratio >= 0.98, f"{spec}/{target}: AUC is {ratio:.3f} × the Bayes-optimal AUC"


def test_pipeline_on_a_small_crm_beats_chance_clearly() -> None:
    assert _auc_ratio("numeric", "best", n=1200) >= 0.9
