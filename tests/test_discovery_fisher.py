"""``discovery.statistics.fisher_two_sided`` is scipy's two-sided Fisher exact test, bit for bit.

Issue 30 (build speed): single traits test a few hundred 2×2 tables per build, and scipy's
``fisher_exact`` spends most of its time in ``rv_discrete``'s argument handling; the replica calls
the same boost functions in the same order. Differential check on random and edge-case tables.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from icpkit.discovery.statistics import fisher_two_sided


def _tables(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        scale = int(rng.choice([3, 10, 40, 300, 3000]))
        out.append(rng.integers(0, scale, size=(2, 2)))
    # zeros in a row or column, a single count, symmetric tables (p = 1 at the mode)
    out += [np.array(t) for t in ([[0, 0], [3, 4]], [[0, 5], [0, 7]], [[1, 0], [0, 0]],
                                  [[5, 5], [5, 5]], [[0, 9], [9, 0]], [[12, 0], [0, 12]],
                                  [[1, 1000], [50, 20]], [[2900, 10], [3, 2800]])]  # fmt: skip
    return out


def test_same_p_value_as_scipy_bit_for_bit() -> None:
    for table in _tables(11, 600):
        expected = float(stats.fisher_exact(table).pvalue)
        assert fisher_two_sided(table) == expected, table.tolist()
