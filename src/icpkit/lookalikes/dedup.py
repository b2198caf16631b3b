"""One row per company across the whole universe, however it is streamed.

A company listed several times (on several exchanges, under several domains) is one group. Two
rows are the same company when they share a **normalised name in the same country**, or a
**normalised domain** and the first word of their names (the normalisers of
:mod:`icpkit.lookalikes.match`: ``https://www.Acme.com/x`` → ``acme.com``; ``ACME, Inc.`` →
``acme``). Groups chain: a row sharing a domain with one listing and a name with another joins
both. The first-word check on domains is there because real sources put one wrong website on many
unrelated listings (FinanceDatabase gives ``rh.com`` to RH, Djerriwarrh Investments and Fagerhult),
and one such domain would otherwise chain them all into one company.

Streaming-friendly and compact: each key is kept as a 64-bit hash with the row that founded it and
that row's first name word, in sorted numpy runs merged like a log-structured tree (16 bytes per
key, at most two keys per row), plus a 4-byte union-find parent and a 1-byte tier per row — at
most 37 bytes per row (22 measured on FinanceDatabase, where half the listings have no website),
370 MB for 10 million rows, whatever the batch size. Nothing else of a row is kept, except the id and name of
rows that turn out to share their company with another row (their aliases). Aliases are merged
into the output rows at the end: the best-ranked listing of a company is the row, the others are
listed in ``aliases`` and counted in ``listings``, even when the copies came in different batches
far apart or ranked too low to be kept as candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import polars as pl

from icpkit.data.normalize import normalise_domains
from icpkit.lookalikes.match import name_keys
from icpkit.vocab import TIERS

_SEED = 0x1C9C17


def _hashes(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The domain key and the name-in-country key of each row as uint64 (0: no key), and the
    first word of the name (uint32, 0: none) that a domain match must agree on."""
    n = frame.height
    none = np.zeros(n, dtype=np.uint64)
    domain = name = none
    word = np.zeros(n, dtype=np.uint32)
    if "domain" in frame.columns:
        d = normalise_domains(frame["domain"].cast(pl.Utf8))
        domain = _hash(pl.DataFrame({"k": d}).select(pl.concat_str(pl.lit("d:"), "k")))
    if "name" in frame.columns:
        key = name_keys(frame["name"].cast(pl.Utf8))
        first = pl.DataFrame({"k": key.str.split(" ").list.first()})
        word = (_hash(first) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        country = (
            frame["country"].cast(pl.Utf8).str.strip_chars().str.to_uppercase().fill_null("")
            if "country" in frame.columns
            else pl.repeat("", n, dtype=pl.Utf8, eager=True)
        )
        both = pl.DataFrame({"k": key, "c": country})
        name = _hash(both.select(pl.concat_str(pl.lit("n:"), "k", pl.lit("|"), "c")))
    return domain, name, word


def _hash(keys: pl.DataFrame) -> np.ndarray:
    series = keys.to_series()
    hashed = series.hash(seed=_SEED).to_numpy().astype(np.uint64)
    hashed[series.is_null().to_numpy()] = 0
    return hashed


def _label(frame: pl.DataFrame, rows: Sequence[int]) -> list[str]:
    """'id (name)' of each row (``rows``: their numbers in the universe): what an alias shows."""
    n = frame.height
    if "account_id" in frame.columns:
        ids = frame["account_id"].cast(pl.Utf8).to_list()
    else:
        ids = [None] * n
    ids = [i if i else f"row {r}" for r, i in zip(rows, ids, strict=True)]
    if "name" not in frame.columns:
        return ids
    names = frame["name"].cast(pl.Utf8).to_list()
    return [f"{i} ({m})" if m else i for i, m in zip(ids, names, strict=True)]


class UniverseGroups:
    """Which universe rows are the same company, built batch by batch."""

    def __init__(self) -> None:
        # (sorted key hashes, founder rows, founder's first name word for domain keys)
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._parent = np.zeros(1024, dtype=np.uint32)
        self._tier = np.zeros(1024, dtype=np.uint8)
        self.n = 0
        self.labels: dict[int, str] = {}  # rows that share their company with another row
        self.pending: set[int] = set()  # such rows whose label went by in an earlier batch

    @property
    def nbytes(self) -> int:
        """Memory held by the key map and the per-row arrays."""
        runs = sum(k.nbytes + r.nbytes + w.nbytes for k, r, w in self._runs)
        return runs + self._parent[: self.n].nbytes + self._tier[: self.n].nbytes

    def add(self, frame: pl.DataFrame, offset: int) -> None:
        """Group the rows of a batch; ``offset`` is the global row number of its first row."""
        h = frame.height
        if offset != self.n:
            raise ValueError(f"batches must come in order: expected row {self.n}, got {offset}")
        self._grow(offset + h)
        rows = np.arange(offset, offset + h, dtype=np.uint32)
        self._parent[offset : offset + h] = rows
        if "tier" in frame.columns:
            order = {t: i for i, t in enumerate(TIERS)}
            tiers = frame["tier"].replace_strict(order, default=len(TIERS), return_dtype=pl.UInt8)
            self._tier[offset : offset + h] = tiers.to_numpy()
        self.n = offset + h
        domain, name, word = _hashes(frame)
        keys = np.concatenate([domain, name])
        owners = np.concatenate([rows, rows])
        words = np.concatenate([word, np.zeros(h, dtype=np.uint32)])  # checked on domains only
        has = keys != 0
        keys, owners, words = keys[has], owners[has], words[has]
        if keys.size == 0:
            return
        unique, first = np.unique(keys, return_index=True)
        founder, founder_word = owners[first], words[first]
        found = np.zeros(unique.size, dtype=bool)
        for run_keys, run_rows, run_words in self._runs:
            pos = np.searchsorted(run_keys, unique)
            pos[pos == run_keys.size] = 0
            hit = (run_keys[pos] == unique) & ~found
            founder[hit], founder_word[hit] = run_rows[pos[hit]], run_words[pos[hit]]
            found |= hit
        self._insert(unique[~found], founder[~found], founder_word[~found])
        # every row joins the founder of each of its keys; only duplicates need work. A shared
        # domain joins only names that start alike: sources put one wrong website on many
        # unrelated listings ('rh.com' on 'Djerriwarrh Investments'), and one such domain would
        # chain them all into one company.
        at = np.searchsorted(unique, keys)
        rep, rep_word = founder[at], founder_word[at]
        agree = (rep_word == 0) | (words == 0) | (rep_word == words)
        pairs = np.flatnonzero((rep != owners) & agree)
        if pairs.size == 0:
            return
        labels = _label(frame, range(offset, offset + h))
        for i in pairs:
            row, other = int(owners[i]), int(rep[i])
            self._union(row, other)
            self.labels.setdefault(row, labels[row - offset])
            if other >= offset:
                self.labels.setdefault(other, labels[other - offset])
            elif other not in self.labels:
                self.pending.add(other)

    def resolve(self, lookup: Callable[[list[int]], dict[int, str]]) -> None:
        """Fetch the labels of pending rows (rows of earlier batches) from a re-readable source."""
        if self.pending:
            self.labels.update(lookup(sorted(self.pending)))
            self.pending -= set(self.labels)

    def roots(self) -> np.ndarray:
        """The group of every row (vectorised pointer jumping)."""
        parent = self._parent[: self.n].copy()
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                return parent
            parent = up

    def summary(self) -> dict[str, Any]:
        """Listings, companies, and companies per tier (a company's best-tiered listing)."""
        roots = self.roots()
        tiers = np.full(self.n, 255, dtype=np.uint8)
        np.minimum.at(tiers, roots, self._tier[: self.n])
        groups = np.flatnonzero(roots == np.arange(self.n, dtype=np.uint32))
        counts = np.bincount(tiers[groups], minlength=len(TIERS) + 1)
        return {
            "n_listings": self.n,
            "n_companies": int(groups.size),
            "tier_companies": {t: int(counts[i]) for i, t in enumerate(TIERS)},
        }

    def merge(self, kept: pl.DataFrame, *, rank_column: str) -> pl.DataFrame:
        """One row per company among the ranked candidates (``_row`` holds each row's number),
        with ``listings`` (rows of the whole universe) and ``aliases`` (the other listings)."""
        roots = self.roots()
        sizes = np.bincount(roots, minlength=self.n)
        rows = kept["_row"].to_numpy().astype(np.int64)
        ranked = kept.with_columns(pl.Series("_company", roots[rows].astype(np.int64)))
        ranked = ranked.sort([rank_column, "_row"], descending=[True, False])
        ranked = ranked.unique("_company", keep="first", maintain_order=True)
        members: dict[int, list[int]] = {}
        for row in sorted(set(self.labels) | self.pending):
            members.setdefault(int(roots[row]), []).append(row)
        listings, aliases = [], []
        for root, row in zip(ranked["_company"].to_list(), ranked["_row"].to_list(), strict=True):
            listings.append(int(sizes[root]))
            others = [self.labels.get(r, f"row {r}") for r in members.get(root, []) if r != row]
            aliases.append("; ".join(others) if others else None)
        return ranked.drop("_company").with_columns(
            pl.Series("listings", listings, dtype=pl.UInt32),
            pl.Series("aliases", aliases, dtype=pl.Utf8),
        )

    def _insert(self, keys: np.ndarray, rows: np.ndarray, words: np.ndarray) -> None:
        if keys.size == 0:
            return
        self._runs.append((keys, rows.astype(np.uint32), words.astype(np.uint32)))
        # merge runs of similar size (a log-structured merge: O(log n) runs to search)
        while len(self._runs) > 1 and self._runs[-2][0].size <= 2 * self._runs[-1][0].size:
            (k1, r1, w1), (k2, r2, w2) = self._runs.pop(), self._runs.pop()
            k = np.concatenate([k2, k1])
            order = np.argsort(k, kind="stable")
            r, w = np.concatenate([r2, r1])[order], np.concatenate([w2, w1])[order]
            self._runs.append((k[order], r, w))

    def _grow(self, n: int) -> None:
        if n <= self._parent.size:
            return
        size = max(n, 2 * self._parent.size)
        self._parent = np.resize(self._parent, size)
        self._tier = np.resize(self._tier, size)

    def _find(self, row: int) -> int:
        parent = self._parent
        while parent[row] != row:
            parent[row] = parent[parent[row]]
            row = int(parent[row])
        return row

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:  # the earlier row stays the root
            self._parent[max(ra, rb)] = min(ra, rb)


def frame_lookup(universe: pl.DataFrame) -> Callable[[list[int]], dict[int, str]]:
    """Labels of rows of an in-memory universe, by row number."""

    def lookup(rows: list[int]) -> dict[int, str]:
        picked = universe[rows]
        return dict(zip(rows, _label(picked, rows), strict=True))

    return lookup


class Rereadable:
    """Batches of a universe file that can be read again (for the labels of pending rows)."""

    def __init__(self, open_batches: Callable[[], Iterator[pl.DataFrame]]) -> None:
        self.open_batches = open_batches

    def __iter__(self) -> Iterator[pl.DataFrame]:
        return self.open_batches()

    def lookup(self, rows: list[int]) -> dict[int, str]:
        wanted = np.asarray(rows, dtype=np.int64)
        out: dict[int, str] = {}
        offset = 0
        for batch in self.open_batches():
            inside = wanted[(wanted >= offset) & (wanted < offset + batch.height)]
            if inside.size:
                picked = batch[(inside - offset).tolist()]
                out.update(zip(inside.tolist(), _label(picked, inside.tolist()), strict=True))
            offset += batch.height
        return out
