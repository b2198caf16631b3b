"""Reasons a sales rep can read, and the full points breakdown of one account.

The points of a row are its reasons: "+18 industry = 'Software'" is the bin the account fell in and
the points that bin is worth. For millions of rows the reason text is built once per distinct
combination of top reasons (a dictionary-encoded column), never once per row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from icpkit.scoring.card import Scorecard

MINUS = "\u2212"  # a real minus sign: reads well, and a text cell never starts with '-'
SEPARATOR = "; "
TOP = 3


def reason_text(points: int, label: str) -> str:
    """``+18 industry = 'Software'`` / ``−12 employees in [1, 10)``."""
    sign = "+" if points >= 0 else MINUS
    return f"{sign}{abs(points)} {label}"


def reason_table(card: Scorecard) -> tuple[list[str], np.ndarray]:
    """Text of every bin of every feature, and the offset of each feature's first bin."""
    texts = [
        reason_text(int(p), label)
        for f, pts in zip(card.features, card.points, strict=True)
        for label, p in zip(f.labels, pts, strict=True)
    ]
    sizes = [f.n_bins for f in card.features]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return texts, offsets


def top_reasons(points: np.ndarray, codes: np.ndarray, card: Scorecard, top: int = TOP) -> pa.Array:
    """Top ``top`` reasons for and against per row, as a dictionary-encoded text column.

    Reasons for come first (largest points first), then reasons against (most negative first);
    bins worth 0 points are never listed.
    """
    n = points.shape[0]
    texts, offsets = reason_table(card)
    none = len(texts)
    picks = [*_pick(points, codes, offsets, top, none), *_pick(-points, codes, offsets, top, none)]
    key = np.zeros(n, dtype=np.int64)
    radix = none + 1
    if radix ** len(picks) >= 2**62:
        return pa.array(_join_rows(picks, texts, none), type=pa.string())
    for pick in picks:
        key = key * radix + pick
    codes_row, uniques = pd.factorize(key, sort=False)
    words = [_decode(int(u), radix, len(picks), texts, none) for u in uniques]
    return pa.DictionaryArray.from_arrays(pa.array(codes_row, pa.int32()), pa.array(words))


def _pick(
    points: np.ndarray, codes: np.ndarray, offsets: np.ndarray, top: int, none: int
) -> list[np.ndarray]:
    """Global bin id of each row's ``top`` largest positive points (``none`` when fewer)."""
    n, k = points.shape
    if k == 0:
        return [np.full(n, none, dtype=np.int64) for _ in range(top)]
    work = points.astype(np.int32, copy=True)
    rows = np.arange(n)
    out = []
    for _ in range(min(top, k)):
        j = np.argmax(work, axis=1)
        value = work[rows, j]
        ids = codes[rows, j].astype(np.int64) + offsets[j]
        out.append(np.where(value > 0, ids, none))
        work[rows, j] = np.iinfo(np.int32).min
    out += [np.full(n, none, dtype=np.int64) for _ in range(top - len(out))]
    return out


def _decode(key: int, radix: int, parts: int, texts: list[str], none: int) -> str:
    ids = []
    for _ in range(parts):
        key, digit = divmod(key, radix)
        ids.append(digit)
    return SEPARATOR.join(texts[i] for i in reversed(ids) if i != none)


def _join_rows(picks: list[np.ndarray], texts: list[str], none: int) -> list[str]:
    stacked = np.column_stack(picks)
    return [SEPARATOR.join(texts[i] for i in row if i != none) for row in stacked]


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
    score = card.base + sum(pts.values())
    ranked = sorted(pts, key=lambda name: -pts[name])
    prob = card.probabilities(np.array([score]))[0]
    return Explanation(
        score=score,
        base=card.base,
        points=pts,
        bins=bins,
        reasons_for=[reason_text(pts[n], bins[n]) for n in ranked if pts[n] > 0][:TOP],
        reasons_against=[reason_text(pts[n], bins[n]) for n in reversed(ranked) if pts[n] < 0][
            :TOP
        ],
        criteria_met=met,
        criteria_missed=missed,
        disqualifiers_hit=hit,
        tier=tier,
        probability=None if np.isnan(prob) else float(prob),
    )
