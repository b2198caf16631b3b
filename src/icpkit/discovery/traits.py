"""The single-trait profile: every candidate condition, best vs rest and worst vs rest."""

from __future__ import annotations

from typing import Any

import numpy as np

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import pack, popcount
from icpkit.discovery.statistics import lift_interval, two_sided_p
from icpkit.stats import bh_q_values, wilson_bounds


def _group_columns(table: ConditionTable, target: np.ndarray, name: str) -> dict[str, np.ndarray]:
    """Share, lift (with interval) and two-sided p of each condition for one target group."""
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
        f"q_{name}": bh_q_values(p),
        "support": size,
    }


def single_traits(
    table: ConditionTable, best: np.ndarray, worst: np.ndarray
) -> list[dict[str, Any]]:
    """One record per condition: how common it is among the best and the worst customers.

    ``share_best`` is the share of best customers with the trait (Wilson 95 % interval
    ``share_best_lo``–``share_best_hi``), ``share_not_best`` the share among the other ranked
    accounts, ``lift_best`` the best-customer rate among accounts with the trait ÷ the overall rate,
    ``p_best`` a two-sided Fisher (small samples) or chi-square test and ``q_best`` its
    Benjamini–Hochberg q-value over all traits; the same with ``worst``. Sorted by ``q_best``.
    """
    if len(table) == 0:
        return []
    columns = {**_group_columns(table, best, "best"), **_group_columns(table, worst, "worst")}
    records = []
    for j, cond in enumerate(table.conditions):
        row: dict[str, Any] = {"rule": str(cond), "attribute": cond.attr}
        for key, values in columns.items():
            value = values[j]
            row[key] = int(value) if key.startswith("n_") or key == "support" else float(value)
        records.append(row)
    return sorted(records, key=lambda r: (r["q_best"], -r["lift_best"]))
