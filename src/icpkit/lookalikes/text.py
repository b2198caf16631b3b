"""Description text similarity: one more part of the lookalike rank, shown on its own.

When the CRM accounts and the universe both carry a ``description`` ("About", "Company
Description", "summary"), each description is embedded with the offline static model bundled for
themes (:func:`icpkit.themes.embed.default_embedder`, loaded once per process) and compared with
the best customers' descriptions:

- ``text_similarity``: the mean cosine similarity to the ``neighbours`` most similar best
  customers' descriptions (exact, in blocks of bounded memory);
- ``text_score`` (0–100): the share of the universe's companies whose descriptions are *less*
  close to the best customers, so 90 reads "closer to your best customers than 90 % of the
  universe". The reference is the universe's first 5,000 descriptions in file order, read ahead
  before ranking starts (at most 500,000 rows are held for it) and replayed, so the scale is fixed
  for the whole stream and does not depend on how it is cut into batches; with fewer than 50
  descriptions there, your own CRM accounts are the reference (each best customer compared without
  itself). Ranking within the universe, not against the CRM's accounts, matters on real data: CRM
  notes and a data vendor's summaries are written differently, and on FinanceDatabase every summary
  was less close than nearly all the CRM's own descriptions (text_score ≈ 1 everywhere), so a
  described company ranked below an undescribed one;
- ``description_close_best``: how many best customers' descriptions are closer than
  ``close_at``, the 95th percentile of the cosine between a CRM account and a best customer.

The combined ``rank_score`` is the weighted mean of the parts a row has: fit (weight 1), likeness
×100 (weight 1) and ``text_score`` (weight ``lookalikes.text_weight``; 0 leaves it out). A row
without a description is ranked on its other parts.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from icpkit.lookalikes.dots import dots, fixed, mean_top

DESCRIPTION = "description"
MIN_BEST = 5  # best customers with a description needed for the text part
REFERENCE_ROWS = 5_000  # descriptions sampled to calibrate text_score (and close_at on the CRM)
MIN_REFERENCE = 50  # universe descriptions needed to rank within the universe
REFERENCE_SCAN = 500_000  # most universe rows read ahead (and held) to find the reference
CLOSE_QUANTILE = 0.95
MAX_CELLS = 10_000_000  # similarity cells per block (× 8 bytes)


def _texts(frame: pl.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Rows with a non-blank description (their positions) and the texts."""
    if DESCRIPTION not in frame.columns:
        return np.zeros(0, dtype=np.int64), []
    text = frame[DESCRIPTION].cast(pl.Utf8).str.strip_chars()
    has = (text.is_not_null() & (text.str.len_chars() > 0)).to_numpy()
    rows = np.flatnonzero(has)
    return rows, text.gather(rows).to_list()


def _described(frame: pl.DataFrame) -> np.ndarray:
    """Per row: has a non-blank description (the rows :func:`_texts` returns)."""
    if DESCRIPTION not in frame.columns:
        return np.zeros(frame.height, dtype=bool)
    text = frame[DESCRIPTION].cast(pl.Utf8).str.strip_chars()
    return (text.is_not_null() & (text.str.len_chars() > 0)).to_numpy()


def has_descriptions(frame: pl.DataFrame | None) -> bool:
    return frame is not None and len(_texts(frame)[1]) > 0


