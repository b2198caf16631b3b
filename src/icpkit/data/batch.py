"""Column-wise work on wide frames in bounded batches.

One polars ``select`` with tens of thousands of expressions is planned in super-linear time; the
same expressions in batches of ``BATCH`` keep ``check`` and ``init`` linear in the number of
columns (bench/bench_wide.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

BATCH = 200


def scalars(frame: pl.DataFrame, exprs: Sequence[pl.Expr]) -> list[object]:
    """The one-row results of aggregating ``exprs`` over ``frame``, in order, batch by batch."""
    out: list[object] = []
    for start in range(0, len(exprs), BATCH):
        out += list(frame.select(exprs[start : start + BATCH]).row(0))
    return out


def with_columns(frame: pl.DataFrame, exprs: Sequence[pl.Expr]) -> pl.DataFrame:
    """``frame.with_columns(exprs)``, batch by batch."""
    for start in range(0, len(exprs), BATCH):
        frame = frame.with_columns(exprs[start : start + BATCH])
    return frame
