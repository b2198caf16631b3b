"""Score a few accounts given as plain dicts, without building a frame: the API's fast path.

A single account scored through :class:`~icpkit.scoring.apply.ScoringPlan` costs ~10 ms, almost
all of it fixed overhead (a polars frame, an Arrow table, one polars query per rule condition).
``RecordScorer`` compiles the same plan once per version into per-bin lookups and per-condition
predicates over Python values, and gives the same ``fit_score``, ``fit_probability``, ``tier``,
``reasons``, ``criteria_met`` and ``disqualifiers_hit`` (``tests/test_scoring_records.py`` checks
every account of the synthetic CRM and the edge values: bin edges, missing, NaN, unseen levels).

It only takes what it can score exactly as the frame path would: a column typed Int64/Int32,
Float64/Float32, String, Boolean or List(String) in the workspace, and record values of exactly the
Python type that column holds (an int for an integer column, an int or float for a float one, …).
Anything else — a date column, a value the frame path would first cast, a rule it cannot test —
makes :meth:`RecordScorer.compile` or :meth:`RecordScorer.score` return ``None``, and the caller
takes the frame path, which also gives the same errors as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from icpkit.rules import Condition, parse_segment
from icpkit.scoring.apply import ScoringPlan
from icpkit.scoring.bands import DEFAULT_BANDS, BandScale, calibrate_one
from icpkit.scoring.binning import Feature
from icpkit.scoring.card import SCORE_MAX
from icpkit.scoring.explain import SEPARATOR, TOP, bin_words, reason_points, reason_text
from icpkit.scoring.tiers import TierCuts
from icpkit.vocab import TIERS

EXACT = (-(2**53), 2**53)  # ints a float64 holds exactly (Arrow's safe cast refuses the rest)
INT32 = (-(2**31), 2**31 - 1)
Predicate = Callable[[Any], bool]
Coder = Callable[[Mapping[str, Any]], int]


def _kind(dtype: pl.DataType) -> str | None:
    """The value family a workspace column holds, or None when the fast path does not take it."""
    if dtype in (pl.Int64, pl.Int32):
        return "int"
    if dtype in (pl.Float64, pl.Float32):
        return "float"
    if dtype == pl.Utf8:
        return "str"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.List) and dtype.inner == pl.Utf8:
        return "list"
    return None


def _accepts(kind: str, dtype: pl.DataType, value: Any) -> bool:
    """True when ``value`` has exactly the Python type the frame path would keep uncast."""
    if value is None:
        return True
    if kind == "int":
        low, high = INT32 if dtype == pl.Int32 else EXACT
        return type(value) is int and low <= value <= high
    if kind == "float":  # Float32 rounding and -0.0 are left to the frame path
        if dtype != pl.Float64:
            return False
        if type(value) is int:
            return EXACT[0] <= value <= EXACT[1]
        return type(value) is float and not (value == 0 and math.copysign(1.0, value) < 0)
    if kind == "str":
        return type(value) is str
    if kind == "bool":
        return type(value) is bool
    return type(value) is list and all(type(v) is str for v in value)


def _number(value: Any) -> float:
    """A numeric value as the frame path reads it: float, NaN for missing."""
    return math.nan if value is None else float(value)


def _predicate(condition: Condition, kind: str) -> Predicate | None:
    """``Condition.expr`` over one Python value of a column of ``kind`` (None: not testable)."""
    op, target = condition.op, condition.value
    if op == "missing":
        return lambda v: v is None or (isinstance(v, float) and math.isnan(v))
    if op == "contains":
        return (lambda v: v is not None and target in v) if kind == "list" else None
    if op == "range":
        if kind not in ("int", "float"):
            return None
        lo, hi = target

        def in_range(v: Any) -> bool:
            x = _number(v)
            return lo <= x < hi  # NaN compares False

        return in_range
    values = (target,) if op == "eq" else tuple(target)
    if all(isinstance(v, str) for v in values):
        return (lambda v: v is not None and v in values) if kind == "str" else None
    if any(isinstance(v, bool) for v in values):
        if kind != "bool" or not all(isinstance(v, bool) for v in values):
            return None
        return lambda v: v is not None and v in values
    if kind not in ("int", "float"):
        return None
    numbers = frozenset(float(v) for v in values)
    return lambda v: v is not None and _number(v) in numbers


@dataclass(frozen=True)
class _Rule:
    text: str
    tests: tuple[tuple[str, Predicate], ...]

    def count(self, record: Mapping[str, Any]) -> int:
        return sum(test(record.get(attr)) for attr, test in self.tests)

    def met(self, record: Mapping[str, Any]) -> bool:
        return all(test(record.get(attr)) for attr, test in self.tests)


def _rule(text: str, kinds: Mapping[str, str]) -> _Rule | None:
    tests = []
    for condition in parse_segment(text):
        kind = kinds.get(condition.attr)
        test = None if kind is None else _predicate(condition, kind)
        if test is None:
            return None
        tests.append((condition.attr, test))
    return _Rule(text, tuple(tests))


def _coder(feature: Feature, kinds: Mapping[str, str]) -> Coder | None:
    """The bin code of one record for one feature, as ``Feature.codes`` gives it."""
    if feature.kind == "rule":
        rule = _rule(feature.rule, kinds)
        return None if rule is None else (lambda r: int(rule.met(r)))
    column, kind = feature.column, kinds.get(feature.column)
    if feature.kind == "numeric" and kind in ("int", "float"):
        cuts = tuple(float(c) for c in feature.cuts)
        missing = len(cuts) + 1

        def numeric(r: Mapping[str, Any]) -> int:
            x = _number(r.get(column))
            return missing if math.isnan(x) else sum(x >= c for c in cuts)

        return numeric
    if feature.kind == "categorical" and kind in ("str", "bool"):
        lookup = {v: i for i, v in enumerate(feature.levels)}
        other, missing = len(feature.levels), len(feature.levels) + 1

        def categorical(r: Mapping[str, Any]) -> int:
            v = r.get(column)
            if v is None:
                return missing
            return lookup.get(("true" if v else "false") if isinstance(v, bool) else v, other)

        return categorical
    if feature.kind == "tag" and kind == "list":
        tag = feature.tag
        if tag == "":
            return lambda r: int(r.get(column) is None)
        return lambda r: int(r.get(column) is not None and tag in r[column])
    return None


@dataclass(frozen=True)
class RecordScorer:
    """A :class:`ScoringPlan` compiled for dict records typed like the workspace's accounts."""

    columns: tuple[str, ...]
    kinds: Mapping[str, str]
    dtypes: Mapping[str, pl.DataType]
    coders: tuple[Coder, ...]
    points: tuple[tuple[int, ...], ...]
    texts: tuple[tuple[str, ...], ...]  # reason text per bin
    listed: tuple[tuple[int, ...], ...]  # points a bin is listed with as a reason (reason_points)
    base: int
    probability: tuple[float, ...]
    criteria: tuple[_Rule, ...]
    disqualifiers: tuple[_Rule, ...]
    forcing: tuple[bool, ...]  # disqualifiers that override the score (the rest subtract points)
    cuts: tuple[int, int, int]
    bands: BandScale = DEFAULT_BANDS

    @classmethod
    def compile(cls, plan: ScoringPlan, schema: Mapping[str, pl.DataType]) -> RecordScorer | None:
        """The fast scorer of ``plan`` for columns typed as in ``schema``; None when any column,
        feature or rule is one it does not take (then every record goes the frame path)."""
        kinds: dict[str, str] = {}
        dtypes: dict[str, pl.DataType] = {}
        for column in plan.columns:
            kind = _kind(schema[column]) if column in schema else None
            if kind is None:
                return None
            kinds[column], dtypes[column] = kind, schema[column]
        coders = [_coder(f, kinds) for f in plan.card.features]
        criteria = [_rule(r, kinds) for r in plan.criteria]
        disqualifiers = [_rule(r, kinds) for r in plan.disqualifiers]
        if any(x is None for x in (*coders, *criteria, *disqualifiers)):
            return None
        card = plan.card
        texts = tuple(
            tuple(reason_text(int(p), bin_words(f, k)) for k, p in enumerate(pts))
            for f, pts in zip(card.features, card.points, strict=True)
        )
        return cls(
            columns=plan.columns,
            kinds=kinds,
            dtypes=dtypes,
            coders=tuple(c for c in coders if c is not None),
            points=card.points,
            texts=texts,
            listed=tuple(reason_points(card)),
            base=card.base,
            probability=card.probability,
            criteria=tuple(r for r in criteria if r is not None),
            disqualifiers=tuple(r for r in disqualifiers if r is not None),
            forcing=tuple(r not in plan.soft for r in plan.disqualifiers),
            cuts=(plan.cuts.tier1, plan.cuts.tier2, plan.cuts.tier3),
            bands=plan.bands,
        )

    def accepts(self, record: Mapping[str, Any]) -> bool:
        """True when every scored value of ``record`` is one this scorer takes as it is."""
        return all(_accepts(self.kinds[c], self.dtypes[c], record.get(c)) for c in self.columns)

    def score(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """The output columns of one record (text lists joined with '; ', like the frame path),
        or None when the record holds a value the frame path would first cast."""
        if not self.accepts(record):
            return None
        codes = [code(record) for code in self.coders]
        points = [self.points[j][k] for j, k in enumerate(codes)]
        score = self.base + sum(points)
        ranked = sorted(range(len(points)), key=lambda j: (-points[j], j))
        pros = [j for j in ranked if self.listed[j][codes[j]] > 0][:TOP]
        cons = [
            j for j in sorted(range(len(points)), key=lambda j: (points[j], j)) if points[j] < 0
        ]
        reasons = [self.texts[j][codes[j]] for j in (*pros, *cons[:TOP])]
        met = [rule.met(record) for rule in self.criteria]
        hit = [rule.met(record) for rule in self.disqualifiers]
        probability = self.probability[min(max(score, 0), SCORE_MAX)] if self.probability else None
        calibrated, band = calibrate_one(score, TierCuts(*self.cuts), self.bands)
        return {
            "fit_score": score,
            "fit_probability": None
            if probability is None or math.isnan(probability)
            else probability,
            "tier": TIERS[self._tier(score, record, met, hit)],
            "reasons": SEPARATOR.join(reasons),
            "criteria_met": SEPARATOR.join(
                r.text for r, m in zip(self.criteria, met, strict=True) if m
            ),
            "disqualifiers_hit": SEPARATOR.join(
                r.text for r, h in zip(self.disqualifiers, hit, strict=True) if h
            ),
            "calibrated_score": calibrated,
            "fit_band": band,
        }

    def _tier(
        self, score: int, record: Mapping[str, Any], met: Sequence[bool], hit: Sequence[bool]
    ) -> int:
        """``assign_tiers`` for one row."""
        if any(h and f for h, f in zip(hit, self.forcing, strict=True)):
            return 3
        if self.criteria:
            meets = any(met)
            near = any(rule.count(record) >= len(rule.tests) - 1 for rule in self.criteria)
        else:
            meets = near = True
        tier1, tier2, tier3 = self.cuts
        if meets and score >= tier1:
            return 0
        if near and score >= tier2:
            return 1
        return 2 if score >= tier3 else 3
