"""The packed-key reason picker that bulk scoring used before ``explain.ranked_picks``: kept here,
out of the package, as the reference the differential tests compare the ranked picks against."""

from __future__ import annotations

import numpy as np

from icpkit.scoring.card import PARALLEL_ROWS, scoring_pool
from icpkit.scoring.explain import _TILE


def picks(
    points: np.ndarray,
    codes: np.ndarray,
    offsets: np.ndarray,
    top: int,
    none: int,
    parallel: bool = True,
) -> list[np.ndarray]:
    """Bin ids of the top reasons for, then against, per row (``none`` where fewer).

    Equal points list the earlier feature first. Each cell's points and global bin id are packed
    into one integer key (±points × 2^bits + none − id; bin ids grow with the feature), so keys
    are distinct within a row and the key gives the id back without a gather. The ``top``
    largest keys of a row are kept while its columns stream past (insert into a sorted run of
    ``top``: two element-wise min/max per place), a tile of rows at a time; long inputs are
    split over the thread pool when ``parallel``.
    """
    n, k = points.shape
    if k == 0:
        return [np.full(n, none, dtype=np.int64) for _ in range(2 * top)]
    bits = max(1, int(none).bit_length())
    largest = (int(np.abs(points).max(initial=0)) + 1) * (1 << bits)
    dtype = np.int16 if largest < 2**14 else np.int32 if largest < 2**30 else np.int64
    first_id = (none - offsets).astype(dtype)  # none − the global id of each feature's bin 0
    floor = np.iinfo(dtype).min
    out = [np.empty(n, dtype=np.int64) for _ in range(2 * top)]

    def run(lo: int, hi: int) -> None:
        m = hi - lo
        best = np.full((2 * top, m), floor, dtype=dtype)  # for: 0..top-1, against: top..
        key, low = np.empty(m, dtype=dtype), np.empty(m, dtype=dtype)
        for j in range(k):
            ids = np.subtract(first_id[j], codes[lo:hi, j], dtype=dtype)
            shifted = np.multiply(points[lo:hi, j], 1 << bits, dtype=dtype)
            for side, sign in ((0, np.add), (top, np.subtract)):
                sign(ids, shifted, out=key)
                for place in range(side, side + top):  # the key sinks to its place
                    np.minimum(best[place], key, out=low)
                    np.maximum(best[place], key, out=best[place])
                    key, low = low, key
        mask = (1 << bits) - 1
        for place in range(2 * top):
            ids = none - (best[place] & mask).astype(np.int64)
            ids[best[place] < (1 << bits)] = none  # no positive points left: no reason
            out[place][lo:hi] = ids

    tiles = [(lo, min(n, lo + _TILE)) for lo in range(0, n, _TILE)]
    if parallel and n >= PARALLEL_ROWS:
        list(scoring_pool().map(lambda t: run(*t), tiles))
    else:
        for lo, hi in tiles:
            run(lo, hi)
    return out
