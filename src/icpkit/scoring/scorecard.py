"""FitScorer: a points scorecard learned from outcomes, as a scikit-learn estimator.

Bins every attribute (``binning``), fits an L2-regularised logistic regression on the one-hot bins,
turns the coefficients into integer points (``card.integer_points``) and maps each score 0–100 to a
probability calibrated on out-of-fold predictions (Platt by default, isotonic on request).

One-hot bins rather than weight-of-evidence: each bin gets its own coefficient, so a non-monotone
attribute (mid-size companies best) needs no special handling, and a bin never seen in training
(missing, a new category) gets exactly the neutral weight.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal

import numpy as np
import pandas as pd
import polars as pl
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, validate_data
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from icpkit.errors import ConfigError, NotFittedError
from icpkit.scoring.binning import Feature, fit_features
from icpkit.scoring.card import SCORE_MAX, Scorecard, integer_points, sigmoid_table

Calibration = Literal["sigmoid", "isotonic", "none"]
NumericEncoding = Literal["onehot", "steps"]

# A fit on at most this many rows runs its BLAS and OpenMP work on one thread. The logistic fits'
# parallel regions (scikit-learn's loss and gradient loops, the Newton steps' products) are a few
# thousand rows each: waking and synchronising a second thread costs more than it saves, and
# waiting threads spin on a busy machine. Measured (bench/RESULTS.md, issue 30, bsmall): the
# Maven build's scorecard step 0.23 → 0.08 s of CPU; FitScorer.fit on 20,000 synthetic rows
# 1.0–1.2 → 0.6 s of CPU and less wall time; the fitted scorecards are identical.
ONE_THREAD_ROWS = 20_000


def _threads_for(rows: int) -> AbstractContextManager[Any]:
    """One BLAS/OpenMP thread for a small fit; the default for a large one."""
    return threadpool_limits(limits=1) if rows <= ONE_THREAD_ROWS else nullcontext()


class ScorerNotFittedError(NotFittedError, SklearnNotFittedError):
    """Raised when an unfitted scorer is used; both an icpkit and a scikit-learn NotFittedError."""


class FitScorer(ClassifierMixin, BaseEstimator):
    """Points scorecard: readable bins, integer points per bin, a 0–100 score and a probability.

    Parameters
    ----------
    max_bins : int, default 6
        Most bins per numeric attribute (the missing bin comes on top).
    min_bin_share : float, default 0.03
        Least weighted share of rows a numeric bin, a kept category or a kept tag must have.
    C : float, default 1.0
        Inverse L2 strength of the logistic regression.
    class_weight : dict, "balanced" or None
        Passed to LogisticRegression (probabilities stay calibrated: ``calibration`` maps them).
    random_state : int or None
        Seed of the binning trees and of the calibration folds.
    rules : tuple of str, default ()
        Segment rules (ICP criteria, disqualifiers) added as met / not-met features, so the points
        can reward the combinations discovery found, not just single attributes.
    calibration : {"sigmoid", "isotonic", "none"}, default "sigmoid"
        How scores map to probabilities: Platt or isotonic on out-of-fold predictions, or the
        in-sample logistic output ("none").
    calibration_folds : int, default 3
        Folds of the calibration.

    Attributes
    ----------
    scorecard_ : Scorecard
        The points table (JSON-safe through ``to_dict``).
    classes_ : ndarray of shape (2,)
        The negative and positive class.
    """

    def __init__(
        self,
        max_bins: int = 6,
        min_bin_share: float = 0.03,
        C: float = 1.0,
        class_weight: Any = None,
        random_state: int | None = None,
        rules: tuple[str, ...] = (),
        calibration: Calibration = "sigmoid",
        calibration_folds: int = 3,
        numeric_encoding: NumericEncoding = "onehot",
        Cs: tuple[float, ...] = (),
    ) -> None:
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state
        self.rules = rules
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.numeric_encoding = numeric_encoding
        self.Cs = Cs

    # -- input ----------------------------------------------------------------------------------

    def _frame(self, X: Any, reset: bool, y: Any = None) -> tuple[pl.DataFrame, Any]:
        """Polars view of the input; arrays go through scikit-learn's checks, frames keep names."""
        if isinstance(X, pl.DataFrame):
            frame = X
        elif isinstance(X, pd.DataFrame):
            frame = pl.from_pandas(X.rename(columns=str), nan_to_null=True)
        else:
            if reset:
                X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
            else:
                X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
            names = [f"x{i}" for i in range(X.shape[1])]
            return pl.DataFrame(np.asarray(X, dtype=np.float64), schema=names, orient="row"), y
        if reset:
            self.n_features_in_ = frame.width
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        elif hasattr(self, "scorecard_"):
            self.scorecard_.check_columns(frame.columns)
        return frame, y

    def _check_params(self) -> None:
        problems = []
        if not isinstance(self.max_bins, int | np.integer) or self.max_bins < 2:
            problems.append(f"max_bins must be an integer ≥ 2; got {self.max_bins!r}")
        if not 0 < float(self.min_bin_share) < 0.5:
            problems.append(f"min_bin_share must be in (0, 0.5); got {self.min_bin_share!r}")
        if not float(self.C) > 0 or any(not float(c) > 0 for c in self.Cs):
            problems.append(f"C and every Cs must be > 0; got {self.C!r}, {self.Cs!r}")
        if self.numeric_encoding not in ("onehot", "steps"):
            problems.append(
                f"numeric_encoding must be onehot or steps; got {self.numeric_encoding!r}"
            )
        if self.calibration not in ("sigmoid", "isotonic", "none"):
            problems.append(
                f"calibration must be sigmoid, isotonic or none; got {self.calibration!r}"
            )
        if not isinstance(self.calibration_folds, int | np.integer) or self.calibration_folds < 2:
            problems.append(
                f"calibration_folds must be an integer ≥ 2; got {self.calibration_folds!r}"
            )
        if problems:
            raise ConfigError("FitScorer: " + "; ".join(problems))

    def _target(self, y: Any, n: int) -> np.ndarray:
        if y is None:
            raise ValueError("FitScorer requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1 or len(y) != n:
            raise ValueError(f"y must be 1-d with one label per row ({n}); got shape {y.shape}")
        check_classification_targets(y)
        if type_of_target(y, input_name="y") == "multiclass":
            raise ValueError("Only binary classification is supported; got more than 2 classes")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"FitScorer needs samples of 2 classes; the data contains one class only "
                f"({self.classes_[0]!r})"
            )
        return (y == self.classes_[1]).astype(np.int8)

    # -- fitting --------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FitScorer:
        """Learn bins, points and the probability map from ``X`` and binary outcome ``y``."""
        self._check_params()
        frame, y = self._frame(X, reset=True, y=y)
        if frame.height == 0:
            raise ValueError("FitScorer.fit needs at least one row; got 0")
        with _threads_for(frame.height):
            return self._fit(frame, y, sample_weight)

    def _fit(self, frame: pl.DataFrame, y: Any, sample_weight: Any) -> FitScorer:
        target = self._target(y, frame.height)
        weight = _check_sample_weight(sample_weight, np.empty(frame.height), dtype=np.float64)
        if np.bincount(target, weights=weight, minlength=2).min() <= 0:
            raise ValueError("FitScorer needs weight on both classes; one class has zero weight")
        features = self._learn_features(frame, target, weight)
        table = frame.to_arrow()
        codes = (
            np.column_stack([f.codes(table) for f in features])
            if features
            else np.zeros((frame.height, 0), dtype=np.int32)
        )
        sizes = [f.n_bins for f in features]
        steps = [self._steps(f) for f in features]
        design = design_matrix(codes, sizes, steps)
        self.C_ = self._choose_C(design, target, weight)
        model = self._logistic().fit(design, target, sample_weight=weight)
        coef = bin_coefficients(model.coef_[0], sizes, steps)
        weights, shares = _bin_weights(coef, codes, sizes, weight)
        points, base, scale = integer_points(weights, shares)
        card = Scorecard(tuple(features), tuple(tuple(int(v) for v in p) for p in points), base)
        low_logit = float(model.intercept_[0]) + sum(float(w.min()) for w in weights)
        table_p = self._calibrate(design, target, weight, low_logit, scale, card, codes)
        self.scorecard_ = Scorecard(
            card.features,
            card.points,
            card.base,
            table_p,
            self.calibration,
            info=_fit_info(target, weight),
        )
        return self

    def _steps(self, feature: Feature) -> int:
        """Ordered bins of a numeric feature encoded as steps (0: the feature is one-hot)."""
        if self.numeric_encoding == "steps" and feature.kind == "numeric":
            return len(feature.cuts)
        return 0

    def _logistic(self, C: float | None = None) -> LogisticRegression:
        strength = getattr(self, "C_", self.C) if C is None else C
        # Newton steps with a Cholesky solve: the binned design has ~100 columns, so each step is
        # one small dense solve and a fit takes a handful of them, where L-BFGS took ~180
        # iterations (8x the time of the whole scorecard). Same convex objective, same optimum.
        # Extreme class weights (1000 vs 0.0001) make the Hessian too ill-conditioned for the
        # Cholesky solve, so a weighted scorer keeps L-BFGS; the build never sets class_weight.
        solver = "newton-cholesky" if self.class_weight is None else "lbfgs"
        return LogisticRegression(
            C=strength, class_weight=self.class_weight, max_iter=2000, tol=1e-5, solver=solver
        )

    def _choose_C(self, design: sp.csr_matrix, y: np.ndarray, w: np.ndarray) -> float:
        """``C``, or the one of ``Cs`` with the least out-of-fold log-loss (inner CV)."""
        grid = [float(c) for c in self.Cs]
        folds = min(int(self.calibration_folds), int(np.bincount(y, minlength=2).min()))
        if len(grid) < 2 or folds < 2:
            return float(self.C)
        losses = np.zeros(len(grid))
        split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        for train, test in split.split(np.zeros(len(y)), y):
            rows, y_train, w_train, held = design[train], y[train], w[train], design[test]
            # each C starts from the previous C's optimum (Newton then needs a step or two where
            # a cold start needs ~6); the objective and its optimum are the same, and the final
            # fit with the chosen C starts cold as before
            fold = self._logistic(grid[0])
            if fold.solver == "newton-cholesky":
                fold.set_params(warm_start=True)
            for i, c in enumerate(grid):
                fold.set_params(C=c).fit(rows, y_train, sample_weight=w_train)
                p = np.clip(fold.predict_proba(held)[:, 1], 1e-12, 1 - 1e-12)
                losses[i] -= np.dot(w[test], y[test] * np.log(p) + (1 - y[test]) * np.log1p(-p))
        self.cv_losses_ = losses
        return grid[int(np.argmin(losses))]

    def _learn_features(self, frame: pl.DataFrame, y: np.ndarray, w: np.ndarray) -> list[Feature]:
        features: list[Feature] = []
        for name in frame.columns:
            features += fit_features(
                frame[name], y, w, int(self.max_bins), float(self.min_bin_share), self.random_state
            )
        for rule in self.rules:
            features.append(Feature(name=rule, kind="rule", rule=rule, role="criterion"))
        return features

    def _calibrate(
        self,
        design: sp.csr_matrix,
        y: np.ndarray,
        w: np.ndarray,
        low_logit: float,
        scale: float,
        card: Scorecard,
        codes: np.ndarray,
    ) -> tuple[float, ...]:
        """Probability of each score 0–100 from out-of-fold logits (or in-sample for "none")."""
        if self.calibration == "none" or scale == 0:
            return sigmoid_table(low_logit, scale)
        counts = np.bincount(y, minlength=2)
        folds = min(int(self.calibration_folds), int(counts.min()))
        if folds < 2:
            return sigmoid_table(low_logit, scale)
        oof = np.empty(len(y))
        split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        for train, test in split.split(np.zeros(len(y)), y):
            fold = self._logistic().fit(design[train], y[train], sample_weight=w[train])
            oof[test] = fold.decision_function(design[test])
        # the out-of-fold logit, put on the final score's scale (score = (logit - low) / scale)
        equivalent = ((oof - low_logit) / scale).reshape(-1, 1)
        if self.calibration == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6)
            iso.fit(equivalent.ravel(), y, sample_weight=w)
            return tuple(float(p) for p in iso.predict(np.arange(SCORE_MAX + 1.0)))
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(equivalent, y, sample_weight=w)
        return sigmoid_table(float(platt.intercept_[0]), float(platt.coef_[0, 0]))

    # -- prediction -----------------------------------------------------------------------------

    def _card(self) -> Scorecard:
        if not hasattr(self, "scorecard_"):
            raise ScorerNotFittedError(
                "this FitScorer is not fitted yet: call fit(X, y) first (or FitScorer.from_dict)"
            )
        return self.scorecard_

    def _points(self, X: Any) -> np.ndarray:
        card = self._card()
        frame, _ = self._frame(X, reset=False)
        return card.points_matrix(card.codes(frame.to_arrow()))

    def fit_score(self, X: Any) -> np.ndarray:
        """Score 0–100 (integers) of every row."""
        return self._card().scores(self._points(X)).astype(np.int64)

    def decision_function(self, X: Any) -> np.ndarray:
        """Calibrated log-odds of the positive class (> 0 where ``predict`` says positive)."""
        p = np.clip(self.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of (negative, positive) class per row."""
        card = self._card()
        p = card.probabilities(card.scores(self._points(X)).astype(np.int64))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        positive = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[positive.astype(int)]

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit score 0–100 per row when ``y`` is None; else accuracy (scikit-learn's meaning)."""
        if y is None:
            return self.fit_score(X)
        return super().score(X, y, sample_weight=sample_weight)

    def points(self, X: Any) -> Any:
        """Points of every feature per row, plus ``base``; the columns of a row sum to its score.

        Polars in → polars out, pandas in → pandas out, arrays → a 2-d array (base last).
        """
        card = self._card()
        pts = self._points(X).astype(np.int64)
        names = [f.name for f in card.features]
        full = np.column_stack([pts, np.full(len(pts), card.base, dtype=np.int64)])
        if isinstance(X, pl.DataFrame):
            return pl.DataFrame(full, schema=[*names, "base"], orient="row")
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(full, columns=[*names, "base"], index=X.index)
        return full

    # -- persistence ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state: the hyperparameters, the classes and the scorecard."""
        card = self._card()
        return {
            "params": _json_params(self.get_params()),
            "classes": [_json_scalar(c) for c in self.classes_],
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": [str(c) for c in getattr(self, "feature_names_in_", [])],
            "scorecard": card.to_dict(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FitScorer:
        """Rebuild a fitted scorer from ``to_dict`` output."""
        try:
            params = dict(raw["params"])
            params["rules"] = tuple(params.get("rules", ()))
            params["Cs"] = tuple(params.get("Cs", ()))
            scorer = cls(**params)
            scorer.scorecard_ = Scorecard.from_dict(raw["scorecard"])
            scorer.classes_ = np.asarray(raw["classes"])
            scorer.n_features_in_ = int(raw["n_features_in"])
            if raw.get("feature_names_in"):
                scorer.feature_names_in_ = np.asarray(raw["feature_names_in"], dtype=object)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"not a FitScorer dict: {exc}") from None
        return scorer

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags


def one_hot(codes: np.ndarray, sizes: list[int]) -> sp.csr_matrix:
    """Sparse one-hot design: one column per bin of every feature."""
    n, k = codes.shape
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if k else np.zeros(0)
    cols = (codes + offsets).ravel()
    rows = np.repeat(np.arange(n), k)
    return sp.csr_matrix((np.ones(n * k), (rows, cols)), shape=(n, int(sum(sizes))))


def design_matrix(codes: np.ndarray, sizes: list[int], steps: list[int]) -> sp.csr_matrix:
    """Sparse design: one-hot bins, except features with ``steps[j] > 0`` ordered bins.

    An ordered feature (a numeric attribute: bins 0..s in value order, then the missing bin) gets
    one column per step up — "value ≥ cut k" — plus a missing column. The L2 penalty then shrinks
    the jump between neighbouring bins rather than each bin towards zero, as boosted stumps do:
    many bins without a jagged, overfitted points curve.
    """
    if not any(steps):
        return one_hot(codes, sizes)
    n = codes.shape[0]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    start = 0
    for j, (size, s) in enumerate(zip(sizes, steps, strict=True)):
        code = codes[:, j].astype(np.int64)
        if not s:
            rows.append(np.arange(n))
            cols.append(start + code)
            start += size
            continue
        known = code <= s
        up = np.where(known, code, 0)  # a known row in bin c is above steps 1..c
        rows.append(np.repeat(np.arange(n), up))
        first = np.repeat(np.cumsum(up) - up, up)  # where each row's run of steps starts
        cols.append(start + np.arange(int(up.sum())) - first)
        rows.append(np.flatnonzero(~known))
        cols.append(np.full(int((~known).sum()), start + s))
        start += s + 1
    r, c = np.concatenate(rows), np.concatenate(cols).astype(np.int64)
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, start))


