"""Twelve monthly refreshes on a synthetic CRM whose ICP drifts half-way (slow: ~50 builds; the
same inputs as bench/refresh_year.py, whose figures are in bench/RESULTS.md)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from icpkit.refresh.simulate import simulate, true_auc
from webhook import webhook_receiver


def test_true_auc_matches_pairs() -> None:
    import numpy as np

    scores = np.array([3.0, 1.0, 2.0, 2.0])
    p = np.array([0.9, 0.1, 0.5, 0.3])
    num = den = 0.0
    for i in range(4):
        for j in range(4):
            if i != j:
                w = p[i] * (1 - p[j])
                den += w
                num += w * (1.0 if scores[i] > scores[j] else 0.5 if scores[i] == scores[j] else 0)
    assert true_auc(scores, p) == pytest.approx(num / den)


@pytest.mark.slow
def test_a_year_of_refreshes_never_promotes_a_worse_candidate(tmp_path: Path) -> None:
    with webhook_receiver() as hook:
        result = simulate(tmp_path / "ws", n_accounts=1000, seed=7, alert_urls=hook.url)
    print("\n".join(result.lines()))
    assert len(result.months) == 12
    assert result.worse_promoted == 0
    assert result.promoted >= 1
    bad = [m for m in result.months if m.bad_config]
    assert bad and not any(m.promoted for m in bad), [m.to_dict() for m in bad]
    assert result.rollback_restores_scores
    assert hook.posts and result.alerts_sent == len(hook.posts)
    contacts = pl.read_parquet(tmp_path / "ws" / "contacts.parquet")
    text = "\n".join(hook.texts())
    assert not [v for v in [*contacts["name"], *contacts["email"]] if v and v in text]
