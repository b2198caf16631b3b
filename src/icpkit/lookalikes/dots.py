"""Dot products of unit vectors that do not depend on how the rows are cut into blocks.

A float32 matrix product gives a row's dot products to the last bit only for one block shape: the
BLAS kernel (and its order of summation) changes with the number of rows, so the same company
streamed in a batch of 250 rows or in the whole frame got similarities one ulp apart. Through
``text_score`` (the share of a reference whose similarity is below the row's, where templated
descriptions give many exactly equal values) one ulp moved a row by 12 reference places, 0.24
points, and flipped its rounded ``rank_score``: streamed and whole rankings differed.

Here each component is rounded to a multiple of 2⁻²⁵ and held in float64. A product of two such
components is an integer multiple of 2⁻⁵⁰ and, for unit vectors, every partial sum stays below
2⁵³ of those units (Cauchy–Schwarz), so float64 adds them exactly in any order: the result is the
same bits whatever the block, the kernel or the number of threads (then rounded to float32 cell
by cell, which does not depend on the block either). The rounding moves a cosine by
at most about 2⁻²⁵·√dims (3·10⁻⁷ at 128 dimensions), below what the scores show.
"""

from __future__ import annotations

import numpy as np

_SCALE = 2.0**25


def fixed(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors (rows) as float64 multiples of 2⁻²⁵, scaled to integers."""
    return np.rint(np.asarray(vectors, dtype=np.float64) * _SCALE)


def dots(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``rows @ columns`` of :func:`fixed` vectors as float32 cosines: the float64 product is
    exact, so independent of blocking, and its rounding to float32 is per cell (float32 sorts
    five times faster, and holds what a cosine needs)."""
    return ((rows @ columns) * (1.0 / (_SCALE * _SCALE))).astype(np.float32)


def mean_top(block: np.ndarray, k: int) -> np.ndarray:
    """Mean of the ``k`` largest values of each row, summed in one fixed order (ascending), so
    a row's mean does not depend on the other rows of its block."""
    m = block.shape[1]
    top = np.partition(block, m - k, axis=1)[:, m - k :] if k < m else block
    top = np.sort(top, axis=1).astype(np.float64)
    total = top[:, 0].copy()
    for j in range(1, top.shape[1]):
        total += top[:, j]
    return total / top.shape[1]
