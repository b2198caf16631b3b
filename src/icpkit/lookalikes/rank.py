"""Rank a company universe by fit and by likeness to the best customers, customers excluded.

Each universe company gets two numbers, shown apart and never blended out of sight:

- **fit**: ``fit_score`` and ``tier`` from the profile, exactly as ``icpkit score`` computes them;
- **likeness**: the cosine similarity of the company to its ``neighbours`` nearest best customers in
  the scorecard's encoded space (one dimension per readable bin of each attribute, weighted by how
  much that attribute moves the score; a missing value is no dimension, so an attribute the universe
  lacks neither helps nor hurts). Exact nearest neighbours, in batches of bounded memory.

The list is ordered by tier, then ``rank_score`` = (fit_score + 100 · similarity) / 2 (with
descriptions on both sides, the weighted mean with ``text_score``: :mod:`icpkit.lookalikes.text`).
Each row says why in words: "Tier 1 · similar to 3 of your best customers (industry =
'Software', uses Snowflake)". Customers' names appear only with ``show_names`` (target lists travel).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
from scipy import sparse

from icpkit.data.model import CrmData
from icpkit.errors import ConfigError, SchemaError
from icpkit.lookalikes import text as text_part
from icpkit.lookalikes.dedup import Rereadable, UniverseGroups, frame_lookup
from icpkit.lookalikes.match import CompanyIndex
from icpkit.profile import IcpProfile
from icpkit.rules import parse_segment
from icpkit.scoring.apply import ScoringPlan, score_frame
from icpkit.scoring.binning import Feature
from icpkit.scoring.card import Scorecard
from icpkit.vocab import TIERS

NEIGHBOURS = 5
SIMILAR_AT = 0.8  # cosine similarity at or above which a best customer counts as "similar"
MAX_CELLS = 20_000_000  # similarity matrix cells per batch (× 8 bytes)
TEXT_WEIGHT = 0.5  # weight of the description part in rank_score (lookalikes.text_weight)
TEXT_NEIGHBOURS = 10  # best customers' descriptions compared (lookalikes.text_neighbours)


@dataclass(frozen=True)
class Lookalikes:
    """The ranked targets and what the run saw."""

    frame: pl.DataFrame
    n_universe: int
    n_excluded: int
    n_duplicates: int
    n_best: int
    missing_attributes: tuple[str, ...]
    tier_counts: dict[str, int] = field(default_factory=dict)
    text: dict[str, Any] = field(default_factory=dict)  # the description part: used, weight, note
    # the whole universe's listings, companies and companies per tier (lookalikes.dedup)
    companies: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pl.DataFrame:
        return self.frame

    def summary(self) -> dict[str, Any]:
        """Counts per tier in the universe, and the top industries and countries of Tier 1."""
        tier1 = self.frame.filter(pl.col("tier") == TIERS[0])
        top: dict[str, list[tuple[str, int]]] = {}
        for column in ("industry", "country"):
            if column in tier1.columns:
                counts = tier1[column].drop_nulls().value_counts(sort=True).head(5)
                top[column] = [(str(r[0]), int(r[1])) for r in counts.iter_rows()]
        return {
            "n_universe": self.n_universe,
            "n_excluded_customers": self.n_excluded,
            "n_duplicates": self.n_duplicates,
            "n_best_customers": self.n_best,
            "missing_attributes": list(self.missing_attributes),
            "tiers": self.tier_counts,
            "tier1_top": top,
            "text": self.text,
            **self.companies,
        }


def customer_accounts(crm: CrmData) -> pl.DataFrame:
    """CRM accounts that are customers (a won deal or a subscription) or have an open deal."""
    ids: set[Any] = set()
    if crm.deals is not None and "stage" in crm.deals.columns:
        ids |= set(crm.deals.filter(pl.col("stage").is_in(["won", "open"]))["account_id"].to_list())
    if crm.subscriptions is not None:
        ids |= set(crm.subscriptions["account_id"].to_list())
    return crm.accounts.filter(pl.col("account_id").is_in(list(ids)))


def find_lookalikes(
    profile: IcpProfile,
    universe: Any,
    crm: CrmData | None = None,
    *,
    best: pl.DataFrame | None = None,
    top: int = 500,
    include_customers: bool = False,
    show_names: bool = False,
    neighbours: int = NEIGHBOURS,
    batch_rows: int = 100_000,
    text_weight: float = TEXT_WEIGHT,
    text_neighbours: int = TEXT_NEIGHBOURS,
) -> Any:
    """The ``top`` universe companies most like the ICP, existing customers excluded.

    Parameters
    ----------
    profile : IcpProfile
        A built profile (its scorecard encodes the attributes).
    universe : polars.DataFrame or pandas.DataFrame
        Companies in the accounts shape (canonical column names); attributes the profile uses and
        the universe lacks are scored as missing and reported.
    crm : CrmData, optional
        The CRM: its customers and open-deal accounts are excluded, its best customers are the
        neighbours. Without it nothing is excluded and the similarity is not computed.
    best : polars.DataFrame, optional
        The best customers' account rows (default: the CRM's accounts labelled best by outcomes).

    Returns
    -------
    The same frame type as ``universe``: the ranked targets (see :func:`rank_universe`).
    """
    result = rank_universe(
        profile, _polars(universe), crm, best=best, top=top, include_customers=include_customers,
        show_names=show_names, neighbours=neighbours, batch_rows=batch_rows,
        text_weight=text_weight, text_neighbours=text_neighbours,
    )  # fmt: skip
    return result.frame.to_pandas() if isinstance(universe, pd.DataFrame) else result.frame


def rank_universe(
    profile: IcpProfile,
    universe: pl.DataFrame | Iterable[pl.DataFrame],
    crm: CrmData | None = None,
    *,
    best: pl.DataFrame | None = None,
    top: int = 500,
    include_customers: bool = False,
    show_names: bool = False,
    neighbours: int = NEIGHBOURS,
    batch_rows: int = 100_000,
    text_weight: float = TEXT_WEIGHT,
    text_neighbours: int = TEXT_NEIGHBOURS,
) -> Lookalikes:
    """Rank a universe (a frame, or an iterator of frames streamed from a large file)."""
    if top < 1:
        raise ConfigError(f"--top must be at least 1; got {top}")
    plan = ScoringPlan.from_profile(profile)
    card = plan.card
    if best is None and crm is not None:
        best = _best_accounts(crm)
    space = _Space(card, best, neighbours) if best is not None and best.height else None
    index = CompanyIndex(customer_accounts(crm)) if crm is not None else None
    # --- description text part (lookalikes.text) ---
    text, text_note = text_part.TextPart.build(
        best, crm.accounts if crm is not None else None, weight=text_weight,
        neighbours=text_neighbours,
    )  # fmt: skip
    # --- end text part ---
    groups = UniverseGroups()  # whole-universe de-duplication (lookalikes.dedup)
    keep = max(3 * top, top + 100)  # candidates kept: duplicates are removed at the end
    tier_rank = {t: len(TIERS) - i for i, t in enumerate(TIERS)}
    kept: pl.DataFrame | None = None
    tier_counts = dict.fromkeys(TIERS, 0)
    n_universe = n_excluded = 0
    seen: dict[str, int] = dict.fromkeys(plan.columns, 0)  # non-null cells per attribute
    batches = [universe] if isinstance(universe, pl.DataFrame) else universe
    if text is not None:  # description text part: its scale from the universe's first descriptions
        batches = text.calibrate(batches)
    for chunk in batches:
        for start in range(0, max(chunk.height, 1), batch_rows):
            frame = chunk.slice(start, batch_rows)
            if frame.height == 0:
                continue
            frame = _with_attributes(frame, plan, n_universe)
            for column in seen:
                seen[column] += frame.height - frame[column].null_count()
            scored = _score(profile, space, frame, n_universe)
            groups.add(scored, n_universe)  # whole-universe de-duplication (lookalikes.dedup)
            if text is not None:  # description text part (lookalikes.text)
                scored = text.add(scored, frame)
            n_universe += scored.height
            for tier, count in scored["tier"].value_counts().iter_rows():
                tier_counts[tier] += int(count)
            if index is not None:
                scored, excluded = _exclude(scored, index, include_customers)
                n_excluded += excluded
            # only the best `keep` rows seen so far can still make the list: memory stays bounded
            scored = scored.with_columns(
                (pl.col("tier").replace_strict(tier_rank, return_dtype=pl.Int32) * 1000 + pl.col("rank_score")).alias("_key")
            )  # fmt: skip
            both = scored if kept is None else pl.concat([kept, scored], how="diagonal_relaxed")
            kept = both.sort(["_key", "_row"], descending=[True, False]).head(keep)
    if n_universe == 0 or kept is None:
        raise SchemaError("the universe has no rows to rank")
    missing = tuple(c for c, n in seen.items() if n == 0)
    if len(missing) == len(seen):
        raise SchemaError(
            f"the universe has no value in any of the profile's attributes {list(seen)}; map its "
            "columns with --map or --columns"
        )
    # --- whole-universe de-duplication (lookalikes.dedup) ---
    if isinstance(universe, pl.DataFrame):
        groups.resolve(frame_lookup(universe))
    elif isinstance(universe, Rereadable):
        groups.resolve(universe.lookup)
    companies = groups.summary()
    deduped = groups.merge(kept, rank_column="_key")
    n_dup = companies["n_listings"] - companies["n_companies"]
    # --- end de-duplication ---
    top_rows = deduped.sort(["_key", "_row"], descending=[True, False]).head(top)
    out = _explain(profile, space, top_rows, show_names)
    out = out.drop("_key", "_row", "_nearest").with_row_index("rank", offset=1)
    return Lookalikes(
        frame=out,
        n_universe=n_universe,
        n_excluded=n_excluded,
        n_duplicates=n_dup,
        n_best=0 if best is None else best.height,
        missing_attributes=missing,
        tier_counts=tier_counts,
        text=text_part.summary(text, text_note),
        companies=companies,
    )


def _polars(frame: Any) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pd.DataFrame):
        return pl.from_pandas(frame)
    raise SchemaError(f"expected a polars or pandas DataFrame; got {type(frame).__name__}")


def _best_accounts(crm: CrmData) -> pl.DataFrame:
    from icpkit.outcomes import compute_outcomes

    outcomes = compute_outcomes(crm)
    labels = outcomes.labels_for(crm.accounts)
    return crm.accounts.filter(pl.Series(labels == "best"))


def _with_attributes(frame: pl.DataFrame, plan: ScoringPlan, offset: int) -> pl.DataFrame:
    """Add the attribute columns the universe lacks (as missing), an id, and check that at least
    one attribute the profile uses is there."""
    needed = plan.columns
    missing = tuple(c for c in needed if c not in frame.columns)
    if len(missing) == len(needed):
        raise SchemaError(
            f"the universe has none of the profile's attributes {list(needed)} (columns found: "
            f"{frame.columns[:30]}); map its columns with --map or rename them"
        )
    types = _attribute_types(plan)
    frame = frame.with_columns(pl.lit(None, dtype=types.get(c, pl.Utf8)).alias(c) for c in missing)
    if "account_id" in frame.columns:
        ids = pl.col("account_id").cast(pl.Utf8)
        ids = (
            pl.when(ids.is_null() | (ids == ""))
            .then(pl.lit("row ") + pl.int_range(offset, offset + frame.height).cast(pl.Utf8))
            .otherwise(ids)
        )
    else:
        ids = pl.lit("row ") + pl.int_range(offset, offset + frame.height).cast(pl.Utf8)
    return frame.with_columns(ids.alias("company_id"))


def _attribute_types(plan: ScoringPlan) -> dict[str, Any]:
    types: dict[str, Any] = {}
    for f in plan.card.features:
        if f.kind == "numeric":
            types[f.column] = pl.Float64
        elif f.kind == "tag":
            types[f.column] = pl.List(pl.Utf8)
    for rule in (*plan.criteria, *plan.disqualifiers):
        for c in parse_segment(rule):
            if c.op == "contains":
                types[c.attr] = pl.List(pl.Utf8)
            elif c.op == "range":
                types[c.attr] = pl.Float64
    return types


def _score(
    profile: IcpProfile, space: _Space | None, frame: pl.DataFrame, offset: int
) -> pl.DataFrame:
    """Fit (no reasons yet: they are built for the final list only) and likeness of a batch."""
    scored = score_frame(profile, frame, reasons=False).drop("reasons")
    n = frame.height
    if space is None:
        similarity = np.full(n, np.nan)
        n_similar = np.zeros(n, dtype=np.int64)
        nearest = np.zeros((n, 0), dtype=np.int32)
    else:
        similarity, n_similar, nearest = space.compare(space.table(frame))
    fit = scored["fit_score"].cast(pl.Float64).to_numpy()
    rank_score = np.where(np.isnan(similarity), fit, (fit + 100 * np.nan_to_num(similarity)) / 2)
    return scored.with_columns(
        pl.Series("similarity", np.round(similarity, 3)),
        pl.Series("similar_best_customers", n_similar),
        pl.Series("rank_score", np.round(rank_score, 1)),
        pl.Series("_nearest", nearest.astype(np.int32)),
        pl.int_range(offset, offset + n, dtype=pl.Int64).alias("_row"),
    )


def _explain(
    profile: IcpProfile, space: _Space | None, rows: pl.DataFrame, show_names: bool
) -> pl.DataFrame:
    """Reasons, the shared traits in words and (when asked) the nearest customers' names."""
    reasons = score_frame(profile, rows.drop("reasons", strict=False))["reasons"]
    if space is None or rows.height == 0:
        why = rows["tier"].to_list()
        extra: list[pl.Series] = []
    else:
        codes = space.card.codes(space.table(rows))
        nearest = np.asarray(rows["_nearest"].to_list(), dtype=np.int64).reshape(rows.height, -1)
        traits = [space.traits(codes[i], nearest[i]) for i in range(rows.height)]
        why = [
            _why(tier, int(k), text, has_space=True)
            for tier, k, text in zip(rows["tier"].to_list(), rows["similar_best_customers"], traits, strict=True)
        ]  # fmt: skip
        extra = []
        if show_names and space.names:
            names = ["; ".join(str(space.names[b]) for b in nearest[i]) for i in range(rows.height)]
            extra.append(pl.Series("nearest_best_customers", names, dtype=pl.Utf8))
    why = text_part.explain(why, rows)  # "· description close to N of your best customers"
    return rows.with_columns(reasons.alias("reasons"), pl.Series("why", why, dtype=pl.Utf8), *extra)


