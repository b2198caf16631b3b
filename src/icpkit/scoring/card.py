"""The points table: integer points per bin, a base, and the score → probability map.

A ``Scorecard`` is plain data (``to_dict``/``from_dict``, JSON-safe) shared by the learned
scorer and hand-written specs, so both score through the same code. Points are centred on the
average account of the training data, so a reason "+18 industry = 'Software'" means Software
adds 18 points over a typical account and "−12 …" takes 12 away. The score of a row is
``base + Σ points`` exactly; the points are integers chosen so that the lowest possible score is 0
and the highest possible 100.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from icpkit.errors import ConfigError, SchemaError
from icpkit.profile import SCORECARD_FORMAT, ScorecardSection
from icpkit.scoring.binning import Feature

FORMAT = SCORECARD_FORMAT
SCORE_MAX = 100
PARALLEL_ROWS = 100_000  # batches at least this long are coded on a thread pool


@functools.cache
def scoring_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)))


@dataclass(frozen=True)
class Scorecard:
    """Features with integer points per bin; ``probability`` maps each score 0–100 to a probability.

    ``probability`` is empty for a scorecard that was never calibrated on outcomes (a hand-written
    spec); ``fit_probability`` is then missing.
    """

    features: tuple[Feature, ...]
    points: tuple[tuple[int, ...], ...]
    base: int
    probability: tuple[float, ...] = ()
    calibration: str = "none"
    target: str = "best"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.features) != len(self.points):
            raise ConfigError("scorecard: one list of points per feature is needed")
        for f, pts in zip(self.features, self.points, strict=False):
            if len(pts) != f.n_bins:
                raise ConfigError(
                    f"scorecard feature {f.name!r}: {f.n_bins} bins, {len(pts)} points"
                )

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column the scorecard reads, in first-use order."""
        return tuple(dict.fromkeys(c for f in self.features for c in f.columns))

    def check_columns(self, present: Sequence[str], origin: str = "input") -> None:
        """Raise SchemaError naming every attribute column the input lacks."""
        missing = [c for c in self.columns if c not in set(present)]
        if missing:
            raise SchemaError(
                f"{origin}: the scorecard needs columns {missing} that are not in the input "
                f"(columns found: {list(present)[:30]}); rename them or add them as empty columns"
            )

    def codes(self, batch: pa.Table) -> np.ndarray:
        """Bin index per row and feature, shape (rows, features), column-major (of
        :attr:`code_dtype`)."""
        return self.codes_and_points(batch)[0]

    def codes_and_points(
        self, batch: pa.Table, parallel: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bin index and points (int16) per row and feature, both column-major.

        With ``parallel``, large batches are done on a thread pool, one feature per task: the
        work is numpy and Arrow kernels that release the GIL. Callers that score several batches
        at once turn it off.
        """
        shape = (batch.num_rows, len(self.features))
        codes = np.empty(shape, dtype=self.code_dtype, order="F")
        points = np.empty(shape, dtype=np.int16, order="F")
        tables = self.point_tables()

        def fill(j: int) -> None:
            codes[:, j], points[:, j] = self.features[j].codes_points(batch, tables[j])

        if parallel and batch.num_rows >= PARALLEL_ROWS and len(self.features) > 1:
            list(scoring_pool().map(fill, range(len(self.features))))
        else:
            for j in range(len(self.features)):
                fill(j)
        return codes, points

    @property
    def code_dtype(self) -> type[np.unsignedinteger[Any]] | type[np.signedinteger[Any]]:
        """The narrowest type of the bin codes: one byte when every feature has at most 256
        bins (a quarter of the memory traffic of int32 codes in bulk scoring)."""
        return np.uint8 if max((f.n_bins for f in self.features), default=0) <= 256 else np.int32

    def score_only(self, batch: pa.Table, parallel: bool = True) -> np.ndarray:
        """Scores (int16) without keeping codes or points per feature: the bulk fast path."""
        tables = self.point_tables()

        def points(j: int) -> np.ndarray:
            return self.features[j].points(batch, tables[j])

        if parallel and batch.num_rows >= PARALLEL_ROWS and len(self.features) > 1:
            parts = list(scoring_pool().map(points, range(len(self.features))))
        else:
            parts = [points(j) for j in range(len(self.features))]
        score = np.full(batch.num_rows, self.base, dtype=np.int16)
        for part in parts:
            score += part
        return score

    def point_tables(self) -> list[np.ndarray]:
        return [np.asarray(p, dtype=np.int16) for p in self.points]

    def points_matrix(self, codes: np.ndarray) -> np.ndarray:
        """Points per row and feature (int16, column-major) from ``codes``."""
        out = np.empty(codes.shape, dtype=np.int16, order="F")
        for j, table in enumerate(self.point_tables()):
            np.take(table, codes[:, j], out=out[:, j])
        return out

    def scores(self, points: np.ndarray) -> np.ndarray:
        """Score per row: the base plus the points of every feature (int16)."""
        return (points.sum(axis=1, dtype=np.int16) + np.int16(self.base)).astype(np.int16)

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probability per row (NaN when the scorecard was never calibrated)."""
        if not self.probability:
            return np.full(len(scores), np.nan)
        return np.asarray(self.probability, dtype=np.float64)[np.clip(scores, 0, SCORE_MAX)]

    def score_range(self) -> tuple[int, int]:
        """Lowest and highest score any row can get."""
        low = self.base + sum(min(p) for p in self.points)
        high = self.base + sum(max(p) for p in self.points)
        return low, high

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "target": self.target,
            "base": self.base,
            "calibration": self.calibration,
            "probability": [round(p, 6) for p in self.probability],
            "features": [
                {**f.to_dict(), "points": list(p)}
                for f, p in zip(self.features, self.points, strict=False)
            ],
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | ScorecardSection) -> Scorecard:
        """Read back :meth:`to_dict` output, or a profile's typed scorecard section."""
        if isinstance(raw, ScorecardSection):
            raw = raw.model_dump(mode="json")
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            found = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
            raise ConfigError(f"not a scorecard (expected format {FORMAT!r}; found {found!r})")
        features = tuple(Feature.from_dict(f) for f in raw["features"])
        points = tuple(tuple(int(p) for p in f["points"]) for f in raw["features"])
        return cls(
            features=features,
            points=points,
            base=int(raw["base"]),
            probability=tuple(float(p) for p in raw.get("probability", ())),
            calibration=str(raw.get("calibration", "none")),
            target=str(raw.get("target", "best")),
            info=dict(raw.get("info", {})),
        )


