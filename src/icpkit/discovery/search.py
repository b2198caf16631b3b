"""Segment search: exhaustive depth-first search over conjunctions, pruned by optimistic estimates.

The conditions are numbered by their own quality (best first) so strong segments are met early and
the pruning threshold — the k-th best quality so far — rises fast. Every set of conditions is
visited at most once (children only add conditions with a higher number, never a second condition
on the same attribute). A branch is cut when its optimistic estimate cannot beat the threshold or
its support is below the minimum: both only fall as conditions are added, so the result is the
exact top-k, as an exhaustive search would give.

All children of a segment are counted at once: AND of the segment's bitset with every remaining
condition's bitset, then popcount (binary target) — or one matrix product (numeric target).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import full, pack, popcount
from icpkit.discovery.quality import Counts, Population, Quality
from icpkit.errors import ConfigError
from icpkit.rules import Segment

# Children are counted in blocks of this many words × conditions to bound memory at 1M rows.
_BLOCK_WORDS = 4_000_000


@dataclass(frozen=True)
class SearchTask:
    """Everything one search needs.

    ``target`` is a boolean array (binary qualities) or a float array (numeric qualities), aligned
    with the rows of ``table``. ``top_k`` segments are kept; ``min_support`` is a row count.
    """

    table: ConditionTable
    target: np.ndarray
    quality: Quality
    max_depth: int = 3
    min_support: int = 10
    top_k: int = 20
    min_quality: float = 0.0


@dataclass(frozen=True)
class Candidate:
    """One segment found by the search with the counts it was scored on."""

    segment: Segment
    indices: tuple[int, ...]
    quality: float
    size: int
    positives: float


@dataclass(frozen=True)
class SearchResult:
    """The top-k candidates, best first, and how much work the search did."""

    candidates: tuple[Candidate, ...]
    population: Population
    n_evaluated: int
    n_expanded: int
    n_conditions: int
    quality: str = ""
    notes: tuple[str, ...] = field(default=())


class _BitsetCounter:
    """Counts for a yes/no target: popcount of (segment AND condition) and of (… AND target)."""

    def __init__(self, table: ConditionTable, target: np.ndarray) -> None:
        self.bits = table.bits
        self.target_bits = pack(target.astype(bool))
        self.root = full(table.n_rows)

    def children(
        self, state: np.ndarray, cand: np.ndarray
    ) -> tuple[Counts, Callable[[int], np.ndarray]]:
        step = max(1, _BLOCK_WORDS // max(1, state.size))
        child = np.empty((cand.size, state.size), dtype=np.uint64)
        size = np.empty(cand.size, dtype=np.int64)
        pos = np.empty(cand.size, dtype=np.int64)
        masked_target = state & self.target_bits
        for start in range(0, cand.size, step):
            block = cand[start : start + step]
            out = child[start : start + block.size]
            np.bitwise_and(self.bits[block], state, out=out)
            size[start : start + block.size] = popcount(out)
            pos[start : start + block.size] = popcount(self.bits[block] & masked_target)
        return Counts(size=size, positives=pos), lambda i: child[i]


class _NumericCounter:
    """Counts for a numeric target: sums of deviations from the mean by matrix product."""

    def __init__(self, table: ConditionTable, target: np.ndarray) -> None:
        self.matrix = np.column_stack([table.mask(j) for j in range(len(table))]).astype(np.float32)
        deviation = target - float(np.mean(target))
        self.deviation = deviation
        self.excess = np.maximum(deviation, 0.0)
        self.root = np.ones(table.n_rows, dtype=bool)

    def children(
        self, state: np.ndarray, cand: np.ndarray
    ) -> tuple[Counts, Callable[[int], np.ndarray]]:
        sub = self.matrix[state][:, cand]
        counts = Counts(
            size=sub.sum(axis=0, dtype=np.float64).astype(np.int64),
            deviation=self.deviation[state] @ sub.astype(np.float64),
            excess=self.excess[state] @ sub.astype(np.float64),
        )
        return counts, lambda i: state & (self.matrix[:, cand[i]] > 0)


class _TopK:
    """The k best (quality, indices) seen so far, as a min-heap."""

    def __init__(self, k: int, floor: float) -> None:
        self.k = k
        self.floor = floor
        self.heap: list[tuple[float, tuple[int, ...], int, float]] = []

    @property
    def threshold(self) -> float:
        return self.heap[0][0] if len(self.heap) >= self.k else self.floor

    def offer(self, quality: float, indices: tuple[int, ...], size: int, positives: float) -> None:
        item = (quality, indices, size, positives)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, item)
        elif quality > self.heap[0][0]:
            heapq.heapreplace(self.heap, item)


class DepthFirstSearch:
    """Exhaustive depth-first search with optimistic-estimate pruning; ``run(task)``."""

    def run(self, task: SearchTask) -> SearchResult:
        """Find the ``task.top_k`` best segments of at most ``task.max_depth`` conditions."""
        _check(task)
        population = _population(task)
        counter = (_NumericCounter if task.quality.numeric_target else _BitsetCounter)(
            task.table, task.target
        )
        self._task, self._population, self._counter = task, population, counter
        self._top = _TopK(task.top_k, task.min_quality)
        self._evaluated = self._expanded = 0
        order = self._order_conditions()
        self._rank = np.empty(order.size, dtype=np.int64)
        self._rank[order] = np.arange(order.size)
        self._expand(counter.root, (), order, 1)
        ranked = sorted(self._top.heap, key=lambda item: (-item[0], item[1]))
        candidates = tuple(
            Candidate(
                segment=Segment(tuple(task.table.conditions[i] for i in idx)),
                indices=idx,
                quality=float(q),
                size=int(size),
                positives=float(pos),
            )
            for q, idx, size, pos in ranked
        )
        return SearchResult(
            candidates,
            population,
            self._evaluated,
            self._expanded,
            len(task.table),
            task.quality.name,
        )

    def _order_conditions(self) -> np.ndarray:
        """Condition numbers, best single condition first (raises the threshold early)."""
        all_idx = np.arange(len(self._task.table))
        counts, _ = self._counter.children(self._counter.root, all_idx)
        quality = self._task.quality.evaluate(counts, self._population)
        return all_idx[np.argsort(-quality, kind="stable")]

    def _expand(
        self, state: np.ndarray, prefix: tuple[int, ...], order: np.ndarray, depth: int
    ) -> None:
        task = self._task
        cand = self._allowed(prefix, order)
        if cand.size == 0:
            return
        self._expanded += 1
        counts, child_of = self._counter.children(state, cand)
        self._evaluated += cand.size
        supported = counts.size >= task.min_support
        quality = task.quality.evaluate(counts, self._population)
        for i in np.flatnonzero(supported & (quality > self._top.threshold)):
            self._top.offer(
                float(quality[i]),
                _key(prefix, int(cand[i])),
                int(counts.size[i]),
                _positives(counts, int(i)),
            )
        if depth >= task.max_depth:
            return
        bound = task.quality.optimistic_estimate(counts, self._population)
        for i in np.argsort(-bound, kind="stable"):
            if not supported[i]:
                continue
            if bound[i] <= self._top.threshold:
                break  # sorted: no later child can do better
            self._expand(child_of(int(i)), (*prefix, int(cand[i])), order, depth + 1)

    def _allowed(self, prefix: tuple[int, ...], order: np.ndarray) -> np.ndarray:
        """Conditions after the prefix's last in ``order``, on attributes it does not use yet."""
        if not prefix:
            return order
        after = order[self._rank[prefix[-1]] + 1 :]
        used = self._task.table.attr_index[list(prefix)]
        return after[~np.isin(self._task.table.attr_index[after], used)]


def _key(prefix: tuple[int, ...], j: int) -> tuple[int, ...]:
    return tuple(sorted((*prefix, j)))


def _positives(counts: Counts, i: int) -> float:
    if counts.positives is not None:
        return float(counts.positives[i])
    return float(counts.deviation[i]) if counts.deviation is not None else 0.0


def _population(task: SearchTask) -> Population:
    n = int(task.target.size)
    if task.quality.numeric_target:
        return Population(size=n, mean=float(np.mean(task.target)) if n else 0.0)
    return Population(size=n, positives=int(np.count_nonzero(task.target)))


def _check(task: SearchTask) -> None:
    if task.target.shape != (task.table.n_rows,):
        raise ConfigError(
            f"the search target has {task.target.shape} values; expected one per row "
            f"({task.table.n_rows})"
        )
    if task.quality.numeric_target and not np.all(np.isfinite(task.target.astype(float))):
        raise ConfigError("a numeric search target must be finite for every account")
    if not 1 <= task.max_depth <= 3:
        raise ConfigError(f"max_depth must be 1, 2 or 3; got {task.max_depth}")