def _why(tier: str, n_similar: int, traits: str, *, has_space: bool) -> str:
    if not has_space:
        return tier
    who = "best customer" if n_similar == 1 else "best customers"
    text = f"{tier} · similar to {n_similar} of your {who}"
    return f"{text} ({traits})" if traits else text


def _exclude(scored: pl.DataFrame, index: CompanyIndex, include: bool) -> tuple[pl.DataFrame, int]:
    empty = pl.repeat(None, scored.height, dtype=pl.Utf8, eager=True)
    domains = scored["domain"].cast(pl.Utf8) if "domain" in scored.columns else empty
    names = scored["name"].cast(pl.Utf8) if "name" in scored.columns else empty
    match = index.match(domains, names)
    hit = pl.Series([m is not None for m in match.account_id])
    if include:
        return scored.with_columns(
            pl.Series("customer_match", match.account_id, dtype=pl.Utf8),
            pl.Series("match_kind", match.kind, dtype=pl.Utf8),
            pl.Series("match_score", match.score, dtype=pl.Float64),
        ), 0
    return scored.filter(~hit), int(hit.sum())


class _Space:
    """The best customers in the scorecard's encoded space, for exact nearest-neighbour search."""

    def __init__(self, card: Scorecard, best: pl.DataFrame, neighbours: int) -> None:
        self.card = card
        self.neighbours = max(1, min(neighbours, best.height))
        self.features = [
            (j, f)
            for j, f in enumerate(card.features)
            if f.role == "attribute" and f.kind != "rule"
        ]
        pts = card.points
        self.weight = np.array([float(max(pts[j]) - min(pts[j])) for j, _ in self.features])
        self.offsets = np.concatenate([[0], np.cumsum([f.n_bins for _, f in self.features])])
        self.names = best["name"].cast(pl.Utf8).to_list() if "name" in best.columns else []
        self.best_codes = card.codes(self.table(best))
        self.best = self._vectors(self.best_codes)

    def _vectors(self, codes: np.ndarray) -> sparse.csr_matrix:
        """Weighted one-hot rows, unit length; missing bins and 'lacks tag' are no dimension."""
        n = codes.shape[0]
        rows, cols, vals = [], [], []
        for k, (j, f) in enumerate(self.features):
            if self.weight[k] <= 0:
                continue
            code = codes[:, j].astype(np.int64)
            observed = np.ones(n, dtype=bool)
            if f.kind in ("numeric", "categorical"):
                observed = code != f.n_bins - 1  # the last bin is 'missing'
            elif f.kind == "tag":
                observed = code == 1 if f.tag else np.zeros(n, dtype=bool)
            idx = np.flatnonzero(observed)
            rows.append(idx)
            cols.append(self.offsets[k] + code[idx])
            vals.append(np.full(len(idx), np.sqrt(self.weight[k])))
        if not rows:
            return sparse.csr_matrix((n, int(self.offsets[-1])))
        matrix = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, int(self.offsets[-1])),
        )
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.diags(1 / norms) @ matrix

    def table(self, frame: pl.DataFrame) -> pa.Table:
        return pa.table({c: frame[c].to_arrow() for c in self.card.columns})

    def compare(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean similarity to the nearest best customers, how many are similar, and which."""
        codes = self.card.codes(table)
        universe = self._vectors(codes)
        n = codes.shape[0]
        m = self.best.shape[0]
        step = max(1, MAX_CELLS // max(m, 1))
        similarity = np.empty(n)
        n_similar = np.empty(n, dtype=np.int64)
        nearest = np.empty((n, self.neighbours), dtype=np.int64)
        best = self.best.T.toarray().astype(
            np.float32
        )  # (dims, best): dense BLAS beats sparse here
        for start in range(0, n, step):
            block = universe[start : start + step].toarray().astype(np.float32) @ best
            k = self.neighbours
            if k < m:
                idx = np.argpartition(block, m - k, axis=1)[:, m - k :]
            else:
                idx = np.tile(np.arange(m), (block.shape[0], 1))
            top = np.take_along_axis(block, idx, axis=1)
            similarity[start : start + step] = top.mean(axis=1)
            n_similar[start : start + step] = (block >= SIMILAR_AT - 1e-6).sum(axis=1)
            nearest[start : start + step] = idx
        return similarity, n_similar, nearest

    def traits(self, row: np.ndarray, nearest: np.ndarray) -> str:
        """Up to three positive-point traits the row shares with most of its nearest best customers."""
        shared: list[tuple[int, str]] = []
        half = len(nearest) / 2
        for j, f in self.features:
            code = int(row[j])
            points = self.card.points[j][code]
            if points <= 0 or _is_missing_bin(f, code):
                continue
            if (self.best_codes[nearest, j] == code).sum() >= half:
                shared.append((points, _trait_text(f, code)))
        shared.sort(key=lambda p: -p[0])
        return ", ".join(text for _, text in shared[:3])


def _is_missing_bin(f: Feature, code: int) -> bool:
    if f.kind in ("numeric", "categorical"):
        return code == f.n_bins - 1 or (f.kind == "categorical" and code == f.n_bins - 2)
    return f.kind == "tag" and (f.tag == "" or code == 0)


def _trait_text(f: Feature, code: int) -> str:
    if f.kind == "tag":
        return f"uses {f.tag}"
    return f.labels[code]
