"""Reasons a sales rep can read, and the full points breakdown of one account.

The points of a row are its reasons: "Software company (+18)" is the bin the account fell in, in
the plain words of the one-pager, and the points that bin is worth. A reason never starts with
``+``, ``-``, ``=`` or ``@``, so a spreadsheet never reads it as a formula and the CSV guard leaves
it alone. For millions of rows the reason text is built once per distinct
reason (a table of bin texts) and rows are assembled by Arrow kernels, never by a Python loop.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from icpkit.rules import Condition, describe_condition, parse_segment
from icpkit.scoring.binning import Feature
from icpkit.scoring.card import PARALLEL_ROWS, Scorecard, scoring_pool

MINUS = "\u2212"  # a real minus sign: reads well, and a text cell never starts with '-'
SEPARATOR = "; "
TOP = 3
# reasons are built once per distinct list unless a sample of rows shows more than this share
# of distinct lists (then encoding them would cost more than it saves)
_SAMPLE, _DISTINCT = 20_000, 0.3


def reason_text(points: int, words: str) -> str:
    """``Software company (+18)`` / ``under 10 employees (−12)``."""
    sign = "+" if points >= 0 else MINUS
    return f"{words} ({sign}{abs(points)})"


def _words(cond: Condition) -> str:
    if cond.attr == "industry" and cond.op == "eq":
        return f"{cond.value} company"
    return describe_condition(cond)


def bin_words(feature: Feature, code: int) -> str:
    """The bin ``code`` of a feature in plain words ('Software company', 'uses Salesforce')."""
    name = feature.column.replace("_", " ")
    last = feature.n_bins - 1
    if feature.kind == "rule":
        words = " and ".join(_words(c) for c in parse_segment(feature.rule))
        met, unmet = {
            "criterion": (f"meets ICP criterion: {words}", f"misses ICP criterion: {words}"),
            "disqualifier": (f"disqualifier: {words}", f"clear of disqualifier: {words}"),
        }.get(feature.role, (words, f"not: {words}"))
        return met if code == 1 else unmet
    if feature.kind == "tag":
        if feature.tag == "":
            return f"{name} known" if code == 0 else f"no known {name}"
        return f"uses {feature.tag}" if code == 1 else f"does not use {feature.tag}"
    if code == last:
        return f"no known {name}"
    if feature.kind == "numeric":
        if not feature.cuts:
            return f"{name} known"
        edges = (-np.inf, *feature.cuts, np.inf)
        return _words(Condition(feature.column, "range", (edges[code], edges[code + 1])))
    if code == len(feature.levels):
        return f"other {name}"
    return _words(Condition(feature.column, "eq", feature.levels[code]))


def reason_table(card: Scorecard) -> tuple[list[str], np.ndarray]:
    """Text of every bin of every feature, and the offset of each feature's first bin."""
    texts = [
        reason_text(int(p), bin_words(f, k))
        for f, pts in zip(card.features, card.points, strict=True)
        for k, p in enumerate(pts)
    ]
    sizes = [f.n_bins for f in card.features]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return texts, offsets


def top_reasons(points: np.ndarray, codes: np.ndarray, card: Scorecard, top: int = TOP) -> pa.Array:
    """Top ``top`` reasons for and against per row, as a text column.

    Reasons for come first (largest points first), then reasons against (most negative first);
    bins worth 0 points are never listed. Rows share few distinct lists of reasons, so the text
    is built once per distinct list and returned dictionary-encoded (rows → list), assembled by
    Arrow kernels (take + join), never by a Python loop over rows.
    """
    texts, offsets = reason_table(card)
    none = len(texts)
    picks = _picks(points, codes, offsets, top, none)
    if not picks:
        return pa.array([""] * points.shape[0], pa.string())
    bits = none.bit_length()
    if bits * len(picks) <= 62:  # one int64 key per row: its list of reasons
        key = np.zeros(points.shape[0], dtype=np.int64)
        for i, pick in enumerate(picks):
            key |= pick.astype(np.int64) << (i * bits)
        if np.unique(key[:_SAMPLE]).size > _SAMPLE * _DISTINCT:  # nearly one list per row
            return _joined_reasons(texts, picks)
        rows, lists = pd.factorize(key, sort=False)
        lists = np.asarray(lists, dtype=np.int64)
        mask = (1 << bits) - 1
        distinct = [(lists >> (i * bits)) & mask for i in range(len(picks))]
        return pa.DictionaryArray.from_arrays(
            pa.array(rows, pa.int32()), _joined_reasons(texts, distinct)
        )
    return _joined_reasons(texts, picks)


def _joined_reasons(texts: list[str], picks: list[np.ndarray]) -> pa.Array:
    """The reason texts of each row's picked bin ids, joined ('' when there is none)."""
    # each text carries its separator and the row's tail is trimmed: one join kernel, no regex.
    # (binary_join_element_wise with null_handling="skip" returned short arrays in pyarrow 26.)
    words = pa.array([*(t + SEPARATOR for t in texts), ""], type=pa.string())
    parts = [words.take(pa.array(pick)) for pick in picks]
    joined = pc.binary_join_element_wise(*parts, "")
    return pc.utf8_rtrim(joined, characters=SEPARATOR)


