"""The single-trait profile: how each attribute's values split the best customers from the others.

One record per readable row, grouped by attribute (the attribute whose strongest row is most
significant first):

- a numeric attribute: its non-overlapping bins in value order (``kind = "bin"``; the shares of
  the best customers and of the other ranked accounts each sum to 1 over the bins, so the rows
  compare), then the single best threshold (``kind = "threshold"``: the ``< c`` or ``≥ c`` split with
  the smallest p-value);
- a categorical attribute: its levels by lift, highest first (``kind = "level"``);
- a tag column: its tags by lift (``kind = "tag"``);
- ``is missing`` when missing values are common enough (``kind = "missing"``).

The search's conditions also hold every run of adjacent bins; those overlap and are left out here.

The q-values are selection-aware (:mod:`icpkit.discovery.selection`): each row's p-value is
adjusted for the choice among its attribute's rows (bins, thresholds, levels), the attribute must
pass Benjamini–Hochberg across attributes, and a row's q-value is the larger of the two.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import pack, popcount
from icpkit.discovery.selection import hierarchical_q
from icpkit.discovery.statement import describe_condition
from icpkit.discovery.statistics import lift_interval, two_sided_p
from icpkit.profile import SingleTrait
from icpkit.rules import Condition
from icpkit.stats import wilson_bounds


def _group_columns(
    table: ConditionTable, target: np.ndarray, name: str, shown: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """Share, lift (with interval), two-sided p and selection-aware q of each condition for one
    target group (q only for the ``shown`` conditions, NaN for the others)."""
    n_total = table.n_rows
    n_target = int(np.count_nonzero(target))
    size = popcount(table.bits)
    hits = popcount(table.bits & pack(target))
    share = hits / max(n_target, 1)
    share_lo, share_hi = wilson_bounds(hits, n_target)
    rest_share = (size - hits) / max(n_total - n_target, 1)
    base = n_target / max(n_total, 1)
    lift = (hits / np.maximum(size, 1)) / max(base, 1e-12)
    lift_lo, lift_hi = lift_interval(hits, size, base)
    p = np.array(
        [two_sided_p(int(h), int(s), n_target, n_total) for h, s in zip(hits, size, strict=True)]
    )
    q = np.full(len(p), np.nan)
    if shown.any():
        rows = np.flatnonzero(shown)
        q[rows] = hierarchical_q(
            table.bits[rows], n_total, target, p[rows], table.attr_index[rows], seed=seed
        )
    return {
        f"n_{name}": hits,
        f"share_{name}": share,
        f"share_{name}_lo": share_lo,
        f"share_{name}_hi": share_hi,
        f"share_not_{name}": rest_share,
        f"lift_{name}": lift,
        f"lift_{name}_lo": lift_lo,
        f"lift_{name}_hi": lift_hi,
        f"p_{name}": p,
        f"q_{name}": q,
        "support": size,
    }


def _kind(cond: Condition, edges: set[float]) -> str | None:
    """The row kind of a condition, or None for a run of bins (it overlaps the bins)."""
    if cond.op == "range":
        lo, hi = cond.value
        if not any(lo < e < hi for e in edges):
            return "bin"
        return "threshold" if math.isinf(lo) or math.isinf(hi) else None
    return {"eq": "level", "in": "level", "contains": "tag", "missing": "missing"}[cond.op]


def single_traits(
    table: ConditionTable, best: np.ndarray, worst: np.ndarray, seed: int = 0
) -> list[SingleTrait]:
    """The readable single-trait rows of every attribute (see the module docstring).

    Each row (a :class:`~icpkit.profile.SingleTrait`): ``rule`` (rule text), ``label`` (plain words), ``attribute``, ``kind``,
    ``support`` (accounts with the trait), ``share_best`` (share of the best customers with it,
    Wilson 95 % interval ``share_best_lo``–``share_best_hi``), ``share_not_best`` (share of the
    other ranked accounts), ``lift_best`` (best-customer rate with the trait ÷ overall rate, with
    interval), ``p_best`` (two-sided Fisher for small samples, else chi-square; the row's own
    test) and ``q_best`` (selection-aware, see :mod:`icpkit.discovery.selection`; its null draws
    are seeded by ``seed``); the same with ``worst``.
    """
    if len(table) == 0:
        return []
    edges: dict[str, set[float]] = {}
    for cond in table.conditions:
        if cond.op == "range":
            edges.setdefault(cond.attr, set()).update(e for e in cond.value if math.isfinite(e))
    kinds = [_kind(cond, edges.get(cond.attr, set())) for cond in table.conditions]
    shown = np.array([k is not None for k in kinds])
    columns = {
        **_group_columns(table, best, "best", shown, seed),
        **_group_columns(table, worst, "worst", shown, seed),
    }
    by_attr: dict[str, list[tuple[Condition, dict[str, Any]]]] = {}
    for j, cond in enumerate(table.conditions):
        kind = kinds[j]
        if kind is None:
            continue
        row: dict[str, Any] = {
            "rule": str(cond),
            "label": describe_condition(cond),
            "attribute": cond.attr,
            "kind": kind,
        }
        for key, values in columns.items():
            value = values[j]
            row[key] = int(value) if key.startswith("n_") or key == "support" else float(value)
        by_attr.setdefault(cond.attr, []).append((cond, row))
    out: list[dict[str, Any]] = []
    for rows in sorted(by_attr.values(), key=lambda rs: min(r["q_best"] for _, r in rs)):
        out += _ordered(rows)
    return [SingleTrait.model_validate(row) for row in out]


def _ordered(rows: list[tuple[Condition, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Bins by value, then the best threshold; levels and tags by lift; missing last."""
    bins = [r for c, r in sorted(rows, key=lambda cr: _low(cr[0])) if r["kind"] == "bin"]
    thresholds = [r for _, r in rows if r["kind"] == "threshold"]
    best_cut = min(thresholds, key=lambda r: (r["p_best"], -r["lift_best"]), default=None)
    levels = sorted(
        (r for _, r in rows if r["kind"] in ("level", "tag")),
        key=lambda r: (-r["lift_best"], -r["support"]),
    )
    missing = [r for _, r in rows if r["kind"] == "missing"]
    return [*bins, *([best_cut] if best_cut else []), *levels, *missing]


def _low(cond: Condition) -> float:
    return float(cond.value[0]) if cond.op == "range" else math.inf
