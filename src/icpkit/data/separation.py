"""How well one column alone separates an outcome, measured on rows it did not learn from.

Each row goes to one of ``FOLDS`` folds by a hash of its account id (so the estimate does not
depend on the order of the rows). A categorical column — or a numeric one cut into deciles — is
target-encoded on the other folds: each level's outcome rate, shrunk towards the base rate by
``SMOOTHING`` pseudo-rows, so a level seen a few times says little. The AUC counts only pairs of
rows from the same fold, scored by the same encoding: a level that holds nearly every row gets
the same score for all of them (AUC 0.5), never a score that sorts its own positives below its
own negatives. (The former leave-one-out rate did exactly that and made a yes/no flag with two
"yes" in thousands of rows read as a perfect separator.)

A numeric column is also read as it is (its values ranked, direction unknown, so the AUC is
folded to ≥ 0.5): the larger of the two is its separation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import polars as pl
from scipy.stats import rankdata

FOLDS = 5
SMOOTHING = 10.0
NUMERIC_BINS = 10
MIN_CLASS = 10
# The spread of the other columns' AUCs is never read as narrower than this (noise columns sit
# within a few hundredths of 0.5, which would make any real trait an "outlier").
MIN_SPREAD = 0.03


def folds_of(keys: pl.Series, k: int = FOLDS) -> np.ndarray:
    """Fold of each row from a hash of its key: the same row lands in the same fold in any order."""
    out = np.empty(len(keys), dtype=np.int64)
    for i, key in enumerate(keys.cast(pl.Utf8).fill_null("").to_list()):
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "little") % k
    return out


def row_keys(frame: pl.DataFrame) -> pl.Series:
    """The account id when there is one, else a hash of each row's content (order-free)."""
    if "account_id" in frame.columns:
        return frame["account_id"].cast(pl.Utf8)
    return frame.hash_rows(seed=7).cast(pl.Utf8)


def _pairs_auc(score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Mann–Whitney U of positives over negatives, number of pairs), ties count half."""
    n_pos = float(y.sum())
    n_neg = float(len(y) - n_pos)
    if n_pos == 0 or n_neg == 0:
        return 0.0, 0.0
    ranks = rankdata(score)
    return float(ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2), n_pos * n_neg


def _codes(column: pl.Series) -> np.ndarray:
    """Integer level of each row; missing is a level of its own."""
    if column.dtype.is_numeric() and column.drop_nulls().n_unique() > 20:
        values = column.cast(pl.Float64).to_numpy()
        filled = ~np.isnan(values)
        edges = np.unique(np.quantile(values[filled], np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1]))
        codes = np.searchsorted(edges, values, side="right")
        return np.where(filled, codes, len(edges) + 1)
    text = column.cast(pl.Utf8).fill_null("\x00missing")
    return text.rank("dense").cast(pl.Int64).to_numpy()


def encoded_auc(column: pl.Series, y: np.ndarray, fold: np.ndarray) -> float | None:
    """Held-out AUC of the column's K-fold target encoding (within-fold pairs only)."""
    codes = _codes(column)
    size = int(codes.max()) + 1
    u_total = pairs_total = 0.0
    for f in np.unique(fold):
        test = fold == f
        train = ~test
        if not train.any():
            continue
        base = float(y[train].mean())
        pos = np.bincount(codes[train], weights=y[train], minlength=size)
        n = np.bincount(codes[train], minlength=size)
        rate = (pos + SMOOTHING * base) / (n + SMOOTHING)
        u, pairs = _pairs_auc(rate[codes[test]], y[test])
        u_total += u
        pairs_total += pairs
    return u_total / pairs_total if pairs_total else None


def value_auc(column: pl.Series, y: np.ndarray) -> float | None:
    """AUC of a numeric column's own values on its filled rows, folded to ≥ 0.5."""
    if not column.dtype.is_numeric() or column.dtype == pl.Boolean:
        return None
    filled = column.is_not_null().to_numpy()
    target = y[filled]
    if target.sum() < MIN_CLASS or (len(target) - target.sum()) < MIN_CLASS:
        return None
    u, pairs = _pairs_auc(column.cast(pl.Float64).to_numpy()[filled], target)
    auc = u / pairs
    return max(auc, 1 - auc)


def held_out_auc(column: pl.Series, y: np.ndarray, fold: np.ndarray) -> float | None:
    """The column's single-column held-out AUC (None: too few of a class, or not readable)."""
    dtype = column.dtype
    if isinstance(dtype, pl.List | pl.Object) or dtype.is_temporal():
        return None
    if y.sum() < MIN_CLASS or (len(y) - y.sum()) < MIN_CLASS:
        return None
    if dtype.is_float():
        column = column.fill_nan(None)
    candidates = [encoded_auc(column, y, fold), value_auc(column, y)]
    found = [a for a in candidates if a is not None]
    return max(found) if found else None


def standing(aucs: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """Each column's (median AUC of the *other* columns, robust z of its own AUC above them).

    The z uses the other columns' median absolute deviation (×1.4826, at least ``MIN_SPREAD``), so
    one leaking column cannot hide itself by widening the spread it is measured against.
    """
    names = list(aucs)
    values = np.array([aucs[n] for n in names], dtype=float)
    out: dict[str, tuple[float, float]] = {}
    if len(values) < 4:
        return out
    for i, name in enumerate(names):
        others = np.delete(values, i)
        median = float(np.median(others))
        spread = max(1.4826 * float(np.median(np.abs(others - median))), MIN_SPREAD)
        out[name] = (median, (values[i] - median) / spread)
    return out
