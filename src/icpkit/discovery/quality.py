"""Quality functions of the segment search, behind one interface.

Each takes the counts of many candidate segments at once (numpy arrays) and returns their quality
and an optimistic estimate: an upper bound on the quality of any refinement of the segment, which
lets the search skip whole branches (pysubgroup's ``measures.py`` has the same shape).

Binary target (best customers): ``size`` accounts covered, ``positives`` of them in the target.
Numeric target (e.g. won revenue): ``deviation`` = Σ (y − mean) over covered accounts and
``excess`` = Σ max(y − mean, 0), the most any refinement can keep.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from icpkit.errors import ConfigError


@dataclass(frozen=True)
class Counts:
    """Per-candidate counts; ``positives`` for a binary target, ``deviation``/``excess`` numeric."""

    size: np.ndarray
    positives: np.ndarray | None = None
    deviation: np.ndarray | None = None
    excess: np.ndarray | None = None


@dataclass(frozen=True)
class Population:
    """The whole population the search runs on: its size and target base rate (or mean)."""

    size: int
    positives: int = 0
    mean: float = 0.0

    @property
    def base_rate(self) -> float:
        return self.positives / self.size if self.size else 0.0


class Quality(ABC):
    """How good a segment is for the target; vectorised over candidates."""

    name: str = ""
    numeric_target: bool = False

    @abstractmethod
    def evaluate(self, counts: Counts, population: Population) -> np.ndarray:
        """Quality of each candidate (higher is better; 0 = no better than everyone)."""

    @abstractmethod
    def optimistic_estimate(self, counts: Counts, population: Population) -> np.ndarray:
        """An upper bound on the quality of every refinement of each candidate."""


def _binary(counts: Counts) -> tuple[np.ndarray, np.ndarray]:
    if counts.positives is None:
        raise ConfigError("this quality function needs a yes/no target (best customers)")
    return counts.size.astype(np.float64), counts.positives.astype(np.float64)


class WRAcc(Quality):
    """Weighted relative accuracy: coverage × (precision − base rate).

    A refinement can at best keep all its positives and drop every other account, hence the bound
    positives/N × (1 − base rate).
    """

    name = "wracc"

    def evaluate(self, counts: Counts, population: Population) -> np.ndarray:
        size, pos = _binary(counts)
        return (pos - size * population.base_rate) / population.size

    def optimistic_estimate(self, counts: Counts, population: Population) -> np.ndarray:
        _, pos = _binary(counts)
        return pos * (1.0 - population.base_rate) / population.size


class BinomialZ(Quality):
    """The binomial test statistic: (positives − size·p0) / sqrt(size·p0·(1 − p0)).

    It favours segments that are both large and pure. For a fixed number of positives it is largest
    when the segment holds nothing else, and then grows with that number, so the bound is
    sqrt(positives)·(1 − p0)/sqrt(p0(1 − p0)).
    """

    name = "binomial"

    def evaluate(self, counts: Counts, population: Population) -> np.ndarray:
        size, pos = _binary(counts)
        p0 = population.base_rate
        scale = np.maximum(np.sqrt(np.maximum(size, 1.0) * p0 * (1.0 - p0)), 1e-12)
        return np.where(size > 0, (pos - size * p0) / scale, 0.0)

    def optimistic_estimate(self, counts: Counts, population: Population) -> np.ndarray:
        _, pos = _binary(counts)
        p0 = population.base_rate
        return np.sqrt(pos) * (1.0 - p0) / max(np.sqrt(p0 * (1.0 - p0)), 1e-12)


class MeanShift(Quality):
    """Mean shift of a numeric target weighted by coverage: size/N × (mean in segment − mean).

    Equal to Σ (y − mean) / N over the segment; a refinement can at best keep only the accounts
    above the mean, so the bound is Σ max(y − mean, 0) / N.
    """

    name = "mean_shift"
    numeric_target = True

    def evaluate(self, counts: Counts, population: Population) -> np.ndarray:
        if counts.deviation is None:
            raise ConfigError("the mean_shift quality needs a numeric target (e.g. won revenue)")
        return counts.deviation / population.size

    def optimistic_estimate(self, counts: Counts, population: Population) -> np.ndarray:
        if counts.excess is None:
            raise ConfigError("the mean_shift quality needs a numeric target (e.g. won revenue)")
        return counts.excess / population.size


QUALITIES: dict[str, type[Quality]] = {
    "wracc": WRAcc,
    "binomial": BinomialZ,
    "mean_shift": MeanShift,
}


def quality_named(name: str) -> Quality:
    """The quality function with this name (``wracc``, ``binomial``, ``mean_shift``)."""
    if name not in QUALITIES:
        raise ConfigError(f"discovery.quality must be one of {sorted(QUALITIES)}; got {name!r}")
    return QUALITIES[name]()
