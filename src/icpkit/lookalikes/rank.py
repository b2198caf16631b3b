"""Rank a company universe by fit and by likeness to the best customers, customers excluded.

Each universe company gets two numbers, shown apart and never blended out of sight:

- **fit**: ``fit_score`` and ``tier`` from the profile, exactly as ``icpkit score`` computes them;
- **likeness**: the cosine similarity of the company to its ``neighbours`` nearest best customers in
  the scorecard's encoded space (one dimension per readable bin of each attribute, weighted by how
  much that attribute moves the score; a missing value is no dimension, so an attribute the universe
  lacks neither helps nor hurts). Exact nearest neighbours by default: blocked matrix products
  over the dimensions the best customers use (exact, so a row's similarity is the same in any
  batch: :mod:`icpkit.lookalikes.dots`), then a row sort for the nearest;
  ``index="ann"`` searches a faiss IVF index over the best customers instead (the ``ann`` extra;
  it pays only when the best customers number in the tens of thousands, see docs/lookalikes.md).

The list is ordered by tier, then ``rank_score``, the mean of the fit score and of each likeness
part on 0–100 ((fit_score + 100 · similarity) / 2; with descriptions on both sides, the weighted
mean with ``text_score``: :mod:`icpkit.lookalikes.text`). Each row says why in words: "Tier 1 ·
similar to 3 of your best customers (industry = 'Software', uses Snowflake)". Customers' names
appear only with ``show_names`` (target lists travel).

Scale: the universe streams in batches; memory is bounded by the batch and the ``keep`` candidates.
Fit is computed for every company, the likeness parts only for companies that can still enter the
candidates. Each part lies in [0, 1], so the fit alone bounds ``rank_score`` from above and below;
a company whose upper bound is below the ``keep``-th best lower bound seen so far cannot make the
list and is skipped. The pruning is exact: the list is the one every company fully scored gives.
(With the description part on, it is one more part in these bounds for the rows that have a
description, so only the rows that can still make the list have their description embedded.)
Duplicates (one company listed several times) are folded across the whole universe
(:mod:`icpkit.lookalikes.dedup`).
"""

from __future__ import annotations

import io
import math
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
from icpkit.lookalikes.dots import dots, fixed, mean_top
from icpkit.lookalikes.match import CompanyIndex
from icpkit.profile import IcpProfile
from icpkit.rules import parse_segment
from icpkit.scoring.apply import ScoringPlan, score_frame
from icpkit.scoring.binning import Feature
from icpkit.scoring.card import Scorecard
from icpkit.vocab import TIERS

