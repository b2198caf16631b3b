"""Cost of exact (batch-independent) similarity products against the float32 products they replace.

Usage: PYTHONPATH=src python bench/bench_dots.py [--rows 200000]

Both sides run in this process on the same vectors, in the blocks rank.py and text.py use: the
scorecard-space likeness (76 dimensions × 500 best customers, top 5) and the description part
(128 dimensions × 500 best customers, top 10). Prints seconds and new/old ratios, and a third
variant evaluated for issue 30: integer components in float32 (``_int``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from icpkit.lookalikes.dots import dots, fixed, mean_top


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _old(rows: np.ndarray, best: np.ndarray, k: int, cells: int) -> np.ndarray:
    m = best.shape[1]
    out = np.empty(len(rows))
    step = max(1, cells // m)
    for s in range(0, len(rows), step):
        block = rows[s : s + step] @ best
        block.sort(axis=1)
        out[s : s + step] = block[:, m - k :].mean(axis=1)
    return out


def _new(rows: np.ndarray, best: np.ndarray, k: int, cells: int) -> np.ndarray:
    m = best.shape[1]
    out = np.empty(len(rows))
    step = max(1, cells // m)
    b = fixed(best.T).T
    for s in range(0, len(rows), step):
        block = dots(fixed(rows[s : s + step]), b)
        block.sort(axis=1)
        out[s : s + step] = mean_top(block[:, m - k :], k)
    return out


_QSCALE = (
    4000.0  # (4000 + √128 / 2)² < 2²⁴: every partial sum of integer products is exact in float32
)


def _int(rows: np.ndarray, best: np.ndarray, k: int, cells: int) -> np.ndarray:
    """Idea evaluated, not in the product: components rounded to integers (unit vectors × 4000)
    held in float32. Products and every partial sum are whole numbers below 2²⁴, so float32 BLAS
    adds them exactly in any order (batch-independent) at sgemm speed; the price is the rounding
    of each component to 1/8000, a cosine error of up to about √dims / 4000."""
    m = best.shape[1]
    out = np.empty(len(rows))
    step = max(1, cells // m)
    b = np.rint(best * _QSCALE).astype(np.float32)
    for s in range(0, len(rows), step):
        q = np.rint(rows[s : s + step] * _QSCALE).astype(np.float32)
        block = (q @ b) * np.float32(1 / _QSCALE**2)
        block.sort(axis=1)
        out[s : s + step] = mean_top(block[:, m - k :], k)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for name, dim, k in (
        ("likeness (76 dims, top 5)", 76, 5),
        ("description (128 dims, top 10)", 128, 10),
    ):
        rows, best = _unit(rng, args.rows, dim), _unit(rng, 500, dim).T.copy()
        times = {}
        variants = (
            ("float32", _old, 4_000_000),
            ("exact", _new, 2_000_000),
            ("int", _int, 4_000_000),
        )
        for label, fn, cells in variants:
            best_t = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                result = fn(rows, best, k, cells)
                best_t = min(best_t, time.perf_counter() - t)
            times[label] = (best_t, result)
        (t_old, r_old), (t_new, r_new) = times["float32"], times["exact"]
        t_int, r_int = times["int"]
        print(
            f"{name}: float32 {t_old:.3f} s, exact {t_new:.3f} s ({t_new / t_old:.2f}× the time); "
            f"max |difference| {np.abs(r_old - r_new).max():.1e}; integers in float32 "
            f"{t_int:.3f} s ({t_int / t_new:.2f}× exact, {t_int / t_old:.2f}× float32), max "
            f"|difference| from exact {np.abs(r_int - r_new).max():.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
