"""Calibrate the score → probability map on the held-out cut, and measure how well it is calibrated.

The scorecard's points are left alone; only the map from score (0–100) to ``fit_probability``
changes. An isotonic regression (monotone non-decreasing, so the ranking never inverts) is fitted
on the held-out rows' scores and outcomes. Its quality is measured honestly by cross-fitting: each
held-out row's calibrated probability comes from a map fitted on the other folds, and the expected
calibration error (ECE: the row-weighted mean gap between predicted and observed rate over
equal-width probability bins) of those is compared with the ECE of the build's own probabilities.
Folds follow a canonical row order chosen by the caller, so the file's row order never matters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from icpkit.profile import CalibrationCheck

SCORE_MAX = 100
BINS = 10
FOLDS = 5
MIN_ROWS = 50  # fewer held-out rows than this: no calibration is learned
MIN_PER_CLASS = 10  # …nor with fewer than this many successes or failures

__all__ = [
    "MIN_PER_CLASS",
    "MIN_ROWS",
    "calibrate_held_out",
    "expected_calibration_error",
    "isotonic_map",
    "reliability_rows",
]


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = BINS) -> float:
    """Row-weighted mean |mean predicted − observed rate| over ``bins`` equal-width bins of p."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if p.size == 0:
        return float("nan")
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    total = 0.0
    for b in np.unique(idx):
        inside = idx == b
        total += inside.sum() * abs(p[inside].mean() - y[inside].mean())
    return float(total / p.size)


def reliability_rows(p: np.ndarray, y: np.ndarray, bins: int = BINS) -> list[dict[str, Any]]:
    """Rows of the reliability curve: bin, n, mean predicted, observed rate (non-empty bins)."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = idx == b
        if inside.any():
            rows.append(
                {
                    "bin": f"[{b / bins:.1f}, {(b + 1) / bins:.1f})",
                    "n": int(inside.sum()),
                    "mean_predicted": float(p[inside].mean()),
                    "observed_win_rate": float(y[inside].mean()),
                }
            )
    return rows


def isotonic_map(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Probability of each score 0–100: isotonic (non-decreasing) regression of y on the score.

    One success and one failure are added at score 0 and at score 100 (a Laplace-style prior at
    the ends), so the lowest and highest blocks — often a handful of rows all of one outcome —
    never read as certain (0 or 1); every block in between lies between those two.
    """
    x = np.concatenate([np.asarray(scores, dtype=float), [0.0, 0.0, SCORE_MAX, SCORE_MAX]])
    t = np.concatenate([np.asarray(y, dtype=float), [0.0, 1.0, 0.0, 1.0]])
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip")
    iso.fit(x, t)
    return np.asarray(iso.predict(np.arange(SCORE_MAX + 1.0)), dtype=float)


def _cross_fitted(scores: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    folds = min(FOLDS, int(np.bincount(y.astype(int), minlength=2).min()))
    out = np.empty(len(y))
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, test in split.split(np.zeros(len(y)), y.astype(int)):
        table = isotonic_map(scores[train], y[train])
        out[test] = table[np.clip(scores[test].astype(int), 0, SCORE_MAX)]
    return out


def calibrate_held_out(
    scores: np.ndarray,
    probability: np.ndarray | None,
    y: np.ndarray,
    *,
    outcome: str,
    target: str,
    seed: int = 0,
) -> tuple[CalibrationCheck, list[dict[str, Any]]]:
    """The held-out calibration and the reliability rows of the calibrated probabilities.

    Parameters
    ----------
    scores : ndarray
        Fit score (0–100) of each held-out row, in a canonical order (not the file's).
    probability : ndarray, optional
        The build's own fit_probability of each row (NaN or None when it has none).
    y : ndarray of bool
        The held-out outcome of each row (what ``target`` means).
    outcome, target : str
        In words, what a success is here; and the scorecard target it stands for.

    With too few rows or too few of either outcome no map is learned; the check says so in
    ``note`` and the reliability rows are those of the build's own probabilities.
    """
    scores = np.clip(np.asarray(scores, dtype=float), 0, SCORE_MAX)
    y = np.asarray(y).astype(bool)
    raw = None if probability is None else np.asarray(probability, dtype=float)
    if raw is not None and (raw.size != y.size or np.isnan(raw).any()):
        raw = None  # the build had no probability map (a hand-written spec)
    n, n_pos = int(y.size), int(y.sum())
    before = {
        "ece_before": None if raw is None else expected_calibration_error(raw, y),
        "brier_before": None if raw is None else float(np.mean((raw - y) ** 2)),
    }
    base = {"outcome": outcome, "target": target, "n": n, "n_positive": n_pos, "bins": BINS}
    if n < MIN_ROWS or min(n_pos, n - n_pos) < MIN_PER_CLASS:
        note = (
            f"too few held-out rows to calibrate ({n} with {n_pos} successes; at least "
            f"{MIN_ROWS} with {MIN_PER_CLASS} of each outcome are needed)"
        )
        rows = [] if raw is None else reliability_rows(raw, y)
        return CalibrationCheck(**base, **before, note=note), rows
    crossed = _cross_fitted(scores, y, seed)
    check = CalibrationCheck(
        **base,
        **before,
        ece_after=expected_calibration_error(crossed, y),
        brier_after=float(np.mean((crossed - y) ** 2)),
        probability=[round(float(p), 6) for p in isotonic_map(scores, y)],
    )
    return check, reliability_rows(crossed, y)
