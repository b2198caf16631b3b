"""Small scorecard fits run on one BLAS/OpenMP thread, with the same scorecard (issue 30).

``FitScorer.fit`` on at most ``ONE_THREAD_ROWS`` rows limits the thread pools to one thread
(thread wake-ups and spinning cost more than they save on a few thousand rows). The thread count
must not change the fitted card: a differential check against a fit with the default pools.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from threadpoolctl import threadpool_info

from icpkit.scoring import scorecard
from icpkit.scoring.scorecard import FitScorer


def _data(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "employees": rng.lognormal(4, 1.2, n),
            "founded": rng.integers(1950, 2024, n).astype(float),
            "industry": rng.choice(["saas", "retail", "health", "bank", "media"], n),
        }
    )
    logit = np.log(frame["employees"].to_numpy()) - 4 + (frame["industry"] == "saas").to_numpy()
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def test_a_small_fit_runs_on_one_thread() -> None:
    with scorecard._threads_for(100):
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    with scorecard._threads_for(scorecard.ONE_THREAD_ROWS + 1):
        before = {(p["filepath"], p["num_threads"]) for p in threadpool_info()}
    assert before == {(p["filepath"], p["num_threads"]) for p in threadpool_info()}


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
def test_the_thread_count_does_not_change_the_card(
    calibration: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, y = _data(1500, 3)
    params = {"random_state": 0, "Cs": (0.1, 1.0, 10.0), "calibration": calibration}
    one_thread = FitScorer(**params).fit(frame, y).to_dict()  # type: ignore[arg-type]
    monkeypatch.setattr(scorecard, "ONE_THREAD_ROWS", 0)  # the default pools
    default = FitScorer(**params).fit(frame, y).to_dict()  # type: ignore[arg-type]
    assert one_thread == default