def integer_points(
    weights: Sequence[np.ndarray], shares: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], int, float]:
    """Turn per-bin log-odds weights into integer points whose possible scores run 0–100.

    Each feature's span (best bin − worst bin) gets its share of 100 by largest remainder, so the
    spans add up to exactly 100; bins are placed within the span by rounding, and then shifted by
    the feature's (rounded) average over ``shares`` so that points read relative to a typical
    account. The shifts add up to the base.

    Returns
    -------
    points : list of int arrays, one per feature
    base : int
    scale : float
        Log-odds per score point (0 when no feature separates anything).
    """
    spans = np.array([float(w.max() - w.min()) if len(w) else 0.0 for w in weights])
    total = float(spans.sum())
    if total <= 1e-9:  # no feature separates anything (log-odds spans below noise)
        return [np.zeros(len(w), dtype=np.int64) for w in weights], SCORE_MAX // 2, 0.0
    int_spans = _largest_remainder(SCORE_MAX * spans / total, SCORE_MAX)
    points, base = [], 0
    for w, s, span, int_span in zip(weights, shares, spans, int_spans, strict=False):
        rel = (w - w.min()) / span if span > 0 else np.zeros(len(w))
        raw = np.rint(rel * int_span).astype(np.int64)
        offset = int(np.rint(float(np.dot(raw, s)) / max(float(s.sum()), 1e-300)))
        points.append(raw - offset)
        base += offset
    return points, base, total / SCORE_MAX


def _largest_remainder(quotas: np.ndarray, total: int) -> np.ndarray:
    floors = np.floor(quotas).astype(np.int64)
    short = total - int(floors.sum())
    order = np.argsort(-(quotas - floors), kind="stable")
    floors[order[:short]] += 1
    return floors


def sigmoid_table(intercept: float, slope: float) -> tuple[float, ...]:
    """Probabilities σ(intercept + slope · score) for scores 0…100."""
    logits = (min(max(intercept + slope * s, -700.0), 700.0) for s in range(SCORE_MAX + 1))
    return tuple(1 / (1 + math.exp(-z)) for z in logits)
