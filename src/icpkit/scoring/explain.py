"""Reasons a sales rep can read, and the full points breakdown of one account.

The points of a row are its reasons: "Software company (+18)" is the bin the account fell in, in
the plain words of the one-pager, and the points that bin is worth. A reason never starts with
``+``, ``-``, ``=`` or ``@``, so a spreadsheet never reads it as a formula and the CSV guard leaves
it alone. For millions of rows the reason text is built once per distinct
reason (a table of bin texts) and rows are assembled by Arrow kernels, never by a Python loop.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
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


def missing_bin(feature: Feature) -> int | None:
    """The code of the bin holding accounts with no value for the feature (None without one)."""
    if feature.kind == "tag":
        return 1 if feature.tag == "" else None
    if feature.kind in ("numeric", "categorical"):
        return feature.n_bins - 1
    return None


def reason_points(card: Scorecard) -> list[tuple[int, ...]]:
    """The points each bin may be listed with among the reasons: a missing value's positive
    points become 0, so "no known founded year" is never a reason *for* fit (its points stay
    in the score and the breakdown; a missing value's negative points are still a reason
    against)."""
    out = []
    for feature, pts in zip(card.features, card.points, strict=True):
        gone = missing_bin(feature)
        out.append(tuple(0 if k == gone and p > 0 else int(p) for k, p in enumerate(pts)))
    return out


def listed_points(points: np.ndarray, codes: np.ndarray, card: Scorecard) -> np.ndarray:
    """``points`` (rows x features) as reasons list them (:func:`reason_points`): a copy with
    the positive points of missing values set to 0; ``points`` itself when no bin changes."""
    changed = [
        j
        for j, (a, b) in enumerate(zip(reason_points(card), card.points, strict=True))
        if a != tuple(int(p) for p in b)
    ]
    if not changed:
        return points
    points = points.copy()  # the caller's points stay exact: they are the score
    for j in changed:
        points[(codes[:, j] == missing_bin(card.features[j])) & (points[:, j] > 0), j] = 0
    return points


def reason_table(card: Scorecard) -> tuple[list[str], np.ndarray]:
    """Text of every bin of every feature, and the offset of each feature's first bin."""
    texts, offsets = _reason_table(card.features, card.points)
    return list(texts), offsets.copy()


@functools.lru_cache(maxsize=8)
def _reason_table(
    features: tuple[Feature, ...], points: tuple[tuple[int, ...], ...]
) -> tuple[tuple[str, ...], np.ndarray]:
    """:func:`reason_table`, built once per scorecard (bulk scoring asks for it per batch)."""
    texts = tuple(
        reason_text(int(p), bin_words(f, k))
        for f, pts in zip(features, points, strict=True)
        for k, p in enumerate(pts)
    )
    sizes = [f.n_bins for f in features]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return texts, offsets


def top_reasons(
    points: np.ndarray,
    codes: np.ndarray,
    card: Scorecard,
    top: int = TOP,
    parallel: bool = True,
) -> pa.Array:
    """Top ``top`` reasons for and against per row, as a text column.

    Reasons for come first (largest points first), then reasons against (most negative first);
    bins worth 0 points, and a missing value's positive points, are never listed (see
    :func:`reason_points`). Rows share few distinct lists of reasons, so the text
    is built once per distinct list and returned dictionary-encoded (rows → list), assembled by
    Arrow kernels (take + join), never by a Python loop over rows.
    """
    texts, _ = _reason_table(card.features, card.points)
    none = len(texts)
    picks = ranked_picks(codes, card, top, parallel)
    if not picks:
        return pa.array([""] * points.shape[0], pa.string())
    bits = none.bit_length()
    if bits * len(picks) <= 62:  # one int64 key per row: its list of reasons

        def keys(rows: int) -> np.ndarray:
            key = np.zeros(min(rows, points.shape[0]), dtype=np.int64)
            for i, pick in enumerate(picks):
                key |= pick[: len(key)].astype(np.int64) << (i * bits)
            return key

        if _distinct(keys(_SAMPLE)) > _SAMPLE * _DISTINCT:  # nearly one list per row
            return _joined_reasons(texts, picks)
        key = keys(points.shape[0])
        rows, lists = pd.factorize(key, sort=False)
        lists = np.asarray(lists, dtype=np.int64)
        mask = (1 << bits) - 1
        distinct = [(lists >> (i * bits)) & mask for i in range(len(picks))]
        return pa.DictionaryArray.from_arrays(
            pa.array(rows, pa.int32()), _joined_reasons(texts, distinct)
        )
    return _joined_reasons(texts, picks)


def _distinct(keys: np.ndarray) -> int:
    """How many distinct values ``keys`` holds (a sort: 20× less CPU than ``np.unique``'s
    hash on the 20,000-row sample)."""
    if keys.size == 0:
        return 0
    return int(np.count_nonzero(np.diff(np.sort(keys)))) + 1


