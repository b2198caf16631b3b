"""Score any account table with a profile: fit score, probability, tier, reasons, criteria.

``ScoringPlan`` is the one path every caller goes through (``score_frame``, ``IcpProfile.score``,
bulk ``score_file``, learned and hand-written profiles alike): it works on Arrow tables so a
Parquet batch, a polars frame and a pandas frame are scored by the same code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from icpkit.errors import ConfigError, SchemaError
from icpkit.rules import parse_segment
from icpkit.scoring.bands import DEFAULT_BANDS, BandScale, calibrate
from icpkit.scoring.binning import condition_mask
from icpkit.scoring.card import Scorecard
from icpkit.scoring.explain import SEPARATOR, Explanation, explanation, top_reasons
from icpkit.scoring.tiers import Fit, TierCuts, assign_tiers, cuts_of
from icpkit.vocab import TIERS

if TYPE_CHECKING:
    from icpkit.profile import IcpProfile

OUTPUT_COLUMNS = (
    "fit_score",
    "fit_probability",
    "tier",
    "reasons",
    "criteria_met",
    "disqualifiers_hit",
    "calibrated_score",
    "fit_band",
)
# A scored file also carries every point: base_score + Σ points_<attribute> = fit_score, exactly.
FILE_OUTPUTS = (*OUTPUT_COLUMNS, "points")


@dataclass(frozen=True)
class RuleMasks:
    """Which rows meet each criterion (or nearly), and which hit each disqualifier."""

    met: np.ndarray  # (rows, criteria) bool
    near: np.ndarray  # (rows, criteria) bool: at most one condition missed
    hit: np.ndarray  # (rows, disqualifiers) bool
    forcing: np.ndarray | None = None  # (disqualifiers,) bool: overrides the score; None = all

    def fit(self, has_criteria: bool) -> Fit:
        n = self.met.shape[0]
        hits = self.hit if self.forcing is None else self.hit[:, self.forcing]
        disqualified = np.asarray(hits.any(axis=1)) if hits.shape[1] else np.zeros(n, bool)
        if not has_criteria:  # no criteria: tiers follow the score alone
            every = np.ones(n, dtype=bool)
            return Fit(every, every, disqualified)
        return Fit(
            np.asarray(self.met.any(axis=1)),
            np.asarray(self.near.any(axis=1)),
            disqualified,
        )


@dataclass(frozen=True)
class ScoringPlan:
    """A profile compiled for scoring: the points table, the rules and the tier cuts."""

    card: Scorecard
    criteria: tuple[str, ...]
    disqualifiers: tuple[str, ...]
    cuts: TierCuts
    soft: frozenset[str] = frozenset()  # disqualifiers that only subtract points (weak evidence)
    bands: BandScale = DEFAULT_BANDS  # calibrated_score and fit_band (scoring/bands.py)

    @classmethod
    def from_profile(cls, profile: IcpProfile, bands: BandScale | None = None) -> ScoringPlan:
        if profile.scorecard is None:
            raise ConfigError("this profile has no scorecard yet (run `icpkit build` first)")
        return cls(
            card=Scorecard.from_dict(profile.scorecard),
            criteria=tuple(c.rule for c in profile.criteria),
            disqualifiers=tuple(d.rule for d in profile.disqualifiers),
            cuts=cuts_of(profile.tiers),
            soft=frozenset(d.rule for d in profile.disqualifiers if not d.forces_nonfit),
            bands=bands or BandScale(),
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column scoring reads."""
        rule_cols = [
            a for r in (*self.criteria, *self.disqualifiers) for a in parse_segment(r).attrs
        ]
        return tuple(dict.fromkeys([*self.card.columns, *rule_cols]))

    def points_groups(self) -> dict[str, list[int]]:
        """``points_<attribute>`` column name → the scorecard features it adds up.

        Attribute features group by their column (every tag of ``tech_stack`` adds into
        ``points_tech_stack``); rule features are ``points_criterion_<n>``,
        ``points_disqualifier_<n>`` or ``points_rule_<n>`` in scorecard order.
        """
        groups: dict[str, list[int]] = {}
        counts: dict[str, int] = {}
        for j, f in enumerate(self.card.features):
            if f.kind == "rule":
                role = f.role if f.role in ("criterion", "disqualifier") else "rule"
                counts[role] = counts.get(role, 0) + 1
                name = f"points_{role}_{counts[role]}"
            else:
                name = f"points_{f.column}"
            groups.setdefault(name, []).append(j)
        return groups

    def points_columns(self) -> list[str]:
        return list(self.points_groups())

    def check_columns(self, present: list[str], origin: str = "input") -> None:
        missing = [c for c in self.columns if c not in set(present)]
        if missing:
            raise SchemaError(
                f"{origin}: cannot score: the profile needs attribute columns {missing}, which are "
                f"not in the input (columns found: {present[:30]}). Rename the columns to the "
                f"profile's attribute names, or add them empty to score them as missing."
            )

    def masks(self, batch: pa.Table) -> RuleMasks:
        n = batch.num_rows
        met = np.zeros((n, len(self.criteria)), dtype=bool)
        near = np.zeros_like(met)
        for j, rule in enumerate(self.criteria):
            conditions = parse_segment(rule).conditions
            count = np.zeros(n, dtype=np.int16)
            for c in conditions:
                count += condition_mask(c, batch.column(c.attr))
            met[:, j] = count == len(conditions)
            near[:, j] = count >= len(conditions) - 1
        hit = np.zeros((n, len(self.disqualifiers)), dtype=bool)
        for j, rule in enumerate(self.disqualifiers):
            segment = parse_segment(rule)
            hit[:, j] = np.logical_and.reduce(
                [condition_mask(c, batch.column(c.attr)) for c in segment.conditions]
            )
        forcing = np.array([r not in self.soft for r in self.disqualifiers], dtype=bool)
        return RuleMasks(met, near, hit, forcing)

    @functools.cached_property
    def _tier_table(self) -> tuple[int, np.ndarray]:
        """The tier of every possible score under each of the 8 (clear of forcing
        disqualifiers, near a criterion, meets one) combinations: ``assign_tiers`` once per
        score and combination, so a batch's tiers are one gather."""
        low, high = self.card.score_range()
        scores = np.arange(low, high + 1, dtype=np.int64)
        width = len(scores)
        table = np.empty((8, width), dtype=np.int8)
        for combo in range(8):
            flag = [np.full(width, bool(combo >> bit & 1)) for bit in range(3)]
            table[combo] = assign_tiers(scores, Fit(flag[0], flag[1], ~flag[2]), self.cuts)
        return low, table

    def tiers(self, scores: np.ndarray, masks: RuleMasks) -> np.ndarray:
        """``assign_tiers(scores, masks.fit(...), cuts)``, by a gather from :attr:`_tier_table`
        (every score lies in the scorecard's range: it is the base plus one bin's points a
        feature)."""
        low, table = self._tier_table
        index = np.subtract(scores, low, dtype=np.intp)
        forcing = masks.hit if masks.forcing is None else masks.hit[:, masks.forcing]
        if not self.criteria and not forcing.shape[1]:  # the score alone: one row of the table
            return table[0b111].take(index)
        fit = masks.fit(bool(self.criteria))
        combo = np.add(fit.meets_criterion, fit.near_criterion.astype(np.intp) << 1)
        combo += (~fit.disqualified).astype(np.intp) << 2
        return table.ravel().take(combo * table.shape[1] + index)

    def score_table(
        self,
        batch: pa.Table,
        reasons: bool = True,
        outputs: tuple[str, ...] = OUTPUT_COLUMNS,
        parallel: bool = True,
    ) -> pa.Table:
        """The ``outputs`` columns (default all ``OUTPUT_COLUMNS``) for a table of input rows.

        Only what the outputs need is computed: a score-only run never builds the bin codes,
        the rule masks or the reasons. ``parallel`` spreads a long batch over the scoring
        thread pool; callers that already score several batches at once (bulk files, Spark
        tasks) turn it off, as threads within a batch then only add overhead.
        """
        reasons = reasons and "reasons" in outputs
        if reasons or "points" in outputs:
            codes, points = self.card.codes_and_points(batch, parallel)
            scores = self.card.scores(points)
        else:
            scores = self.card.score_only(batch, parallel)
        columns: dict[str, pa.Array] = {"fit_score": pa.array(scores, pa.int16())}
        if "fit_probability" in outputs:
            p = self.card.probabilities(scores)
            columns["fit_probability"] = pa.array(p, pa.float64(), from_pandas=True)
        if {"tier", "criteria_met", "disqualifiers_hit"} & set(outputs):
            masks = self.masks(batch)
            tier = self.tiers(scores, masks)
            columns["tier"] = pa.DictionaryArray.from_arrays(
                pa.array(tier, pa.int8()), pa.array(TIERS)
            )
            columns["criteria_met"] = _rule_lists(masks.met, self.criteria)
            columns["disqualifiers_hit"] = _rule_lists(masks.hit, self.disqualifiers)
        if "reasons" in outputs:
            columns["reasons"] = (
                top_reasons(points, codes, self.card, parallel=parallel)
                if reasons
                else pa.nulls(batch.num_rows, pa.string())
            )
        if {"calibrated_score", "fit_band"} & set(outputs):
            read = calibrate(scores, self.cuts, self.bands)
            columns["calibrated_score"] = pa.array(read.calibrated, pa.int16())
            columns["fit_band"] = pa.DictionaryArray.from_arrays(
                pa.array(read.band, pa.int8()), pa.array(self.bands.names, pa.string())
            )
        if "points" in outputs:
            columns["base_score"] = pa.array(np.full(batch.num_rows, self.card.base, np.int16))
            for name, members in self.points_groups().items():
                columns[name] = pa.array(points[:, members].sum(axis=1, dtype=np.int16))
        names = [n for n in OUTPUT_COLUMNS if n in outputs]
        if "points" in outputs:
            names += ["base_score", *self.points_columns()]
        return pa.table({name: columns[name] for name in names})


