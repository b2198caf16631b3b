"""Familiar bands beside the tiers: a calibrated 0–100 fit score and its band.

The scorecard's ``fit_score`` is additive points clipped to 0–100; its tier cuts are chosen so
that each tier holds its target share of accounts, so on a given workspace Tier 1 may start at
49. A MadKudu user (very good 85–100, good 70–84, medium 50–69, low < 50) or a 6sense user (strong
81+, moderate 50–80, weak < 50) reads "49" as low. ``calibrated_score`` re-reads the raw score on
the scale those users know, by a piecewise-linear map whose knots are the tier cuts:

===============  =======================
raw score        calibrated score
===============  =======================
0                0
Tier 3 cut       ``anchors[2]`` (50)
Tier 2 cut       ``anchors[1]`` (70)
Tier 1 cut       ``anchors[0]`` (85)
100              100
===============  =======================

Between knots the map is linear (rounded down to an integer), so it is monotone in the raw score (never reorders accounts),
and every account scoring at or above the Tier 1 cut reads at least 85 ("very good"): the band
edges follow the tiers' cuts, which are calibrated on the training accounts and checked on the
held-out ones (the backtest's win rate by tier). Cuts that coincide keep the higher anchor (a
score at the cut reads as the better band); a Tier 1 cut above 100 (unreachable) drops the last
knot. ``fit_band`` is the first band whose edge the calibrated score reaches (``bands.edges``).
Tiers keep their own rules (criteria, disqualifiers): a disqualified account may read "good" on
the score and still be Non-fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from icpkit.config import BandsConfig
from icpkit.scoring.tiers import TierCuts
from icpkit.vocab import SCORE_MAX

__all__ = ["DEFAULT_BANDS", "BandScale", "Bands", "calibrate", "calibrate_one"]


@dataclass(frozen=True)
class BandScale:
    """A band scale (names best first, least calibrated score of each band but the last) and the
    calibrated scores the three tier cuts map to."""

    names: tuple[str, ...] = ("very good", "good", "medium", "low")
    edges: tuple[int, ...] = (85, 70, 50)
    anchors: tuple[int, int, int] = (85, 70, 50)

    @classmethod
    def from_config(cls, config: BandsConfig | None) -> BandScale:
        if config is None:
            return cls()
        a1, a2, a3 = config.anchors
        return cls(tuple(config.names), tuple(config.edges), (a1, a2, a3))

    def knots(self, cuts: TierCuts) -> tuple[np.ndarray, np.ndarray]:
        """The (raw, calibrated) knots of the map for these tier cuts, raw strictly increasing."""
        points = [(0, 0), (cuts.tier3, self.anchors[2]), (cuts.tier2, self.anchors[1])]
        points.append((cuts.tier1, self.anchors[0]))
        if cuts.tier1 < SCORE_MAX:
            points.append((SCORE_MAX, SCORE_MAX))
        best: dict[int, int] = {}
        for raw, cal in points:
            best[raw] = max(cal, best.get(raw, cal))
        raws = sorted(best)
        return np.array(raws, dtype=float), np.array([best[r] for r in raws], dtype=float)

    def band_of(self, calibrated: np.ndarray) -> np.ndarray:
        """Band index per row (0 = the best band)."""
        edges = np.asarray(self.edges, dtype=float)
        # number of edges the score does NOT reach = index of its band
        return (np.asarray(calibrated, dtype=float)[:, None] < edges[None, :]).sum(axis=1)


DEFAULT_BANDS = BandScale()


@dataclass(frozen=True)
class Bands:
    """The calibrated score (0–100, integer) and band index of each row, with the scale."""

    calibrated: np.ndarray
    band: np.ndarray
    scale: BandScale

    @property
    def labels(self) -> list[str]:
        return [self.scale.names[int(i)] for i in self.band]


def _formula(scores: np.ndarray, cuts: TierCuts, scale: BandScale) -> np.ndarray:
    raws, cals = scale.knots(cuts)
    clipped = np.clip(np.asarray(scores, dtype=float), 0, SCORE_MAX)
    # rounded down: a score just below a cut never reads as the band that cut opens
    return np.floor(np.interp(clipped, raws, cals) + 1e-9).astype(np.int16)


@lru_cache(maxsize=256)
def _table(cuts: TierCuts, scale: BandScale) -> tuple[np.ndarray, np.ndarray]:
    """The calibrated score and band of every integer score 0–100 (scores are integers: a
    lookup, not the interpolation, per row)."""
    calibrated = _formula(np.arange(SCORE_MAX + 1), cuts, scale)
    return calibrated, scale.band_of(calibrated).astype(np.int8)


def calibrate(scores: np.ndarray, cuts: TierCuts, scale: BandScale | None = None) -> Bands:
    """Calibrated score and band of raw fit scores (see the module's table).

    Parameters
    ----------
    scores : numpy.ndarray
        Raw fit scores, 0–100 (integers, as the scorecard gives them; others are interpolated).
    cuts : TierCuts
        The profile's tier cuts (the knots of the map).
    scale : BandScale, optional
        Band names, edges and anchors; MadKudu's scale by default.
    """
    scale = scale or DEFAULT_BANDS
    values = np.asarray(scores)
    if np.issubdtype(values.dtype, np.integer):
        calibrated, band = _table(cuts, scale)
        index = np.clip(values, 0, SCORE_MAX)
        return Bands(calibrated[index], band[index], scale)
    calibrated = _formula(values, cuts, scale)
    return Bands(calibrated, scale.band_of(calibrated), scale)


def calibrate_one(score: int, cuts: TierCuts, scale: BandScale | None = None) -> tuple[int, str]:
    """``calibrate`` for one integer score (the API's record path): (calibrated score, band)."""
    scale = scale or DEFAULT_BANDS
    calibrated, band = _table(cuts, scale)
    at = min(max(int(score), 0), SCORE_MAX)
    return int(calibrated[at]), scale.names[int(band[at])]
