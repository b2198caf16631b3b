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
import itertools
from dataclasses import dataclass, field

import numpy as np

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import full, n_words, pack, popcount, unpack
from icpkit.discovery.quality import Counts, Population, Quality
from icpkit.errors import ConfigError
from icpkit.rules import Segment

# Children are counted in tiles of at most this many candidate rows × _CHUNK_WORDS words, so the
# AND/popcount passes that follow the gather run in the core's cache instead of main memory
# (measured: 25-30 % less CPU at 1M accounts than one pass over whole rows).
_CHUNK_WORDS = 1024
_TILE_ROWS = 256
_LAYOUT_BATCH = 32  # conditions unpacked at once when laying out the rows (32 MB at 1M)


@dataclass(frozen=True)
class SearchTask:
    """Everything one search needs.

    ``target`` is a boolean array (binary qualities) or a float array (numeric qualities), aligned
    with the rows of ``table``. ``top_k`` segments are kept; ``min_support`` is a row count.
    ``rows`` (boolean, optional) restricts the search to those rows: the others count nowhere, not
    in a segment and not in the population (sequential covering removes the rows a reported family
    covers this way, without rebuilding the bitsets).
    """

    table: ConditionTable
    target: np.ndarray
    quality: Quality
    max_depth: int = 3
    min_support: int = 10
    top_k: int = 20
    min_quality: float = 0.0
    rows: np.ndarray | None = None


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
    """Counts for a yes/no target: popcount of (segment AND condition), split by the target.

    The rows are laid out positives first, each part packed on its own, so a word holds positive
    rows only or negative rows only: one AND and one popcount per word give both the size and
    the positives of every child (counts do not depend on the order of rows). Rows outside
    ``rows`` are left out of the layout altogether. The words are kept in chunks (condition ×
    words, contiguous) so a tile of candidates is gathered from one chunk and then ANDed and
    counted while in cache.
    """

    def __init__(
        self, table: ConditionTable, target: np.ndarray, rows: np.ndarray | None = None
    ) -> None:
        kept = np.ones(table.n_rows, dtype=bool) if rows is None else rows.astype(bool)
        hit = target.astype(bool)
        positives, negatives = np.flatnonzero(hit & kept), np.flatnonzero(~hit & kept)
        n_cond = len(table)
        pos_words, neg_words = n_words(positives.size), n_words(negatives.size)
        self.bits = np.empty((n_cond, pos_words + neg_words), dtype=np.uint64)
        for start in range(0, n_cond, _LAYOUT_BATCH):
            masks = unpack(table.bits[start : start + _LAYOUT_BATCH], table.n_rows)
            block = self.bits[start : start + _LAYOUT_BATCH]
            block[:, :pos_words] = pack(masks[:, positives])
            block[:, pos_words:] = pack(masks[:, negatives])
        self.root = np.concatenate([full(positives.size), full(negatives.size)])
        # (first word, last word, positive?) of each chunk; no chunk straddles the two parts
        self.spans: list[tuple[int, int, bool]] = []
        for lo, hi, positive in ((0, pos_words, True), (pos_words, pos_words + neg_words, False)):
            pieces = -(-(hi - lo) // _CHUNK_WORDS)
            edges = np.linspace(lo, hi, pieces + 1).astype(int)
            self.spans += [(int(x), int(y), positive) for x, y in itertools.pairwise(edges)]
        self.chunks = [np.ascontiguousarray(self.bits[:, lo:hi]) for lo, hi, _ in self.spans]
        self.width = max((hi - lo for lo, hi, _ in self.spans), default=1)

    def state(self, indices: tuple[int, ...]) -> np.ndarray:
        """The cover of a set of conditions."""
        bits = self.root
        for j in indices:
            bits = bits & self.bits[j]
        return bits

    def children(self, state: np.ndarray, cand: np.ndarray) -> Counts:
        size = np.zeros(cand.size, dtype=np.int64)
        pos = np.zeros(cand.size, dtype=np.int64)
        rows = max(1, min(_TILE_ROWS, cand.size))
        words = np.empty(rows * self.width, dtype=np.uint64)
        ones = np.empty(rows * self.width, dtype=np.uint8)
        touched = [k for k, (lo, hi, _) in enumerate(self.spans) if state[lo:hi].any()]
        for start in range(0, cand.size, rows):
            block = cand[start : start + rows]
            size_block, pos_block = size[start : start + rows], pos[start : start + rows]
            for k in touched:
                lo, hi, positive = self.spans[k]
                shape = (block.size, hi - lo)
                tile = words[: block.size * (hi - lo)].reshape(shape)
                # gather (mode="clip": numpy buffers `out` under the default "raise"), AND, count
                np.take(self.chunks[k], block, axis=0, out=tile, mode="clip")
                np.bitwise_and(tile, state[lo:hi], out=tile)
                counts = popcount(tile, ones[: tile.size].reshape(shape))
                size_block += counts
                if positive:
                    pos_block += counts
        return Counts(size=size, positives=pos)


class _NumericCounter:
    """Counts for a numeric target: sums of deviations from the mean by matrix product."""

    def __init__(
        self, table: ConditionTable, target: np.ndarray, rows: np.ndarray | None = None
    ) -> None:
        self.matrix = np.column_stack([table.mask(j) for j in range(len(table))])
        self.root = np.ones(table.n_rows, dtype=bool) if rows is None else rows.astype(bool)
        deviation = target - (float(np.mean(target[self.root])) if self.root.any() else 0.0)
        self.deviation = deviation
        self.excess = np.maximum(deviation, 0.0)

    def state(self, indices: tuple[int, ...]) -> np.ndarray:
        return np.logical_and.reduce([self.root, *(self.matrix[:, j] for j in indices)])

    def children(self, state: np.ndarray, cand: np.ndarray) -> Counts:
        sub = self.matrix[state][:, cand].astype(np.float64)
        return Counts(
            size=sub.sum(axis=0).astype(np.int64),
            deviation=self.deviation[state] @ sub,
            excess=self.excess[state] @ sub,
        )


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
    """Exhaustive search of all conjunctions of up to three conditions, pruned; ``run(task)``.

    Level by level: single conditions, then every pair under a single condition whose optimistic
    estimate can still beat the k-th best, then every triple under such a pair. A triple
    {a, b, c} is only counted when the pairs {a, c} and {b, c} could each still beat the
    threshold (their optimistic estimates bound the triple's), which removes most triples before
    any bitset is touched.
    """

    def run(self, task: SearchTask) -> SearchResult:
        """Find the ``task.top_k`` best segments of at most ``task.max_depth`` conditions."""
        _check(task)
        population = _population(task)
        counter = (_NumericCounter if task.quality.numeric_target else _BitsetCounter)(
            task.table, task.target, task.rows
        )
        self._task, self._population, self._counter = task, population, counter
        self._top = _TopK(task.top_k, task.min_quality)
        self._evaluated = self._expanded = 0
        order = np.arange(len(task.table))
        singles = self._keep((), order, counter.children(counter.root, order))
        if task.max_depth >= 2 and order.size:
            order = order[np.argsort(-self._quality(singles), kind="stable")]
            self._singles = singles
            pairs = self._pairs(order, singles)
            if task.max_depth >= 3:
                self._triples(order, pairs)
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

    def _quality(self, counts: Counts) -> np.ndarray:
        return self._task.quality.evaluate(counts, self._population)

    def _count(self, prefix: tuple[int, ...], cand: np.ndarray) -> Counts:
        """Count the children ``prefix + c`` for c in ``cand``."""
        return self._counter.children(self._counter.state(prefix), cand)

    def _keep(self, prefix: tuple[int, ...], cand: np.ndarray, counts: Counts) -> Counts:
        """Offer the counted children ``prefix + c`` to the top-k."""
        self._expanded += 1
        self._evaluated += cand.size
        supported = counts.size >= self._task.min_support
        quality = self._quality(counts)
        for i in np.flatnonzero(supported & (quality > self._top.threshold)):
            self._top.offer(
                float(quality[i]),
                _key(prefix, int(cand[i])),
                int(counts.size[i]),
                _positives(counts, int(i)),
            )
        return counts

    def _bound(self, counts: Counts) -> np.ndarray:
        """Optimistic estimates, -inf where the support is already too small."""
        bound = self._task.quality.optimistic_estimate(counts, self._population)
        return np.where(counts.size >= self._task.min_support, bound, -np.inf)

    def _pairs(self, order: np.ndarray, singles: Counts) -> np.ndarray:
        """Count every promising pair; returns the pairs' optimistic estimates (S × S, -inf when
        the pair was never counted because a member could not beat the threshold)."""
        n = len(self._task.table)
        attr = self._task.table.attr_index
        bound_1 = self._bound(singles)
        pair_bound = np.full((n, n), -np.inf)
        # pair sizes and positives, for the tighter triple bound of binary qualities
        self._pair_size = np.zeros((n, n), dtype=np.int64)
        self._pair_pos = np.zeros((n, n), dtype=np.int64)

        def finish(prefix: tuple[int, ...], cand: np.ndarray, counts: Counts) -> None:
            (a,) = prefix
            counts = self._keep(prefix, cand, counts)
            bound = self._bound(counts)
            pair_bound[a, cand] = bound
            pair_bound[cand, a] = bound
            if counts.positives is not None:
                self._pair_size[a, cand] = self._pair_size[cand, a] = counts.size
                self._pair_pos[a, cand] = self._pair_pos[cand, a] = counts.positives

        for rank, a in enumerate(order):
            if bound_1[a] <= self._top.threshold:
                continue
            later = order[rank + 1 :]
            cand = later[attr[later] != attr[a]]
            if cand.size:
                finish((int(a),), cand, self._count((int(a),), cand))
        return pair_bound

    def _triple_bound(self, a: int, b: int, cand: np.ndarray) -> np.ndarray:
        """Upper bound on the quality of {a, b, c} from pair and single counts.

        positives(abc) ≤ the least of its pairs' positives; by inclusion–exclusion the other
        accounts (negatives) number at least neg(ab) + neg(ac) − neg(a) (and likewise through b
        and c). WRAcc and the binomial z rise with positives and fall with negatives, so scoring
        (most positives, fewest negatives) bounds the triple.
        """
        size, pos = self._pair_size, self._pair_pos
        neg, single_neg = self._pair_neg, self._single_neg
        top = np.minimum(np.minimum(pos[a, b], pos[a, cand]), pos[b, cand])
        low = np.maximum.reduce(
            [
                np.zeros(cand.size, dtype=np.int64),
                neg[a, b] + neg[a, cand] - single_neg[a],
                neg[a, b] + neg[b, cand] - single_neg[b],
                neg[a, cand] + neg[b, cand] - single_neg[cand],
            ]
        )
        most = np.minimum(np.minimum(size[a, b], size[a, cand]), size[b, cand])
        bound = self._quality(Counts(size=top + low, positives=top))
        return np.where(most >= self._task.min_support, bound, -np.inf)

    def _triples(self, order: np.ndarray, pair_bound: np.ndarray) -> None:
        attr = self._task.table.attr_index
        if not self._task.quality.numeric_target:  # negatives for _triple_bound, once per search
            # (not once per pair: the S × S subtraction was most of the bound's time)
            self._pair_neg = self._pair_size - self._pair_pos
            self._single_neg = self._singles.size - np.asarray(self._singles.positives)
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        first, second = np.nonzero(np.triu(pair_bound > self._top.threshold, 1))
        by_bound = np.argsort(-pair_bound[first, second], kind="stable")
        for a, b in zip(first[by_bound], second[by_bound], strict=True):
            threshold = self._top.threshold
            if pair_bound[a, b] <= threshold:
                break  # sorted: no later pair can do better
            a, b = (a, b) if rank[a] < rank[b] else (b, a)
            later = order[rank[b] + 1 :]
            keep = (attr[later] != attr[a]) & (attr[later] != attr[b])
            keep &= (pair_bound[a, later] > threshold) & (pair_bound[b, later] > threshold)
            cand = later[keep]
            if cand.size and not self._task.quality.numeric_target:
                cand = cand[self._triple_bound(int(a), int(b), cand) > threshold]
            if cand.size:
                prefix = (int(a), int(b))
                self._keep(prefix, cand, self._count(prefix, cand))


def _key(prefix: tuple[int, ...], j: int) -> tuple[int, ...]:
    return tuple(sorted((*prefix, j)))


def _positives(counts: Counts, i: int) -> float:
    if counts.positives is not None:
        return float(counts.positives[i])
    return float(counts.deviation[i]) if counts.deviation is not None else 0.0


def _population(task: SearchTask) -> Population:
    target = task.target if task.rows is None else task.target[task.rows.astype(bool)]
    n = int(target.size)
    if task.quality.numeric_target:
        return Population(size=n, mean=float(np.mean(target)) if n else 0.0)
    return Population(size=n, positives=int(np.count_nonzero(target)))


def _check(task: SearchTask) -> None:
    if task.target.shape != (task.table.n_rows,):
        raise ConfigError(
            f"the search target has {task.target.shape} values; expected one per row "
            f"({task.table.n_rows})"
        )
    if task.quality.numeric_target and not np.all(np.isfinite(task.target.astype(float))):
        raise ConfigError("a numeric search target must be finite for every account")
    if task.rows is not None and task.rows.shape != (task.table.n_rows,):
        raise ConfigError(
            f"the search rows mask has {task.rows.shape}; expected ({task.table.n_rows},)"
        )
    if not 1 <= task.max_depth <= 3:
        raise ConfigError(f"max_depth must be 1, 2 or 3; got {task.max_depth}")
