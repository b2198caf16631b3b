"""Bins that people can read: the attribute side of the points scorecard.

Each ``Feature`` turns one input attribute into a small set of bins, and every row into the index of
its bin (``codes``). Four kinds:

- ``numeric``: half-open intervals on rounded cut points (``employees in [100, 500)``), found by a
  shallow decision tree on the outcome and then rounded to the fewest significant digits that move
  almost no rows; the last bin holds missing values.
- ``categorical``: one bin per common level, ``other`` for rare and unseen levels, then missing.
- ``tag``: one feature per common tag of a multi-valued column (lacks / contains), plus one
  "is known / is missing" feature for the column when some lists are missing.
- ``rule``: a segment rule in text form (an ICP criterion, a disqualifier or a hand-written item):
  not met / met.

Codes are computed on Arrow arrays so that bulk scoring can use Parquet dictionary pages directly: a
dictionary-encoded column is mapped through its (small) dictionary and gathered, never decoded.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.tree import DecisionTreeClassifier

from icpkit.errors import ConfigError
from icpkit.rules import Condition, format_number, parse_segment

Kind = Literal["numeric", "categorical", "tag", "rule"]
Role = Literal["attribute", "criterion", "disqualifier", "points"]

MAX_LEVELS = 30  # most kept levels of a categorical attribute; the rest are 'other'
MAX_TAGS = 30  # most kept tags of a multi-valued attribute
ROUNDING_TOLERANCE = 0.005  # share of rows a rounded cut point may move across a bin edge


@dataclass(frozen=True)
class Feature:
    """One scorecard attribute: how rows map to bins, and what each bin is called.

    ``labels`` has one entry per bin, in code order; it reads as a rule (``industry = 'Software'``)
    wherever the bin is one.
    """

    name: str
    kind: Kind
    column: str = ""
    cuts: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()
    tag: str = ""
    rule: str = ""
    role: Role = "attribute"
    labels: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind == "numeric" and not all(
            a < b for a, b in itertools.pairwise(self.cuts)
        ):  # binning counts the cuts below a value: they must rise (NaN never does)
            raise ConfigError(
                f"scorecard feature {self.name!r}: cuts {list(self.cuts)} must increase"
            )
        if not self.labels:
            object.__setattr__(self, "labels", _labels(self))
        bins = {"numeric": len(self.cuts) + 2, "categorical": len(self.levels) + 2}
        if len(self.labels) != bins.get(self.kind, 2):  # codes index the labels and points
            raise ConfigError(
                f"scorecard feature {self.name!r}: {len(self.labels)} labels, but a "
                f"{self.kind} feature with these cuts/levels has {bins.get(self.kind, 2)} bins"
            )

    @property
    def n_bins(self) -> int:
        return len(self.labels)

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns this feature reads."""
        if self.kind == "rule":
            return parse_segment(self.rule).attrs
        return (self.column,)

    def codes(self, batch: pa.Table) -> np.ndarray:
        """Bin index of every row of an Arrow table holding ``self.columns`` (small int type)."""
        if self.kind == "rule":
            return rule_mask(self.rule, batch).astype(np.uint8)
        array = batch.column(self.column)
        if self.kind == "numeric":
            return _numeric_codes(array, np.asarray(self.cuts, dtype=np.float64))
        if self.kind == "categorical":
            return _categorical_codes(array, self.levels)
        return _tag_codes(array, self.tag)

    def codes_points(self, batch: pa.Table, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bin code and ``values[code]`` per row, in one pass where the kind allows it."""
        if self.kind == "numeric":
            cuts = np.asarray(self.cuts, dtype=np.float64)
            codes, points = _binned(batch.column(self.column), cuts, values)
            assert codes is not None and points is not None
            return codes, points
        codes = self.codes(batch)
        return codes, np.take(values, codes)

    def points(self, batch: pa.Table, values: np.ndarray) -> np.ndarray:
        """``values[code]`` per row (``values``: int16 points per bin), computed without
        materialising codes where that is cheaper (numbers, dictionary-encoded text)."""
        if self.kind == "numeric":
            cuts = np.asarray(self.cuts, dtype=np.float64)
            return _numeric_points(batch.column(self.column), cuts, values)
        if self.kind == "categorical":
            return _categorical_codes(batch.column(self.column), self.levels, values)
        return np.take(values, self.codes(batch))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "role": self.role}
        if self.kind != "rule":
            out["column"] = self.column
        if self.kind == "numeric":
            out["cuts"] = [format_number(c) for c in self.cuts]
        elif self.kind == "categorical":
            out["levels"] = list(self.levels)
        elif self.kind == "tag":
            out["tag"] = self.tag
        else:
            out["rule"] = self.rule
        out["labels"] = list(self.labels)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Feature:
        try:
            return cls(
                name=str(raw["name"]),
                kind=raw["kind"],
                column=str(raw.get("column", "")),
                cuts=tuple(float(c) for c in raw.get("cuts", ())),
                levels=tuple(str(v) for v in raw.get("levels", ())),
                tag=str(raw.get("tag", "")),
                rule=str(raw.get("rule", "")),
                role=raw.get("role", "attribute"),
                labels=tuple(str(v) for v in raw.get("labels", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"scorecard feature {raw!r} is malformed: {exc}") from None


def _labels(f: Feature) -> tuple[str, ...]:
    col = f.column
    if f.kind == "numeric" and not f.cuts:  # one bin: the attribute separated nothing
        missing = str(Condition(col, "missing"))
        return (missing.replace(" is missing", " is known"), missing)
    if f.kind == "numeric":
        edges = (-math.inf, *f.cuts, math.inf)
        bins = [str(Condition(col, "range", (lo, hi))) for lo, hi in itertools.pairwise(edges)]
        return (*bins, str(Condition(col, "missing")))
    if f.kind == "categorical":
        bins = [str(Condition(col, "eq", v)) for v in f.levels]
        missing = str(Condition(col, "missing"))
        return (*bins, missing.removesuffix("is missing") + "= other", missing)
    if f.kind == "tag" and f.tag == "":
        missing = str(Condition(col, "missing"))
        return (missing.replace(" is missing", " is known"), missing)
    if f.kind == "tag":
        has = str(Condition(col, "contains", f.tag))
        return (has.replace(" contains ", " lacks ", 1), has)
    words = {
        "criterion": ("misses ICP criterion: ", "meets ICP criterion: "),
        "disqualifier": ("clear of disqualifier: ", "disqualifier: "),
    }.get(f.role, ("not: ", ""))
    return (f"{words[0]}{f.rule}", f"{words[1]}{f.rule}")


# ---------------------------------------------------------------------------------------------
# Codes on Arrow arrays


def _chunks(array: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(array.chunks) if isinstance(array, pa.ChunkedArray) else [array]


TILE = 32_768  # rows binned at a time: every pass over a tile stays in the core's cache
_FEW_CUTS = 16  # up to this many cuts, comparisons beat a binary search (searchsorted)


def _numbers(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None]:
    """A numeric column as float64 values and its missing cells (null or NaN; None when there
    are no nulls: NaN is then the only missing value). Float64 columns are read in place."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_date(array.type) or pa.types.is_timestamp(array.type):
        array = pc.year(array)
    if not pa.types.is_float64(array.type):
        array = pc.cast(array, pa.float64())
    n, start = len(array), array.offset
    validity, data = array.buffers()[:2]
    if data is None:  # an all-null column may come without a data buffer
        return np.full(n, np.nan), None
    values = np.frombuffer(data, dtype=np.float64, count=start + n)[start:]
    if not array.null_count or validity is None:
        return values, None
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
    return values, ~bits[start : start + n].view(bool)


def _binned(
    array: pa.Array | pa.ChunkedArray,
    cuts: np.ndarray,
    table: np.ndarray | None = None,
    codes: bool = True,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Bin code per row (k = the number of cuts ≤ value; missing = len(cuts) + 1) when
    ``codes``, and ``table[code]`` when a per-bin table is given; tile by tile, so each
    comparison reads the values from cache rather than memory."""
    values, nulls = _numbers(array)
    n, missing = len(values), len(cuts) + 1
    dtype = np.uint8 if missing < 256 else np.int32
    out = np.empty(n, dtype=dtype) if codes else None
    points = np.empty(n, dtype=table.dtype) if table is not None else None
    work = np.empty(min(n, TILE), dtype=dtype)
    mask = np.empty(min(n, TILE), dtype=bool)
    for lo in range(0, n, TILE):
        x = values[lo : lo + TILE]
        hi = lo + len(x)
        code: np.ndarray = out[lo:hi] if out is not None else work[: len(x)]
        hit = mask[: len(x)]
        if len(cuts) > _FEW_CUTS:
            code[:] = np.searchsorted(cuts, x, side="right")
        else:
            code[:] = 0
            for cut in cuts:
                np.greater_equal(x, cut, out=hit)
                np.add(code, hit.view(np.uint8), out=code, casting="unsafe")
        np.isnan(x, out=hit)
        if nulls is not None:
            hit |= nulls[lo:hi]
        np.copyto(code, missing, where=hit, casting="unsafe")
        if points is not None and table is not None:  # every code is a bin: no bounds check
            np.take(table, code, out=points[lo:hi], mode="clip")
    return out, points


def _numeric_codes(array: pa.Array | pa.ChunkedArray, cuts: np.ndarray) -> np.ndarray:
    codes, _ = _binned(array, cuts)
    assert codes is not None
    return codes


def _text(array: pa.Array) -> pa.Array:
    """Strings of any scalar array, with booleans as 'true'/'false' like the rules print them."""
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array
    if pa.types.is_boolean(array.type):
        return pc.if_else(array, "true", "false")
    if pa.types.is_floating(array.type):
        array = pc.if_else(pc.is_nan(array), None, array)
    return pc.cast(array, pa.string())


def _categorical_codes(
    array: pa.Array | pa.ChunkedArray, levels: tuple[str, ...], values: np.ndarray | None = None
) -> np.ndarray:
    """Bin code per row, or ``values[code]`` when a per-bin table ``values`` is given."""
    other, missing = len(levels), len(levels) + 1
    lookup = {v: i for i, v in enumerate(levels)}
    out = []
    for chunk in _chunks(array):
        if pa.types.is_dictionary(chunk.type):
            # map the small dictionary, then gather by the row indices: no string is decoded
            words = _text(chunk.dictionary).to_pylist()
            table = np.array(
                [missing if w is None else lookup.get(w, other) for w in words] + [missing],
                dtype=np.uint8 if missing < 256 else np.int32,
            )
            if values is not None:  # straight from dictionary index to points: one gather
                table = values[table]
            indices = chunk.indices
            if indices.null_count:
                indices = pc.fill_null(indices, len(words))
            out.append(np.take(table, indices.to_numpy(zero_copy_only=False)))
            continue
        text = _text(chunk)
        found = pc.index_in(text, value_set=pa.array(levels, type=pa.string()))
        codes = np.array(pc.fill_null(found, other).to_numpy(zero_copy_only=False), np.int32)
        codes[np.asarray(text.is_null().to_numpy(zero_copy_only=False))] = missing
        out.append(codes if values is None else values[codes])
    return np.concatenate(out) if len(out) != 1 else out[0]


def _numeric_points(
    array: pa.Array | pa.ChunkedArray, cuts: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Points per row of a numeric feature: ``values[code]`` without keeping the codes."""
    _, points = _binned(array, cuts, np.asarray(values, dtype=np.int16), codes=False)
    assert points is not None
    return points


def _tag_codes(array: pa.Array | pa.ChunkedArray, tag: str) -> np.ndarray:
    out = []
    for chunk in _chunks(array):
        codes = np.zeros(len(chunk), dtype=np.int32)
        # raw offsets rather than list_flatten: a null list may still own values underneath, and
        # the parent of every value must line up with it (null lists are set to missing below)
        offsets = np.asarray(chunk.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        parents = np.repeat(np.arange(len(chunk)), np.diff(offsets))
        flat = chunk.values.slice(offsets[0], offsets[-1] - offsets[0])
        if pa.types.is_dictionary(flat.type):
            flat = flat.cast(flat.type.value_type)
        hit = pc.fill_null(pc.equal(flat, tag), False).to_numpy(zero_copy_only=False)
        if tag != "":
            codes[parents[hit]] = 1
        # a tag feature reads an unknown list as lacking the tag; the column's own "is missing"
        # feature (tag == "") carries what missingness says, once rather than once per tag
        codes[np.asarray(chunk.is_null().to_numpy(zero_copy_only=False))] = 1 if tag == "" else 0
        out.append(codes)
    return np.concatenate(out) if len(out) != 1 else out[0]


def rule_mask(rule: str, batch: pa.Table) -> np.ndarray:
    """Which rows meet a segment rule, with the rules module's semantics.

    Dictionary-encoded text columns are tested on their dictionary and gathered, so a rule over
    millions of rows costs one gather per condition.
    """
    mask = np.ones(batch.num_rows, dtype=bool)
    for condition in parse_segment(rule):
        mask &= condition_mask(condition, batch.column(condition.attr))
    return mask


def condition_mask(condition: Condition, array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    out = []
    for chunk in _chunks(array):
        if pa.types.is_dictionary(chunk.type) and condition.op != "range":
            words = pl.from_arrow(chunk.dictionary)
            hits = condition.mask(pl.DataFrame({condition.attr: words}))
            table = np.append(hits, condition.op == "missing")
            idx = pc.fill_null(chunk.indices, len(hits)).to_numpy(zero_copy_only=False)
            out.append(table[idx])
            continue
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.cast(chunk.type.value_type)
        series = pl.from_arrow(chunk)
        assert isinstance(series, pl.Series)
        out.append(condition.mask(pl.DataFrame({condition.attr: series})))
    return np.concatenate(out) if len(out) != 1 else out[0]


# ---------------------------------------------------------------------------------------------
# Learning the bins


def kind_of(dtype: pl.DataType) -> Kind | None:
    """Which kind of feature a column of this type becomes (None: not usable as an attribute)."""
    if isinstance(dtype, pl.List):
        return "tag"
    if dtype == pl.Boolean or dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "categorical"
    if dtype.is_numeric() or dtype.is_temporal():
        return "numeric"
    return None


def fit_features(
    series: pl.Series,
    y: np.ndarray,
    weight: np.ndarray,
    max_bins: int,
    min_share: float,
    random_state: int | None = None,
) -> list[Feature]:
    """The features of one attribute, with bins learned from outcome ``y`` (0/1) and weights."""
    kind = kind_of(series.dtype)
    if kind == "numeric":
        return [_fit_numeric(series, y, weight, max_bins, min_share, random_state)]
    if kind == "categorical":
        return [_fit_categorical(series, weight, min_share)]
    if kind == "tag":
        return _fit_tags(series, weight, min_share)
    return []


def numeric_values(series: pl.Series) -> np.ndarray:
    """Float values of a numeric or date column (dates as years), NaN for missing."""
    if series.dtype.is_temporal():
        series = series.dt.year()
    return series.cast(pl.Float64).fill_null(np.nan).to_numpy()


def _fit_numeric(
    series: pl.Series,
    y: np.ndarray,
    weight: np.ndarray,
    max_bins: int,
    min_share: float,
    random_state: int | None,
) -> Feature:
    values = numeric_values(series)
    known = ~np.isnan(values)
    cuts: tuple[float, ...] = ()
    if known.sum() >= 2 and len(np.unique(y[known])) == 2:
        tree = DecisionTreeClassifier(
            max_leaf_nodes=max_bins, min_weight_fraction_leaf=min_share, random_state=random_state
        )
        x = np.clip(values[known], -1e300, 1e300).reshape(-1, 1)
        tree.fit(x, y[known], sample_weight=weight[known])
        raw = sorted(
            float(t)
            for t, f in zip(tree.tree_.threshold, tree.tree_.feature, strict=False)
            if f >= 0
        )
        cuts = nice_cuts(raw, values[known])
    return Feature(name=series.name, kind="numeric", column=series.name, cuts=cuts)


def nice_cuts(raw: list[float], values: np.ndarray) -> tuple[float, ...]:
    """Round each cut to the fewest significant digits (1–3) that moves at most 0.5% of the rows;
    failing that, to 4 significant digits."""
    ordered = np.sort(values)
    integral = bool(np.all(np.mod(ordered[np.isfinite(ordered)], 1) == 0))
    budget = ROUNDING_TOLERANCE * len(ordered)
    out: list[float] = []
    for cut in raw:
        exact = math.ceil(cut) if integral else cut
        best = _round_significant(exact, 4)  # never a 16-digit float in a label
        for digits in (1, 2, 3):
            candidate = _round_significant(exact, digits)
            lo, hi = sorted((candidate, cut))
            moved = np.searchsorted(ordered, hi) - np.searchsorted(ordered, lo)
            if moved <= budget:
                best = candidate
                break
        if not out or best > out[-1]:
            out.append(float(best))
    return tuple(out)


def _round_significant(x: float, digits: int) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    scale = digits - 1 - math.floor(math.log10(abs(x)))
    return float(round(x, scale))


def _shares(series: pl.Series, weight: np.ndarray, total: float) -> pl.DataFrame:
    """Weighted share of each value among ``total`` (the weight of all rows)."""
    frame = pl.DataFrame({"value": series, "w": weight})
    total = total or 1.0
    return (
        frame.drop_nulls("value")
        .group_by("value")
        .agg(pl.col("w").sum() / total)
        .sort(["w", "value"], descending=[True, False])
    )


def _fit_categorical(series: pl.Series, weight: np.ndarray, min_share: float) -> Feature:
    text = (
        series.cast(pl.Utf8)
        if series.dtype != pl.Boolean
        else series.map_elements(lambda b: "true" if b else "false", return_dtype=pl.Utf8)
    )
    shares = _shares(text, weight, float(weight.sum()))
    common = shares.filter(pl.col("w") >= min_share).head(MAX_LEVELS)["value"].to_list()
    return Feature(
        name=series.name,
        kind="categorical",
        column=series.name,
        levels=tuple(sorted(str(v) for v in common)),
    )


def _fit_tags(series: pl.Series, weight: np.ndarray, min_share: float) -> list[Feature]:
    exploded = pl.DataFrame({"tags": series.list.unique(), "w": weight}).explode("tags")
    shares = _shares(exploded["tags"].cast(pl.Utf8), exploded["w"].to_numpy(), float(weight.sum()))
    # a tag nearly every account has tells as little as one nearly none has
    kept = shares.filter((pl.col("w") >= min_share) & (pl.col("w") <= 1 - min_share))
    common = kept.head(MAX_TAGS)["value"].to_list()
    features = [
        Feature(name=f"{series.name}:{tag}", kind="tag", column=series.name, tag=str(tag))
        for tag in sorted(common)
        if str(tag) != ""
    ]
    missing = float(weight[series.is_null().to_numpy()].sum()) / max(float(weight.sum()), 1e-300)
    if features and missing > 0:
        features.append(Feature(name=f"{series.name}:missing", kind="tag", column=series.name))
    return features
