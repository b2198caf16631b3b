"""Attribute preparation: which account columns describe a customer, and the conditions on them.

Every attribute becomes a small set of conditions a person can read: one ``=`` per frequent level of
a categorical column (rare levels pooled into one ``in (…)``), ranges between rounded quantile cut
points for a numeric column (every run of adjacent bins, so ``employees in [200, 2000)`` is one
condition), one ``contains`` per frequent tag of a multi-valued column, and ``is missing`` when
missingness is common enough to be shown in the single-trait profile.

A condition made only of "no answer" — ``is missing``, a placeholder level ("unknown", "other",
"n/a", "nonexistent"…, :mod:`icpkit.data.trait_words`) — describes the data, not the customer: it
stays in the single-trait profile but never enters the search (:func:`trait_conditions`), so no
criterion or disqualifier is made of it, whole or in part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
import pyarrow as pa

from icpkit.config import DiscoveryConfig
from icpkit.data.attributes import choose_attributes
from icpkit.data.trait_words import is_placeholder
from icpkit.discovery.bitsets import full, n_words, pack, unpack
from icpkit.rules import Condition, Segment

# Most levels pooled into one ``in (...)`` condition; longer lists stop reading as a trait.
_MAX_POOLED = 8
_MASK_BATCH = 32


@dataclass(frozen=True)
class ConditionTable:
    """The candidate conditions and which rows each covers, as packed bitsets.

    ``bits`` has shape (n_conditions, n_words): row j holds the rows condition j covers, 64 per
    uint64 word (see ``bitsets.pack``). ``attr_index[j]`` numbers the attribute of condition j, so
    the search never joins two conditions on the same attribute.
    """

    conditions: tuple[Condition, ...]
    bits: np.ndarray
    attr_index: np.ndarray
    n_rows: int

    def __len__(self) -> int:
        return len(self.conditions)

    @cached_property
    def index(self) -> dict[Condition, int]:
        """Row of each condition (computed once per table)."""
        return {c: j for j, c in enumerate(self.conditions)}

    @cached_property
    def level_rows(self) -> dict[tuple[str, object], int]:
        """Row of the ``attr = 'level'`` condition of every level that has one."""
        return {(c.attr, c.value): j for j, c in enumerate(self.conditions) if c.op == "eq"}

    @cached_property
    def all_rows(self) -> np.ndarray:
        """The bitset of every row."""
        return full(self.n_rows)

    def mask(self, j: int) -> np.ndarray:
        """The rows condition j covers, as a boolean array."""
        return unpack(self.bits[j], self.n_rows)


def attribute_columns(accounts: pl.DataFrame, settings: DiscoveryConfig | None = None) -> list[str]:
    """The columns of ``accounts`` that are customer attributes.

    One choice for discovery and the scorecard: :func:`icpkit.data.attributes.choose_attributes`
    (identifiers, names, domains, personal data by name and content, dates, constant columns,
    free or high-cardinality text left out; ``settings.attributes`` limits, ``settings.exclude``
    removes, ``settings.allow`` re-admits).

    Parameters
    ----------
    accounts : pl.DataFrame
        The accounts table.
    settings : DiscoveryConfig, optional
        The discovery settings.

    Returns
    -------
    list[str]
        Attribute column names in table order.
    """
    choice = choose_attributes(accounts, settings)
    # dates (re-admitted only by discovery.allow) are never segment conditions
    schema = accounts.schema
    return [c for c in choice.columns if not schema[c].is_temporal()]


def round_cut(x: float, tolerance: float) -> float:
    """The roundest number within ``tolerance`` of ``x``: a multiple of the largest power of ten
    (or half of one) that moves it no further (97.3 ± 20 → 100, 2013.4 ± 2 → 2013, 512 ± 100 → 500).
    """
    if not math.isfinite(x) or tolerance <= 0:
        return x
    top = math.floor(math.log10(max(abs(x), tolerance))) + 1
    for exponent in range(top, top - 12, -1):
        for step in (10.0**exponent, 5 * 10.0 ** (exponent - 1)):
            rounded = round(x / step) * step
            if abs(rounded - x) <= tolerance:
                return float(f"{rounded:.12g}")
    return x


def sorted_quantiles(ordered: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.quantile(ordered, q)`` (linear method, bit for bit) of values already sorted: read
    off by position instead of numpy's partition of the whole array."""
    position = q * (ordered.size - 1)
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, ordered.size - 1)
    t = position - lo
    a, b = ordered[lo], ordered[hi]
    diff = b - a
    # numpy's lerp: from the lower value below t = 0.5, from the upper one from there on
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def numeric_cut_points(values: np.ndarray, n_bins: int, min_count: int) -> list[float]:
    """Quantile cut points, rounded, that leave at least ``min_count`` values in every bin.

    Each cut moves at most a quarter of the distance to its neighbouring quantiles, so rounding
    keeps the bins near equal-frequency while reading as 100, 500, 2010 rather than 97.3, 512.8.
    """
    finite = values[np.isfinite(values)]
    if np.any(finite[1:] < finite[:-1]):  # callers may pass values already sorted
        finite = np.sort(finite)
    if finite.size < 2 * min_count:
        return []
    grid = sorted_quantiles(finite, np.linspace(0, 1, n_bins + 1))
    cuts: list[float] = []
    for i in range(1, n_bins):
        gap = min(grid[i] - grid[i - 1], grid[i + 1] - grid[i])
        cut = round_cut(float(grid[i]), 0.25 * float(gap))
        below = int(np.searchsorted(finite, cut, side="left"))
        previous = int(np.searchsorted(finite, cuts[-1], side="left")) if cuts else 0
        if (
            (not cuts or cut > cuts[-1])
            and below - previous >= min_count
            and finite.size - below >= min_count
        ):
            cuts.append(cut)
    return cuts


