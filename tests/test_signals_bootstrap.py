"""The signals backtest's bootstrap reads each resample's AUC from its row counts (issue 30): it
must be the AUC of ranking the resample itself, ties included."""

from __future__ import annotations

import numpy as np

from icpkit.signals.backtest import _auc, _ResampledAuc


def test_resampled_auc_is_the_auc_of_the_resample() -> None:
    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(5, 300))
        scores = np.round(rng.normal(size=n), int(rng.integers(0, 3)))  # 0 decimals: many ties
        positive = rng.random(n) < rng.random()
        resampled = _ResampledAuc(scores, positive)
        for _ in range(3):
            pick = rng.integers(0, n, n)
            expected = _auc(scores[pick], positive[pick])
            got = resampled(np.bincount(pick, minlength=n).astype(float))
            if np.isnan(expected):
                assert np.isnan(got)
            else:
                assert abs(got - expected) < 1e-12
