"""Sets of categorical levels as conditions: ``industry in ('Healthcare', 'Manufacturing')``.

When two industries both belong to the ICP, a search over single levels finds each half on its
own, or only one. So before the search, each categorical attribute also offers the sets made of its
levels with the highest target rate: the top 2, the top 3, … (at most ``MAX_SET`` levels, only
levels above the base rate). The rates come from the search half only, so the held-out half never
helps to choose a set. A set's bitset is the OR of its levels' bitsets; nothing is re-read from
the accounts table. Levels that do not earn their place in a found segment are trimmed later
(:mod:`icpkit.discovery.refine`).
"""

from __future__ import annotations

import numpy as np

from icpkit.discovery.attributes import ConditionTable
from icpkit.discovery.bitsets import pack, popcount
from icpkit.rules import Condition

# Longer lists stop reading as one trait.
MAX_SET = 5


def level_index(table: ConditionTable) -> dict[tuple[str, object], int]:
    """Row of the ``attr = 'level'`` condition of every level that has one."""
    return table.level_rows


def level_set_bits(
    table: ConditionTable, cond: Condition, levels: dict[tuple[str, object], int] | None = None
) -> np.ndarray | None:
    """Bitset of an ``in (…)`` condition as the OR of its levels' ``=`` conditions, or None
    when a level has no ``=`` condition in the table."""
    if cond.op != "in":
        return None
    levels = level_index(table) if levels is None else levels
    rows = [levels.get((cond.attr, v)) for v in cond.value]
    if not rows or any(r is None for r in rows):
        return None
    return np.bitwise_or.reduce(table.bits[[int(r) for r in rows if r is not None]], axis=0)


def set_condition(attr: str, values: tuple[object, ...]) -> Condition:
    """``attr = v`` for one level, ``attr in (…)`` for more, levels in a stable order."""
    if len(values) == 1:
        return Condition(attr, "eq", values[0])
    return Condition(attr, "in", tuple(sorted(values, key=str)))


def with_level_sets(
    table: ConditionTable, search: np.ndarray, target: np.ndarray
) -> ConditionTable:
    """``table`` plus, per categorical attribute, the sets of its top 2 … ``MAX_SET`` levels by
    target rate on the ``search`` rows (boolean masks over the table's rows).

    Parameters
    ----------
    table : ConditionTable
        Conditions over all ranked accounts.
    search : np.ndarray
        The rows whose target rates order the levels (the search half).
    target : np.ndarray
        Whether each row is in the target group.

    Returns
    -------
    ConditionTable
        The same table with the level sets appended (each on its attribute's index).
    """
    search_bits, hit_bits = pack(search), pack(search & target)
    base = float(np.count_nonzero(search & target)) / max(int(np.count_nonzero(search)), 1)
    existing = set(table.conditions)
    extra: list[tuple[Condition, np.ndarray, int]] = []
    for attr in dict.fromkeys(c.attr for c in table.conditions):
        rows = [j for j, c in enumerate(table.conditions) if c.attr == attr and c.op == "eq"]
        if len(rows) < 3:
            continue
        size = popcount(table.bits[rows] & search_bits)
        rate = popcount(table.bits[rows] & hit_bits) / np.maximum(size, 1)
        above = [rows[i] for i in np.argsort(-rate, kind="stable") if rate[i] > base]
        for k in range(2, min(MAX_SET, len(above), len(rows) - 1) + 1):
            chosen = above[:k]
            cond = set_condition(attr, tuple(table.conditions[j].value for j in chosen))
            if cond not in existing:
                bits = np.bitwise_or.reduce(table.bits[chosen], axis=0)
                extra.append((cond, bits, int(table.attr_index[rows[0]])))
    if not extra:
        return table
    return ConditionTable(
        (*table.conditions, *(c for c, _, _ in extra)),
        np.concatenate([table.bits, np.stack([b for _, b, _ in extra])]),
        np.concatenate([table.attr_index, np.array([a for _, _, a in extra], dtype=np.int64)]),
        table.n_rows,
    )