NEIGHBOURS = 5
_DESCRIBED = "_described"  # per batch row: has a description (the text part's pruning bounds)
SIMILAR_AT = 0.8  # cosine similarity at or above which a best customer counts as "similar"
MAX_CELLS = 2_000_000  # similarity cells per block (float64: 16 MB)
INDEXES = ("exact", "ann")
NPROBE = 8
TEXT_WEIGHT = 0.5  # weight of the description part in rank_score (lookalikes.text_weight)
TEXT_NEIGHBOURS = 10  # best customers' descriptions compared (lookalikes.text_neighbours)
_TIER_RANK = {t: len(TIERS) - i for i, t in enumerate(TIERS)}  # Tier 1 → 4 … Non-fit → 1
# a company whose known values carry less than this share of the scorecard's weight ranks after
# every company known well enough, whatever its tier (its tier rests mostly on missing values)
KNOWN_AT = 0.5


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
    profile: IcpProfile, universe: Any, crm: CrmData | None = None, **options: Any
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
    **options
        Passed to :func:`rank_universe`: ``best`` (the best customers' account rows; default the
        CRM's accounts labelled best by outcomes), ``top``, ``include_customers``, ``show_names``,
        ``neighbours``, ``batch_rows``, ``index`` ("exact", or "ann": a faiss IVF index, ``ann``
        extra; ``nlist`` IVF cells, 0 = about 4·√best, and ``nprobe`` cells searched),
        ``text_weight`` and ``text_neighbours``.

    Returns
    -------
    The same frame type as ``universe``: the ranked targets (see :func:`rank_universe`).
    """
    result = rank_universe(profile, _polars(universe), crm, **options)
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
    index: str = "exact",
    nlist: int = 0,
    nprobe: int = NPROBE,
    text_weight: float = TEXT_WEIGHT,
    text_neighbours: int = TEXT_NEIGHBOURS,
) -> Lookalikes:
    """Rank a universe (a frame, or an iterator of frames streamed from a large file)."""
    if top < 1:
        raise ConfigError(f"--top must be at least 1; got {top}")
    if index not in INDEXES:
        raise ConfigError(f"index must be one of {list(INDEXES)}; got {index!r}")
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be at least 1; got {batch_rows}")
    plan = ScoringPlan.from_profile(profile)
    card = plan.card
    if best is None and crm is not None:
        best = _best_accounts(crm)
    space = None
    if best is not None and best.height:
        space = _Space(card, best, neighbours, index=index, nlist=nlist, nprobe=nprobe)
    companies = CompanyIndex(customer_accounts(crm)) if crm is not None else None
    # --- description text part (lookalikes.text) ---
    text, text_note = text_part.TextPart.build(
        best, crm.accounts if crm is not None else None, weight=text_weight,
        neighbours=text_neighbours,
    )  # fmt: skip
    # --- end text part ---
    groups = UniverseGroups()  # whole-universe de-duplication (lookalikes.dedup)
    weights = _attribute_weights(card)
    keep = max(3 * top, top + 100)  # candidates kept: duplicates are removed at the end
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
            scored = _fit(profile, frame, n_universe, weights)
            groups.add(scored, n_universe)  # whole-universe de-duplication (lookalikes.dedup)
            if text is not None:  # rows with a description: the text part's bounds (and its note)
                scored = scored.with_columns(pl.Series(_DESCRIBED, text.count(frame)))
            n_universe += scored.height
            for tier, count in scored["tier"].value_counts().iter_rows():
                tier_counts[tier] += int(count)
            if companies is not None:
                scored, excluded = _exclude(scored, companies, include_customers)
                n_excluded += excluded
            # only rows that can still be among the best `keep` get their likeness computed, and
            # only the best `keep` rows seen so far are kept: memory stays bounded
            scored = _likeness(space, _prune(scored, kept, keep, space, text))
            if text is not None:  # the description part, on the rows that can still make the list
                scored = _with_text(text, scored, scored).drop(_DESCRIBED)
            both = scored if kept is None else pl.concat([kept, scored], how="diagonal_relaxed")
            kept = _owned(both.sort(["_key", "_row"], descending=[True, False]).head(keep))
    if n_universe == 0 or kept is None:
        raise SchemaError("the universe has no rows to rank")
    missing = tuple(c for c, n in seen.items() if n == 0)
    if len(missing) == len(seen):
        raise SchemaError(
            f"the universe has no value in any of the profile's attributes {list(seen)}; map its "
            "columns with --map or --columns"
        )
    if space is not None and space.ann is not None:
        # the index chose the candidates; their numbers are recomputed exactly
        kept = _likeness(space.exact(), kept.drop("similarity", "similar_best_customers", "rank_score", "_key"))  # fmt: skip
        if text is not None:
            kept = _with_text(text, kept, kept)
    # --- whole-universe de-duplication (lookalikes.dedup) ---
    if isinstance(universe, pl.DataFrame):
        groups.resolve(frame_lookup(universe))
    elif isinstance(universe, Rereadable):
        groups.resolve(universe.lookup)
    listings = groups.summary()
    deduped = groups.merge(kept, rank_column="_key")
    n_dup = listings["n_listings"] - listings["n_companies"]
    # --- end de-duplication ---
    top_rows = deduped.sort(["_key", "_row"], descending=[True, False]).head(top)
    out = _explain(profile, space, top_rows, show_names)
    out = out.drop("_key", "_row").with_row_index("rank", offset=1)
    return Lookalikes(
        frame=out,
        n_universe=n_universe,
        n_excluded=n_excluded,
        n_duplicates=n_dup,
        n_best=0 if best is None else best.height,
        missing_attributes=missing,
        tier_counts=tier_counts,
        text=text_part.summary(text, text_note),
        companies=listings,
    )


def _owned(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy that holds its own buffers. Rows taken from a batch keep views into the batch's
    whole string buffers; kept candidates drawn from many batches would keep them all alive
    (memory grew with the universe, 1.8 GB at 10M rows)."""
    if any(dtype == pl.Object for dtype in frame.dtypes):
        return frame  # Python objects (from a pandas frame) do not go through IPC
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    buffer.seek(0)
    return pl.read_ipc(buffer)


def _polars(frame: Any) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pd.DataFrame):
        try:
            return pl.from_pandas(frame)
        except (pa.ArrowException, TypeError, ValueError):
            mixed = [str(c) for c in frame.columns if frame[c].dtype == object]
            raise SchemaError(
                "the universe frame has values that are neither text, numbers nor dates (in one "
                f"of its object columns {mixed[:20]}); convert or drop them"
            ) from None
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