@dataclass
class TextPart:
    """The best customers' description vectors and the calibration of the score."""

    best: np.ndarray  # (n_best, dim) unit vectors
    reference: np.ndarray  # sorted top-k similarities of CRM accounts (for text_score)
    close_at: float
    neighbours: int
    weight: float
    seen: int = 0  # universe rows with a description
    universe_reference: bool = False  # text_score ranks within the universe (see the module doc)

    @classmethod
    def build(
        cls,
        best: pl.DataFrame | None,
        accounts: pl.DataFrame | None,
        *,
        weight: float,
        neighbours: int = 10,
    ) -> tuple[TextPart | None, str | None]:
        """The text part, or None and the reason it is absent (said once to the user)."""
        if weight <= 0:
            return None, "description similarity is off (lookalikes.text_weight = 0)"
        if best is None or accounts is None:
            return None, "no CRM given: the rank has no description-similarity part"
        if not has_descriptions(accounts):
            return None, (
                "your CRM accounts have no descriptions: the rank has no description-similarity "
                "part (map a 'description' / 'About' column to add one)"
            )
        best_rows, best_texts = _texts(best)
        if len(best_texts) < MIN_BEST:
            return None, (
                f"only {len(best_texts)} best customers have a description (at least {MIN_BEST} "
                "needed): the rank has no description-similarity part"
            )
        from icpkit.themes.embed import default_embedder

        embed = default_embedder()
        best_vectors = embed.encode(best_texts)
        k = max(1, min(neighbours, len(best_texts) - 1))
        ref_rows, ref_texts = _texts(accounts)
        ids = accounts["account_id"].cast(pl.Utf8).gather(ref_rows).to_list()
        if len(ref_texts) > REFERENCE_ROWS:
            pick = np.sort(np.random.default_rng(0).choice(len(ref_texts), REFERENCE_ROWS, False))
            ref_texts = [ref_texts[i] for i in pick]
            ids = [ids[i] for i in pick]
        sims = embed.encode(ref_texts) @ best_vectors.T
        best_ids = best["account_id"].cast(pl.Utf8).gather(best_rows).to_list()
        position = {a: j for j, a in enumerate(best_ids)}
        for i, account in enumerate(ids):  # a best customer is not compared with itself
            if account in position:
                sims[i, position[account]] = -np.inf
        top = -np.sort(-sims, axis=1)[:, :k]
        reference = np.sort(top.mean(axis=1))
        finite = sims[np.isfinite(sims)]
        close_at = float(np.quantile(finite, CLOSE_QUANTILE)) if finite.size else 1.0
        part = cls(best_vectors, reference, close_at, k, float(weight))
        return part, None

    def calibrate(self, chunks: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        """Read ahead to the universe's first ``REFERENCE_ROWS`` descriptions, make them the
        reference of ``text_score``, and give the chunks back in order (the read-ahead replayed)."""
        stream = iter(chunks)
        ahead: list[pl.DataFrame] = []
        texts: list[str] = []
        rows = 0
        for chunk in stream:
            ahead.append(chunk)
            rows += chunk.height
            texts += _texts(chunk)[1][: REFERENCE_ROWS - len(texts)]
            if len(texts) >= REFERENCE_ROWS or rows >= REFERENCE_SCAN:
                break
        if len(texts) >= MIN_REFERENCE:
            from icpkit.themes.embed import default_embedder

            similarity, _ = self._compare(default_embedder().encode(texts))
            self.reference, self.universe_reference = np.sort(similarity), True
        return itertools.chain(ahead, stream)

    def count(self, frame: pl.DataFrame) -> np.ndarray:
        """Which rows of a universe batch have a description (counted for :meth:`note`)."""
        described = _described(frame)
        self.seen += int(described.sum())
        return described

    def _compare(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean similarity to the closest best customers' descriptions, and how many are close."""
        similarity = np.empty(len(vectors))
        close = np.empty(len(vectors), dtype=np.int64)
        step = max(1, MAX_CELLS // len(self.best))
        k = self.neighbours
        # exact dot products: a row's similarity is the same bits in any batch (lookalikes.dots)
        best = fixed(self.best).T
        for start in range(0, len(vectors), step):
            block = dots(fixed(vectors[start : start + step]), best)
            similarity[start : start + step] = mean_top(block, k)
            close[start : start + step] = (block >= self.close_at).sum(axis=1)
        return similarity, close

    def add(self, scored: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
        """The text columns of a scored batch and ``rank_score`` re-combined with them."""
        n = frame.height
        similarity = np.full(n, np.nan)
        close = np.zeros(n, dtype=np.int64)
        rows, texts = _texts(frame)
        if texts:
            from icpkit.themes.embed import default_embedder

            similarity[rows], close[rows] = self._compare(default_embedder().encode(texts))
        score = np.full(n, np.nan)
        ok = ~np.isnan(similarity)
        score[ok] = 100 * np.searchsorted(self.reference, similarity[ok]) / len(self.reference)
        fit = scored["fit_score"].cast(pl.Float64).to_numpy()
        likeness = scored["similarity"].cast(pl.Float64).fill_null(np.nan).to_numpy() * 100
        total = fit + np.nan_to_num(likeness) + self.weight * np.nan_to_num(score)
        parts = 1.0 + ~np.isnan(likeness) + self.weight * ok
        return scored.with_columns(
            pl.Series("text_similarity", np.round(similarity, 3)).fill_nan(None),
            pl.Series("text_score", np.round(score, 1)).fill_nan(None),
            pl.Series("description_close_best", np.where(ok, close, 0)),
            pl.Series("rank_score", np.round(total / parts, 1)),
        )

    def note(self) -> str | None:
        """What the user is told once when the universe had no description at all."""
        if self.seen:
            return None
        return (
            "the universe has no descriptions: the rank has no description-similarity part "
            "(map its 'description' / 'About' column to add one)"
        )


def explain(why: list[str], rows: pl.DataFrame) -> list[str]:
    """Each row's reason with "description close to N of your best customers" when it applies."""
    if "description_close_best" not in rows.columns:
        return why
    out = []
    for text, n, score in zip(
        why, rows["description_close_best"].to_list(), rows["text_score"].to_list(), strict=True
    ):
        if score is not None and n:
            who = "best customer" if n == 1 else "best customers"
            text = f"{text} · description close to {n} of your {who}"
        out.append(text)
    return out


def summary(part: TextPart | None, note: str | None) -> dict[str, Any]:
    """The text part in the run summary: used or not, and why not."""
    if part is not None:
        note = part.note()
    return {
        "used": part is not None and note is None,
        "weight": part.weight if part is not None else 0.0,
        "note": note,
    }