# Codes that stand for "no value" in a numeric column ("pdays = 999": never contacted), when they
# sit far outside the other values and hold a good share of the rows.
_SENTINELS_HIGH = (99.0, 999.0, 9999.0, 99999.0, 999999.0)
_SENTINELS_LOW = (-1.0, -9.0, -99.0, -999.0, -9999.0)
_SENTINEL_SHARE = 0.02


def numeric_sentinel(values: np.ndarray) -> tuple[str, float, float] | None:
    """('high' or 'low', the code, the nearest real value) when the sorted ``values`` end in a
    code for "no value" (999, 9999, -1, -999 …) far from the rest, else None."""
    n = values.size
    if n < 50:
        return None
    for side, code, inner in (("high", values[-1], values[values < values[-1]]),
                              ("low", values[0], values[values > values[0]])):  # fmt: skip
        if code not in (_SENTINELS_HIGH if side == "high" else _SENTINELS_LOW) or not inner.size:
            continue
        share = float(np.count_nonzero(values == code)) / n
        near = float(inner[-1] if side == "high" else inner[0])
        far = near < code / 2 if side == "high" else (near >= 0 or near > code / 2)
        if share >= _SENTINEL_SHARE and far:
            return side, float(code), near
    return None


def _numeric_conditions(
    attr: str, values: np.ndarray, settings: DiscoveryConfig, min_count: int
) -> list[Condition]:
    """Every run of adjacent bins between rounded cut points (the whole range excluded). A code
    for "no value" (``numeric_sentinel``) is left out of every range, like a missing value."""
    sentinel = numeric_sentinel(values)
    low, high = -math.inf, math.inf
    if sentinel is not None:
        side, code, near = sentinel
        values = values[values != code]
        if side == "high":
            high = code  # [x, 999): every real value above x, never the code
        else:
            low = near  # [0, x): from the smallest real value, never the code
    cuts = numeric_cut_points(values, settings.numeric_bins, min_count)
    cuts = [c for c in cuts if low < c < high]
    edges = [low, *cuts, high]
    out = []
    for i in range(len(edges) - 1):
        for j in range(i + 1, len(edges)):
            if i == 0 and j == len(edges) - 1:
                continue
            out.append(Condition(attr, "range", (edges[i], edges[j])))
    return out


def _categorical_conditions(
    attr: str, column: pl.Series, settings: DiscoveryConfig, min_count: int
) -> list[Condition]:
    # most frequent first; equal counts by level, so the order never depends on the rows' order
    counts = (
        column.drop_nulls().value_counts().sort(["count", column.name], descending=[True, False])
    )
    levels = counts.get_column(column.name).to_list()
    sizes = counts.get_column("count").to_list()
    frequent = [lv for lv, k in zip(levels, sizes, strict=True) if k >= min_count]
    frequent = frequent[: settings.max_categories]
    out = [Condition(attr, "eq", lv) for lv in frequent]
    # "other"/"unknown" never pads a pool of rare levels: the pool would read as a trait
    extra = tuple(settings.placeholders)
    rare = [lv for lv in levels if lv not in set(frequent) and not is_placeholder(lv, extra)]
    rare_count = sum(k for lv, k in zip(levels, sizes, strict=True) if lv in set(rare))
    if 2 <= len(rare) <= _MAX_POOLED and rare_count >= min_count:
        out.append(Condition(attr, "in", tuple(rare)))
    if len(frequent) == 2 and not rare:
        out = out[:1]  # two levels: the second is the complement of the first
    return out


def _tag_conditions(
    attr: str, column: pl.Series, settings: DiscoveryConfig, min_count: int
) -> list[Condition]:
    tags = (
        column.explode()
        .drop_nulls()
        .value_counts()
        .sort(["count", column.name], descending=[True, False])
    )
    pairs = zip(
        tags.get_column(column.name).to_list(), tags.get_column("count").to_list(), strict=True
    )
    frequent = [t for t, k in pairs if k >= min_count and isinstance(t, str)]
    return [Condition(attr, "contains", t) for t in frequent[: settings.max_categories]]