_MATCH_COLUMNS = ("customer_match", "match_kind", "match_score")


def _fit(
    profile: IcpProfile, frame: pl.DataFrame, offset: int, weights: dict[str, float]
) -> pl.DataFrame:
    """Fit of a batch (no reasons yet: they are built for the final list only), the share of the
    scorecard's weight the row's known values carry, and a row number."""
    scored = score_frame(profile, frame, reasons=False).drop("reasons")
    return scored.with_columns(
        pl.Series("known_share", _known_share(frame, weights)),
        pl.int_range(offset, offset + frame.height, dtype=pl.Int64).alias("_row"),
    )


def _attribute_weights(card: Scorecard) -> dict[str, float]:
    """Each attribute's point span (its most minus its fewest points) in the scorecard."""
    weights: dict[str, float] = {}
    for feature, points in zip(card.features, card.points, strict=True):
        if feature.kind != "rule" and points:
            weights[feature.column] = weights.get(feature.column, 0.0) + max(points) - min(points)
    return weights


def _known_share(frame: pl.DataFrame, weights: dict[str, float]) -> np.ndarray:
    """Per row, the share of the attributes' weight whose value is known (1 without weights).

    A company the universe knows little about scores from its missing bins; ranked by that alone,
    the emptiest rows of a sparse universe would come first."""
    total = sum(weights.values())
    if total <= 0:
        return np.ones(frame.height)
    known = np.zeros(frame.height)
    for column, weight in weights.items():
        if column in frame.columns:
            values = frame[column]
            present = values.is_not_null()
            if isinstance(values.dtype, pl.List):
                present = present & (values.list.len() > 0)
            elif values.dtype == pl.Utf8:
                present = present & (values.str.strip_chars() != "")
            known += weight * present.to_numpy()
    return np.round(known / total, 3)