def _rule_lists(masks: np.ndarray, rules: tuple[str, ...]) -> pa.Array:
    """The rules each row meets, joined with '; ', as a dictionary-encoded text column."""
    n, k = masks.shape
    if k == 0:
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([""]))
    if k > 60:
        return pa.array(
            [SEPARATOR.join(r for r, m in zip(rules, row, strict=True) if m) for row in masks]
        )
    bits = (masks.astype(np.int64) << np.arange(k, dtype=np.int64)).sum(axis=1)
    codes, uniques = pd.factorize(bits, sort=False)
    words = [SEPARATOR.join(r for i, r in enumerate(rules) if (int(u) >> i) & 1) for u in uniques]
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(words, pa.string()))


# ---------------------------------------------------------------------------------------------
# Frames in, frames out


def to_arrow(frame: Any, columns: tuple[str, ...]) -> pa.Table:
    """The named columns of a polars or pandas frame as an Arrow table."""
    if isinstance(frame, pl.DataFrame):
        return frame.select(columns).to_arrow()
    if isinstance(frame, pd.DataFrame):
        return pa.Table.from_pandas(frame[list(columns)], preserve_index=False)
    raise SchemaError(f"expected a polars or pandas DataFrame; got {type(frame).__name__}")


def _columns_of(frame: Any) -> list[str]:
    if isinstance(frame, pl.DataFrame | pd.DataFrame):
        return [str(c) for c in frame.columns]
    raise SchemaError(f"expected a polars or pandas DataFrame; got {type(frame).__name__}")