def bin_coefficients(coef: np.ndarray, sizes: list[int], steps: list[int]) -> np.ndarray:
    """Coefficient of every bin from the coefficients of ``design_matrix``'s columns."""
    out, start = [], 0
    for size, s in zip(sizes, steps, strict=True):
        if not s:
            out.append(coef[start : start + size])
            start += size
            continue
        ranges = np.concatenate([[0.0], np.cumsum(coef[start : start + s])])
        out.append(np.append(ranges, coef[start + s]))
        start += s + 1
    return np.concatenate(out) if out else np.zeros(0)


def _bin_weights(
    coef: np.ndarray, codes: np.ndarray, sizes: list[int], weight: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-feature coefficients and bin shares; unseen bins get the feature's average weight."""
    weights, shares, start = [], [], 0
    for j, size in enumerate(sizes):
        w = coef[start : start + size].astype(np.float64).copy()
        share = np.bincount(codes[:, j], weights=weight, minlength=size)[:size]
        seen = share > 0
        if seen.any():
            w[~seen] = float(np.dot(w[seen], share[seen]) / share[seen].sum())
        weights.append(w)
        shares.append(share / max(float(share.sum()), 1e-300))
        start += size
    return weights, shares


def _fit_info(y: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    return {
        "n_rows": len(y),
        "n_positive": int(y.sum()),
        "base_rate": float(np.dot(y, w) / max(float(w.sum()), 1e-300)),
    }


def _json_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if key in ("rules", "Cs"):
            value = list(value)
        elif isinstance(value, dict):
            value = {str(k): _json_scalar(v) for k, v in value.items()}
        out[key] = _json_scalar(value)
    return out


__all__ = ["FitScorer", "ScorerNotFittedError", "one_hot"]
