"""The condition bitsets and the search's counts, against plain boolean masks (issue 30's faster
paths must give the same bits and the same counts as the simple ones)."""

from __future__ import annotations

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig
from icpkit.discovery import condition_table
from icpkit.discovery.bitsets import pack, popcount
from icpkit.discovery.search import _BitsetCounter
from icpkit.rules import Segment


def _frame(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    num = rng.lognormal(2, 1, n).round(1)
    num[rng.random(n) < 0.1] = np.nan
    return pl.DataFrame(
        {
            "cat": pl.Series(rng.choice(["a", "b", "c", None], n).tolist(), dtype=pl.Utf8),
            "num": num,
            "small": rng.integers(0, 3, n),
            "tags": [["x", "y"][: int(k)] for k in rng.integers(0, 3, n)],
        }
    )


def test_condition_bits_equal_packed_masks_with_nulls_nan_and_slices() -> None:
    settings = DiscoveryConfig.model_validate({"min_support": 0.01, "min_support_count": 1})
    # odd lengths (padding bits) and a slice that does not start on a byte (Arrow offset)
    for frame in (_frame(1003, 0), _frame(2000, 1).slice(13, 1501)):
        table = condition_table(frame, ["cat", "num", "small", "tags"], settings)
        assert len(table) > 5
        masks = np.stack([Segment((c,)).mask(frame) for c in table.conditions])
        assert np.array_equal(table.bits, pack(masks))


def test_counter_layout_gives_the_counts_of_plain_masks() -> None:
    settings = DiscoveryConfig.model_validate({"min_support": 0.01, "min_support_count": 1})
    frame = _frame(5000, 2)
    table = condition_table(frame, ["cat", "num", "small", "tags"], settings)
    rng = np.random.default_rng(3)
    target = rng.random(frame.height) < 0.2
    rows = rng.random(frame.height) < 0.9
    counter = _BitsetCounter(table, target, rows)
    singles = counter.singles()
    order = rng.permutation(len(table))
    counter.layout(order)
    masks = np.stack([Segment((c,)).mask(frame) for c in table.conditions])
    assert np.array_equal(singles.size, (masks & rows).sum(axis=1))
    assert np.array_equal(singles.positives, (masks & rows & target).sum(axis=1))
    for prefix in ((int(order[0]),), (int(order[1]), int(order[4]))):
        state = counter.state(prefix)
        cover = rows & np.logical_and.reduce([masks[j] for j in prefix])
        assert popcount(state) == cover.sum()
        # contiguous (ANDed in place), sparse (gathered) and single candidates
        for cand in (order[5:], order[5::7], order[-1:]):
            counts = counter.children(state, cand)
            assert np.array_equal(counts.size, (masks[cand] & cover).sum(axis=1))
            assert np.array_equal(counts.positives, (masks[cand] & cover & target).sum(axis=1))
            negatives = counter.part(state, cand, positive=False)
            assert np.array_equal(negatives, (masks[cand] & cover & ~target).sum(axis=1))