def attribute_conditions(
    frame: pl.DataFrame, attr: str, settings: DiscoveryConfig
) -> list[Condition]:
    """The candidate conditions on one attribute, each covering at least the minimum support."""
    column = frame.get_column(attr)
    if column.dtype.is_float():
        column = column.fill_nan(None)
    min_count = max(settings.min_support_count, math.ceil(settings.min_support * frame.height))
    dtype = column.dtype
    if isinstance(dtype, pl.List):
        out = _tag_conditions(attr, column, settings, min_count)
    elif dtype.is_numeric() and _distinct_above(
        ordered := column.drop_nulls().sort(), settings.numeric_bins
    ):
        # sorted by polars (multi-threaded); numpy would sort each 1M-row column on one core
        values = ordered.cast(pl.Float64).to_numpy()
        out = _numeric_conditions(attr, values, settings, min_count)
    else:
        out = _categorical_conditions(attr, column, settings, min_count)
    missing = column.null_count()
    if min_count <= missing <= frame.height - min_count:
        out.append(Condition(attr, "missing"))
    return out


def _distinct_above(ordered: pl.Series, n: int) -> bool:
    """Whether a sorted column without nulls holds more than ``n`` distinct values (neighbours
    compared, instead of hashing every value as ``n_unique`` does)."""
    values = ordered.to_numpy()
    return bool(values.size) and 1 + int(np.count_nonzero(values[1:] != values[:-1])) > n


def placeholder_condition(cond: Condition, extra: tuple[str, ...] = ()) -> bool:
    """Whether a condition holds only "no answer": ``is missing``, a placeholder level, or a set
    of placeholder levels."""
    if cond.op == "missing":
        return True
    if cond.op in ("eq", "contains"):
        return is_placeholder(cond.value, extra)
    if cond.op == "in":
        return all(is_placeholder(v, extra) for v in cond.value)
    return False


def trait_conditions(table: ConditionTable, settings: DiscoveryConfig) -> ConditionTable:
    """``table`` without the conditions that hold only "no answer" (see
    :func:`placeholder_condition`): what the segment search may use."""
    extra = tuple(settings.placeholders)
    keep = [j for j, c in enumerate(table.conditions) if not placeholder_condition(c, extra)]
    if len(keep) == len(table):
        return table
    rows = np.array(keep, dtype=np.int64)
    return ConditionTable(
        tuple(table.conditions[j] for j in keep),
        table.bits[rows] if len(rows) else table.bits[:0],
        table.attr_index[rows] if len(rows) else table.attr_index[:0],
        table.n_rows,
    )


def _packed_column(column: pl.Series) -> np.ndarray:
    """A boolean column as packed words (``bitsets.pack``), copied from Arrow's own bitmap (the
    same layout: 8 rows a byte, first row in the lowest bit) instead of unpacking to one byte a
    row and packing again; any null counts as False."""
    n = column.len()
    array = column.to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.offset % 8 or array.null_count or array.type != pa.bool_():
        return pack(column.fill_null(False).to_numpy())
    words = np.zeros(n_words(n), dtype=np.uint64)
    raw = words.view(np.uint8)
    used = -(-n // 8)
    start = array.offset // 8
    raw[:used] = np.frombuffer(array.buffers()[1], dtype=np.uint8, count=start + used)[start:]
    if n % 8:  # Arrow leaves the bits past the end undefined; the words' padding is 0
        raw[used - 1] &= np.uint8((1 << (n % 8)) - 1)
    return words


def condition_table(
    frame: pl.DataFrame,
    attributes: list[str],
    settings: DiscoveryConfig,
    conditions: list[Condition] | None = None,
) -> ConditionTable:
    """Build the candidate conditions over ``attributes`` and their coverage matrix.

    ``conditions`` (optional) replaces the automatic conditions, e.g. to reproduce a reference
    tool's selectors in a benchmark.
    """
    if conditions is None:
        conditions = [c for a in attributes for c in attribute_conditions(frame, a, settings)]
    bits = np.zeros((len(conditions), n_words(frame.height)), dtype=np.uint64)
    clean = frame.with_columns(
        pl.col(a).fill_nan(None) for a, t in frame.schema.items() if t.is_float()
    )
    # evaluated in batches (one polars query each) and packed at once: a boolean matrix of
    # 1M rows × 300 conditions would be 300 MB
    for start in range(0, len(conditions), _MASK_BATCH):
        batch = conditions[start : start + _MASK_BATCH]
        try:
            evaluated = clean.select(
                Segment((c,)).expr().alias(f"c{j}") for j, c in enumerate(batch)
            )
        except pl.exceptions.PolarsError:
            masks = np.stack([Segment((c,)).mask(frame) for c in batch])  # names the bad column
            bits[start : start + len(batch)] = pack(masks)
            continue
        for j, column in enumerate(evaluated.iter_columns()):
            bits[start + j] = _packed_column(column)
    order = {a: i for i, a in enumerate(dict.fromkeys(c.attr for c in conditions))}
    attr_index = np.array([order[c.attr] for c in conditions], dtype=np.int64)
    return ConditionTable(tuple(conditions), bits, attr_index, frame.height)