def _joined_reasons(texts: Sequence[str], picks: list[np.ndarray]) -> pa.Array:
    """The reason texts of each row's picked bin ids (``len(texts)`` = none), joined with the
    separator ('' when there is none).

    One gather builds every row. Each pick becomes a piece: its text bare when it is the row's
    first reason, behind the separator when it follows one, or empty. Pieces are gathered two at
    a time from a table of every pair of pieces (one per row and pair of slots; a piece at a
    time when the table would be too large), row after row, so the gathered strings lie back to
    back and every few offsets of the gather is a row's boundary: the rows are the same buffer
    read with those offsets.
    """
    none, slots = len(texts), len(picks)
    n = len(picks[0]) if picks else 0
    if n == 0 or slots == 0:
        return pa.array([""] * n, pa.string())
    # pieces: the bare texts then '' (a pick of none), the separated texts then '' again, so
    # a pick's piece is its id, moved to the separated half once the row has had a reason
    half = none + 1
    width = 2 * half
    pairs = slots % 2 == 0 and width * width <= _PAIR_TABLE
    dtype = np.int32 if (width * width if pairs else width) < 2**31 else np.int64
    per_row = slots // 2 if pairs else slots
    ids = np.empty((n, per_row), dtype=dtype)  # row after row once raveled
    seen = np.zeros(n, dtype=bool)  # the row has had a reason in an earlier slot
    present = np.empty(n, dtype=bool)
    pieces = [np.empty(n, dtype=dtype) for _ in range(2)]
    for s, pick in enumerate(picks):
        piece = pieces[s % 2]
        np.multiply(seen, half, out=piece, dtype=dtype)
        np.add(piece, pick, out=piece, casting="same_kind")
        np.not_equal(pick, none, out=present)
        np.logical_or(seen, present, out=seen)
        if not pairs:
            ids[:, s] = piece
        elif s % 2:  # two neighbouring slots → one entry of the pair table
            column = ids[:, s // 2]
            np.multiply(pieces[0], dtype(width), out=column)
            column += piece
    table, widest = _piece_table(tuple(texts), pairs)
    if n * per_row * widest >= 2**31 - 1:  # past 32-bit offsets
        table = table.cast(pa.large_string())
    gathered = table.take(pa.array(ids.ravel()))
    large = pa.types.is_large_string(gathered.type)
    offsets = np.frombuffer(gathered.buffers()[1], dtype=np.int64 if large else np.int32)
    offsets = offsets[gathered.offset : gathered.offset + n * per_row + 1 : per_row]
    return pa.Array.from_buffers(
        gathered.type,
        n,
        [None, pa.py_buffer(np.ascontiguousarray(offsets)), gathered.buffers()[2]],
    )


_PAIR_TABLE = 300_000  # most entries of a table of pairs of pieces (built once per scorecard)


@functools.lru_cache(maxsize=8)
def _piece_table(texts: tuple[str, ...], pairs: bool) -> tuple[pa.Array, int]:
    """Every piece (the bare texts and '', the separated texts and ''), or every pair of
    pieces, as text, and the longest one's length in bytes."""
    table = pa.array([*texts, "", *(SEPARATOR + t for t in texts), ""], type=pa.string())
    if pairs:  # joined by an Arrow kernel: a Python loop over the ~10^5 pairs took ~0.3 s
        width = np.arange(len(table))
        table = pc.binary_join_element_wise(
            table.take(np.repeat(width, len(table))), table.take(np.tile(width, len(table))), ""
        )
    return table, int(pc.max(pc.binary_length(table)).as_py() or 0)


_TILE = 32_768  # rows ranked at a time: the running top keys of a tile stay in cache


def _ranks(card: Scorecard) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per feature, the rank of each of its bins among the reasons for and among the reasons
    against (0 = listed first; the dtype's largest value = never listed), and the global bin
    id of every rank of each side (``none`` past the last, for the sentinel).

    The order is :func:`_picks`'s: reasons for by listed points, largest first; reasons
    against by points, most negative first; equal points in bin-id (= scorecard) order.
    """
    return _rank_tables(tuple(reason_points(card)))


@functools.lru_cache(maxsize=8)
def _rank_tables(
    listed: tuple[tuple[int, ...], ...],
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    sizes = [len(pts) for pts in listed]
    none = sum(sizes)
    order = []
    for side in (1, -1):  # for: listed points > 0; against: < 0
        cells = [
            (-side * p, j, k)
            for j, pts in enumerate(listed)
            for k, p in enumerate(pts)
            if side * p > 0
        ]
        order.append(sorted(cells, key=lambda c: (c[0], c[1], c[2])))
    dtype = np.uint8 if max(len(o) for o in order) < 255 else np.uint16
    sentinel = np.iinfo(dtype).max
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    tables: list[list[np.ndarray]] = [[], []]
    ids = np.full((2, int(sentinel) + 1), none, dtype=np.int64)
    for s, cells in enumerate(order):
        tables[s] = [np.full(size, sentinel, dtype=dtype) for size in sizes]
        for r, (_, j, k) in enumerate(cells):
            tables[s][j][k] = r
            ids[s, r] = offsets[j] + k
    return tables[0], tables[1], ids


def ranked_picks(
    codes: np.ndarray, card: Scorecard, top: int = TOP, parallel: bool = True
) -> list[np.ndarray]:
    """:func:`_picks` of the listed points (:func:`listed_points`), from the bin codes alone.

    A row's points are a function of its bins, so the order of every bin among the reasons for
    (and against) is known from the scorecard: each bin gets its rank there once (a table per
    feature, one byte a bin for up to 254 listed bins), a row's rank per feature is one gather,
    and the ``top`` smallest ranks of a row are kept as its columns stream past (two
    element-wise min/max per place, on bytes rather than packed 16- or 32-bit keys).
    """
    n, k = codes.shape
    none = sum(f.n_bins for f in card.features)
    if k == 0:
        return [np.full(n, none, dtype=np.int64) for _ in range(2 * top)]
    up, down, ids = _ranks(card)
    dtype = up[0].dtype
    sentinel = np.iinfo(dtype).max
    out = [np.empty(n, dtype=np.int64) for _ in range(2 * top)]
    paired = _paired_ranks(tuple(reason_points(card))) if dtype == np.uint8 else None

    def run_paired(lo: int, hi: int) -> None:
        """Both sides at once: a bin's two rank bytes side by side in one 16-bit entry, so one
        gather per feature gives a row's rank for (even bytes) and against (odd bytes), and
        every min/max runs once over both."""
        assert paired is not None
        m = hi - lo
        best = np.full((top, 2 * m), sentinel, dtype=np.uint8)
        pair = np.empty(m, dtype=np.uint16)
        spare = np.empty(2 * m, dtype=np.uint8)
        for j in range(k):
            np.take(paired[j], codes[lo:hi, j], out=pair, mode="clip")
            key, high = pair.view(np.uint8), spare
            for place in range(top):  # the rank sinks to its place
                np.maximum(best[place], key, out=high)
                np.minimum(best[place], key, out=best[place])
                key, high = high, key
        for place in range(top):
            np.take(ids[0], best[place][0::2], out=out[place][lo:hi])
            np.take(ids[1], best[place][1::2], out=out[top + place][lo:hi])

    def run(lo: int, hi: int) -> None:
        m = hi - lo
        best = np.full((2 * top, m), sentinel, dtype=dtype)  # for: 0..top-1, against: top..
        key, high = np.empty(m, dtype=dtype), np.empty(m, dtype=dtype)
        for j in range(k):
            column = codes[lo:hi, j]
            for side, tables in ((0, up), (top, down)):
                np.take(tables[j], column, out=key, mode="clip")
                for place in range(side, side + top):  # the rank sinks to its place
                    np.maximum(best[place], key, out=high)
                    np.minimum(best[place], key, out=best[place])
                    key, high = high, key
        for place in range(2 * top):
            np.take(ids[0 if place < top else 1], best[place], out=out[place][lo:hi])

    work = run_paired if paired is not None else run
    tiles = [(lo, min(n, lo + _TILE)) for lo in range(0, n, _TILE)]
    if parallel and n >= PARALLEL_ROWS:
        list(scoring_pool().map(lambda t: work(*t), tiles))
    else:
        for lo, hi in tiles:
            work(lo, hi)
    return out


@functools.lru_cache(maxsize=8)
def _paired_ranks(listed: tuple[tuple[int, ...], ...]) -> list[np.ndarray]:
    """Per feature, each bin's rank for and rank against (one byte each, :func:`_rank_tables`)
    as the two bytes of one 16-bit entry: viewed as bytes, a gather of them reads for, against,
    for, against … whatever the machine's byte order."""
    up, down, _ = _rank_tables(listed)
    out = []
    for a, b in zip(up, down, strict=True):
        both = np.empty((len(a), 2), dtype=np.uint8)
        both[:, 0], both[:, 1] = a, b
        out.append(both.view(np.uint16).ravel())
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
    listed = {
        f.name: rp[int(c)]
        for f, rp, c in zip(card.features, reason_points(card), codes_row, strict=True)
    }
    score = card.base + sum(pts.values())
    ranked = sorted(pts, key=lambda name: -pts[name])
    prob = card.probabilities(np.array([score]))[0]
    return Explanation(
        score=score,
        base=card.base,
        points=pts,
        bins=bins,
        reasons_for=[reason_text(pts[n], words[n]) for n in ranked if listed[n] > 0][:TOP],
        reasons_against=[reason_text(pts[n], words[n]) for n in reversed(ranked) if pts[n] < 0][
            :TOP
        ],
        criteria_met=met,
        criteria_missed=missed,
        disqualifiers_hit=hit,
        tier=tier,
        probability=None if np.isnan(prob) else float(prob),
    )