def _with_text(text: text_part.TextPart, scored: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """The description part added to scored rows (aligned with ``frame``) and the sort key
    recomputed from the re-combined ``rank_score``."""
    scored = text.add(scored, frame)
    return scored.with_columns(
        pl.Series("_key", _tier_key(scored) + scored["rank_score"].to_numpy())
    )


def _parts(space: _Space | None) -> int:
    """How many likeness parts ``rank_score`` averages with the fit (each on 0–100)."""
    return 0 if space is None else 1


def _rank_score(fit: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
    """The mean of the fit score and of each likeness part (in [0, 1], shown × 100); a part that is
    NaN for a row (not measurable there) is left out of that row's mean."""
    total = fit.astype(np.float64).copy()
    count = np.ones(len(fit))
    for part in parts:
        known = ~np.isnan(part)
        total += np.where(known, 100 * np.nan_to_num(part), 0.0)
        count += known
    return np.round(total / count, 1)


def _tier_key(scored: pl.DataFrame) -> np.ndarray:
    """The row's weight in the sort key before ``rank_score``: known enough (+10000, see
    KNOWN_AT), then the tier (Tier 1 → 4000 … Non-fit → 1000)."""
    tier = scored["tier"].replace_strict(_TIER_RANK, return_dtype=pl.Int32).to_numpy() * 1000.0
    return tier + 10000.0 * (scored["known_share"].to_numpy() >= KNOWN_AT)


def _prune(
    scored: pl.DataFrame,
    kept: pl.DataFrame | None,
    keep: int,
    space: _Space | None,
    text: text_part.TextPart | None = None,
) -> pl.DataFrame:
    """Drop the rows that cannot be among the best ``keep`` whatever their likeness.

    With parts of total weight n, each in [0, 1], a row's ``rank_score`` lies between
    fit / (n + 1) and (fit + 100 n) / (n + 1). If at least ``keep`` rows (kept ones, or this
    batch's by their lower bound) are known to reach a key t, a row whose upper bound is below t
    cannot make the list. The description part (``text_score`` / 100, weight ``text.weight``)
    counts for the rows with a description (column ``_DESCRIBED``), so the text is embedded only
    for the rows that can still make the list.
    """
    n: float | np.ndarray = float(_parts(space))
    if text is not None and _DESCRIBED in scored.columns:
        n = n + text.weight * scored[_DESCRIBED].to_numpy()
    if scored.height == 0:
        return scored
    fit = scored["fit_score"].cast(pl.Float64).to_numpy()
    tier = _tier_key(scored)
    margin = 0.1  # rank_score is rounded to 0.1; float32 similarities may pass 1 by an ulp
    low = tier + fit / (n + 1) - margin
    high = tier + (fit + 100 * n) / (n + 1) + margin
    floor = low if kept is None else np.concatenate([kept["_key"].to_numpy(), low])
    if len(floor) < keep:
        return scored
    threshold = np.partition(floor, len(floor) - keep)[len(floor) - keep]
    return scored.filter(pl.Series(high >= threshold))


def _likeness(space: _Space | None, scored: pl.DataFrame) -> pl.DataFrame:
    """The likeness columns, ``rank_score`` and the sort key of the rows."""
    n = scored.height
    if space is None or n == 0:
        similarity = np.full(n, np.nan)
        n_similar = np.zeros(n, dtype=np.int64)
    else:
        similarity, n_similar = space.compare(space.table(scored))
    fit = scored["fit_score"].cast(pl.Float64).to_numpy()
    rank_score = _rank_score(fit, [similarity])
    matches = [c for c in _MATCH_COLUMNS if c in scored.columns]
    return (
        scored.drop(*matches, "_row")
        .with_columns(
            pl.Series("similarity", np.round(similarity, 3)),
            pl.Series("similar_best_customers", n_similar),
            pl.Series("rank_score", rank_score),
        )
        .hstack(scored.select("_row", *matches))
        .with_columns(pl.Series("_key", _tier_key(scored) + rank_score))
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
        table = space.table(rows)
        codes = space.card.codes(table)
        nearest = space.nearest(table)
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
    why = [
        w if share >= KNOWN_AT else f"{w} · little known: {share:.0%} of the scorecard's weight"
        for w, share in zip(why, rows["known_share"].to_list(), strict=True)
    ]
    return rows.with_columns(reasons.alias("reasons"), pl.Series("why", why, dtype=pl.Utf8), *extra)


def _why(tier: str, n_similar: int, traits: str, *, has_space: bool) -> str:
    if not has_space:
        return tier
    who = "best customer" if n_similar == 1 else "best customers"
    text = f"{tier} · similar to {n_similar} of your {who}"
    return f"{text} ({traits})" if traits else text


def _exclude(scored: pl.DataFrame, index: CompanyIndex, include: bool) -> tuple[pl.DataFrame, int]:
    domains = scored["domain"].cast(pl.Utf8) if "domain" in scored.columns else None
    names = (
        scored["name"].cast(pl.Utf8)
        if "name" in scored.columns
        else pl.repeat(None, scored.height, dtype=pl.Utf8, eager=True)
    )
    match = index.match_frame(domains, names)
    if include:
        return scored.hstack(match), 0
    hit = match["customer_match"].is_not_null()
    return scored.filter(~hit), int(hit.sum())


class _Space:
    """The best customers in the scorecard's encoded space, for nearest-neighbour search."""

    def __init__(
        self,
        card: Scorecard,
        best: pl.DataFrame,
        neighbours: int,
        *,
        index: str = "exact",
        nlist: int = 0,
        nprobe: int = NPROBE,
    ) -> None:
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
        dense = self._vectors(self.best_codes).toarray()
        # only the dimensions some best customer uses can add to a dot product
        self.support = np.flatnonzero((dense != 0).any(axis=0))
        self.column = np.full(int(self.offsets[-1]), -1, dtype=np.int64)
        self.column[self.support] = np.arange(len(self.support))
        self.best = np.ascontiguousarray(dense[:, self.support].T, dtype=np.float32)  # (dims, best)
        self.best_fixed = fixed(self.best)  # for exact, batch-independent dot products
        self.ann = _IvfIndex(self.best.T, nlist, nprobe) if index == "ann" else None

    def exact(self) -> _Space:
        """This space searched exactly (the same vectors, no index)."""
        if self.ann is None:
            return self
        twin = object.__new__(_Space)
        twin.__dict__.update(self.__dict__)
        twin.ann = None
        return twin

    def _vectors(self, codes: np.ndarray) -> sparse.csr_matrix:
        """Weighted one-hot rows, unit length; missing bins and 'lacks tag' are no dimension."""
        n = codes.shape[0]
        rows, cols, vals = [], [], []
        for k, (j, f) in enumerate(self.features):
            if self.weight[k] <= 0:
                continue
            code = codes[:, j].astype(np.int64)
            idx = np.flatnonzero(self._observed(f, code))
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

    @staticmethod
    def _observed(f: Feature, code: np.ndarray) -> np.ndarray:
        if f.kind in ("numeric", "categorical"):
            return code != f.n_bins - 1  # the last bin is 'missing'
        if f.kind == "tag":
            return code == 1 if f.tag else np.zeros(len(code), dtype=bool)
        return np.ones(len(code), dtype=bool)

    def encode(self, codes: np.ndarray) -> np.ndarray:
        """Unit-length vectors of the rows (float32, the best customers' dimensions only): the
        same numbers as ``_vectors``, built with a few numpy passes per feature."""
        n = codes.shape[0]
        squares = np.zeros(n)
        observed: list[tuple[int, np.ndarray, np.ndarray]] = []
        for k, (j, f) in enumerate(self.features):
            if self.weight[k] <= 0:
                continue
            code = codes[:, j].astype(np.int64)
            seen = self._observed(f, code)
            squares += np.where(seen, np.sqrt(self.weight[k]) ** 2, 0.0)
            observed.append((k, code, seen))
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        inverse = 1 / norms
        out = np.zeros((n, len(self.support)), dtype=np.float32)
        for k, code, seen in observed:
            column = self.column[self.offsets[k] + np.where(seen, code, 0)]
            rows = np.flatnonzero(seen & (column >= 0))
            out[rows, column[rows]] = inverse[rows] * np.sqrt(self.weight[k])
        return out

    def table(self, frame: pl.DataFrame) -> pa.Table:
        return pa.table({c: frame[c].to_arrow() for c in self.card.columns})

    def _codes(self, table: pa.Table) -> np.ndarray:
        """Bin codes of the attribute features only (rule features are not in the space)."""
        codes = np.zeros((table.num_rows, len(self.card.features)), dtype=np.int32, order="F")
        for j, f in self.features:
            codes[:, j] = f.codes(table)
        return codes

    def compare(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """Mean similarity to the nearest best customers, and how many are similar."""
        vectors = self.encode(self._codes(table))
        if self.ann is not None:
            return self.ann.compare(vectors, self.neighbours)
        n = vectors.shape[0]
        m = self.best.shape[1]
        k = self.neighbours
        similarity = np.empty(n)
        n_similar = np.empty(n, dtype=np.int64)
        step = max(1, MAX_CELLS // max(m, 1))
        # exact dot products: a row's similarity is the same bits in any batch (lookalikes.dots)
        for start in range(0, n, step):
            block = dots(fixed(vectors[start : start + step]), self.best_fixed)
            n_similar[start : start + step] = (block >= SIMILAR_AT - 1e-6).sum(axis=1)
            block.sort(axis=1)  # a SIMD sort of each row beats a partition on tied values
            similarity[start : start + step] = mean_top(block[:, m - k :], k)
        return similarity, n_similar

    def nearest(self, table: pa.Table) -> np.ndarray:
        """Indices of the nearest best customers of each row (exact; for the final list)."""
        block = dots(fixed(self.encode(self._codes(table))), self.best_fixed)
        m = block.shape[1]
        k = self.neighbours
        if k < m:
            return np.argpartition(block, m - k, axis=1)[:, m - k :]
        return np.tile(np.arange(m), (block.shape[0], 1))

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


class _IvfIndex:
    """A faiss IVF index (inner product on unit vectors = cosine) over the best customers.

    It pays when the best customers are many (tens of thousands): each company is compared with
    the customers of ``nprobe`` of ``nlist`` cells instead of all of them. The mean similarity of
    the nearest is then a lower bound (a neighbour in an unprobed cell is missed), and
    ``similar_best_customers`` counts the similar customers in the probed cells.
    """

    def __init__(self, best: np.ndarray, nlist: int, nprobe: int) -> None:
        try:
            import faiss
        except ImportError:
            raise ConfigError(
                "lookalikes index 'ann' needs faiss: pip install 'icpkit[ann]' (or use the "
                "default exact search, which is as fast or faster below ~5,000 best customers)"
            ) from None
        if nprobe < 1 or nlist < 0:
            raise ConfigError(f"ann index: nlist must be ≥ 0 and nprobe ≥ 1; got {nlist}, {nprobe}")
        m, dims = best.shape
        self.nlist = nlist or auto_nlist(m)
        if self.nlist > m:
            raise ConfigError(f"ann index: nlist {self.nlist} is more than the {m} best customers")
        self.nprobe = min(nprobe, self.nlist)
        vectors = np.ascontiguousarray(best, dtype=np.float32)
        quantizer = faiss.IndexFlatIP(dims)
        self.index = faiss.IndexIVFFlat(quantizer, dims, self.nlist, faiss.METRIC_INNER_PRODUCT)
        self.index.cp.seed = 1234  # the same cells on every run
        self.index.train(vectors)
        self.index.add(vectors)
        self.index.nprobe = self.nprobe
        self.quantizer = quantizer  # faiss does not own it from Python

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Similarities (descending; 0 where fewer than k were found) and ids (−1) of the top k."""
        sims, ids = self.index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        sims[ids < 0] = 0.0
        return sims, ids

    def compare(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        sims, _ = self.search(vectors, k)
        similarity = sims[:, ::-1].mean(axis=1).astype(np.float64)
        lims, _, _ = self.index.range_search(
            np.ascontiguousarray(vectors, dtype=np.float32), SIMILAR_AT - 1e-6
        )
        return similarity, np.diff(lims).astype(np.int64)


def auto_nlist(n_best: int) -> int:
    """IVF cells for ``n_best`` customers: about 4·√n, and at least 39 customers per cell (what
    faiss's k-means wants to train on)."""
    return max(1, min(int(4 * math.sqrt(n_best)), n_best // 39))


def _is_missing_bin(f: Feature, code: int) -> bool:
    if f.kind in ("numeric", "categorical"):
        return code == f.n_bins - 1 or (f.kind == "categorical" and code == f.n_bins - 2)
    return f.kind == "tag" and (f.tag == "" or code == 0)


def _trait_text(f: Feature, code: int) -> str:
    if f.kind == "tag":
        return f"uses {f.tag}"
    return f.labels[code]