def score_frame(
    profile: IcpProfile, frame: Any, *, reasons: bool = True, bands: BandScale | None = None
) -> Any:
    """Score an account table with a profile; same frame type back, with the output columns added.

    Parameters
    ----------
    profile : IcpProfile
        A learned or hand-written profile (with a scorecard and tier cuts).
    frame : polars.DataFrame or pandas.DataFrame
        One row per account, with the profile's attribute columns (extra columns are kept).
    reasons : bool, default True
        Build the ``reasons`` text (the costly part on millions of rows); null when False.
    bands : BandScale, optional
        The band scale of ``calibrated_score`` / ``fit_band`` (default: MadKudu's).

    Returns
    -------
    Same type as ``frame``, with ``fit_score`` (0–100), ``fit_probability``, ``tier``
    ('Tier 1' | 'Tier 2' | 'Tier 3' | 'Non-fit'), ``reasons`` (top 3 for, then top 3 against,
    joined with '; '), ``criteria_met`` and ``disqualifiers_hit`` (rule texts joined with '; '),
    ``calibrated_score`` (0–100 on the band scale) and ``fit_band`` (``scoring/bands.py``).
    Existing columns of those names are replaced.

    Raises
    ------
    SchemaError
        When the frame lacks attribute columns the profile needs (all of them are named).
    """
    plan = ScoringPlan.from_profile(profile, bands)
    plan.check_columns(_columns_of(frame))
    out = plan.score_table(to_arrow(frame, plan.columns), reasons=reasons)
    if isinstance(frame, pl.DataFrame):
        scored = pl.from_arrow(out)
        assert isinstance(scored, pl.DataFrame)
        scored = scored.with_columns(
            pl.col("tier", "reasons", "criteria_met", "disqualifiers_hit", "fit_band").cast(pl.Utf8)
        )
        return frame.drop([c for c in OUTPUT_COLUMNS if c in frame.columns]).hstack(scored)
    result = out.to_pandas()
    for name in ("tier", "reasons", "criteria_met", "disqualifiers_hit", "fit_band"):
        result[name] = result[name].astype(object)
    result.index = frame.index
    kept = frame.drop(columns=[c for c in OUTPUT_COLUMNS if c in frame.columns])
    return pd.concat([kept, result], axis=1)


def explain_accounts(
    profile: IcpProfile, frame: Any, rows: list[int] | None = None
) -> list[Explanation]:
    """The full points breakdown of the chosen rows (default: all) of an account table."""
    plan = ScoringPlan.from_profile(profile)
    plan.check_columns(_columns_of(frame))
    table = to_arrow(frame, plan.columns)
    if rows is not None:
        table = table.take(pa.array(rows, pa.int64()))
    codes = plan.card.codes(table)
    scores = plan.card.scores(plan.card.points_matrix(codes))
    masks = plan.masks(table)
    tiers = assign_tiers(scores, masks.fit(bool(plan.criteria)), plan.cuts)
    out = []
    for i in range(table.num_rows):
        met = [r for r, m in zip(plan.criteria, masks.met[i], strict=True) if m]
        missed = [r for r in plan.criteria if r not in met]
        hit = [r for r, m in zip(plan.disqualifiers, masks.hit[i], strict=True) if m]
        out.append(explanation(plan.card, codes[i], TIERS[tiers[i]], met, missed, hit))
    return out