def _picks(
    points: np.ndarray, codes: np.ndarray, offsets: np.ndarray, top: int, none: int
) -> list[np.ndarray]:
    """Bin ids of the top reasons for, then against, per row; long inputs split over threads.

    Equal points list the earlier feature first. Each cell's points and global bin id are packed
    into one integer key (±points × 2^bits + none − id; bin ids grow with the feature), so a pick
    is one max over the columns — an element-wise maximum of whole columns, as the keys are
    stored column by column — and the key gives the id back without a gather.
    """
    n, k = points.shape
    if k == 0:
        return [np.full(n, none, dtype=np.int64) for _ in range(2 * top)]
    bits = max(1, int(none).bit_length())
    largest = (int(np.abs(points).max(initial=0)) + 1) * (1 << bits)
    dtype = np.int16 if largest < 2**14 else np.int32 if largest < 2**30 else np.int64
    column_of = np.searchsorted(offsets, np.arange(none + 1), side="right") - 1  # bin id → feature
    parts = 1 if n < PARALLEL_ROWS else max(1, min(4, os.cpu_count() or 1))
    bounds = np.linspace(0, n, parts + 1).astype(int)

    def run(i: int) -> list[np.ndarray]:
        p, c = points[bounds[i] : bounds[i + 1]], codes[bounds[i] : bounds[i + 1]]
        ids = np.empty(p.shape, dtype=dtype, order="F")  # none − global bin id
        np.subtract((none - offsets).astype(dtype)[None, :], c, out=ids, dtype=dtype)
        shifted = np.multiply(p, 1 << bits, dtype=dtype, order="F")
        return [
            *_pick(np.add(ids, shifted, order="F"), bits, column_of, top, none),
            *_pick(np.subtract(ids, shifted, order="F"), bits, column_of, top, none),
        ]

    chunks = list(scoring_pool().map(run, range(parts))) if parts > 1 else [run(0)]
    return [np.concatenate([chunk[k] for chunk in chunks]) for k in range(2 * top)]


def _pick(
    key: np.ndarray, bits: int, column_of: np.ndarray, top: int, none: int
) -> list[np.ndarray]:
    """Global bin id of each row's ``top`` largest keys with positive points (``none`` when
    fewer); ``key`` (column-major) is spent."""
    n, k = key.shape
    low = (1 << bits) - 1
    rows = np.arange(n)
    floor = np.iinfo(key.dtype).min
    out = []
    for i in range(min(top, k)):
        best = key.max(axis=1)
        ids = none - (best & low).astype(np.int64)
        ids[best < (1 << bits)] = none  # no positive points left: no reason
        out.append(ids)
        if i + 1 < min(top, k):  # the picked cell drops out
            key[rows, column_of[ids]] = floor
    out += [np.full(n, none, dtype=np.int64) for _ in range(top - len(out))]
    return out


@dataclass(frozen=True)
class Explanation:
    """Why one account scored what it did: every feature's points, which add up to the score."""

    score: int
    base: int
    points: dict[str, int]
    bins: dict[str, str]
    reasons_for: list[str]
    reasons_against: list[str]
    criteria_met: list[str]
    criteria_missed: list[str]
    disqualifiers_hit: list[str]
    tier: str
    probability: float | None

    def total(self) -> int:
        """``base + Σ points``: equal to ``score`` by construction."""
        return self.base + sum(self.points.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_frame(self) -> pl.DataFrame:
        """One row per feature: its bin and points, then the base."""
        names = [*self.points, "base"]
        return pl.DataFrame(
            {
                "feature": names,
                "bin": [*(self.bins[n] for n in self.points), ""],
                "points": [*self.points.values(), self.base],
            }
        )


def explanation(
    card: Scorecard,
    codes_row: np.ndarray,
    tier: str,
    met: list[str],
    missed: list[str],
    hit: list[str],
) -> Explanation:
    """Explanation of one row from its bin codes (one per feature)."""
    pts = {f.name: int(p[c]) for f, p, c in zip(card.features, card.points, codes_row, strict=True)}
    bins = {f.name: f.labels[c] for f, c in zip(card.features, codes_row, strict=True)}
    words = {f.name: bin_words(f, int(c)) for f, c in zip(card.features, codes_row, strict=True)}
    score = card.base + sum(pts.values())
    ranked = sorted(pts, key=lambda name: -pts[name])
    prob = card.probabilities(np.array([score]))[0]
    return Explanation(
        score=score,
        base=card.base,
        points=pts,
        bins=bins,
        reasons_for=[reason_text(pts[n], words[n]) for n in ranked if pts[n] > 0][:TOP],
        reasons_against=[reason_text(pts[n], words[n]) for n in reversed(ranked) if pts[n] < 0][
            :TOP
        ],
        criteria_met=met,
        criteria_missed=missed,
        disqualifiers_hit=hit,
        tier=tier,
        probability=None if np.isnan(prob) else float(prob),
    )
