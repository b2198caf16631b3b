"""Lookalike similarities do not depend on how the universe is cut into batches."""

from __future__ import annotations

import numpy as np

from icpkit.lookalikes.dots import dots, fixed, mean_top
from icpkit.lookalikes.text import TextPart


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_rows_dot_products_are_the_same_bits_in_any_block() -> None:
    rng = np.random.default_rng(3)
    a, b = _unit(rng, 3000, 128), _unit(rng, 400, 128)
    rows, best = fixed(a), fixed(b).T
    whole = dots(rows, best)
    for size in (1, 7, 250, 1999):  # the BLAS kernel and its summation order change with shape
        parts = np.vstack([dots(rows[s : s + size], best) for s in range(0, len(rows), size)])
        assert np.array_equal(parts, whole), size
    assert (
        np.abs(whole - a.astype(np.float64) @ b.T.astype(np.float64)).max() < 1e-6
    )  # the same cosines, to what the scores show


def test_mean_top_does_not_depend_on_the_other_rows() -> None:
    block = np.random.default_rng(1).random((500, 60))
    whole = mean_top(block, 5)
    assert np.array_equal(
        np.concatenate([mean_top(block[i : i + 1], 5) for i in range(500)]), whole
    )
    assert np.allclose(whole, np.sort(block, axis=1)[:, -5:].mean(axis=1))


def test_text_score_of_a_templated_description_is_the_same_streamed_or_whole() -> None:
    """Templated descriptions give many equal similarities in the reference: one ulp of
    difference between a batch's product and the reference's moved text_score by 0.24."""
    rng = np.random.default_rng(7)
    best = _unit(rng, 40, 128)
    templates = _unit(rng, 30, 128)
    universe = templates[rng.integers(0, 30, 6000)]  # each description repeated ~200 times
    part = TextPart(best, np.zeros(1), close_at=0.9, neighbours=10, weight=0.5)
    reference, _ = part._compare(universe[:5000])
    part.reference = np.sort(reference)
    whole, _ = part._compare(universe)
    streamed = np.concatenate(
        [part._compare(universe[s : s + 250])[0] for s in range(0, 6000, 250)]
    )
    assert np.array_equal(streamed, whole)
    assert np.array_equal(whole[:5000], reference)
    score = np.searchsorted(part.reference, whole) / len(part.reference)
    assert np.array_equal(np.searchsorted(part.reference, streamed) / len(part.reference), score)
