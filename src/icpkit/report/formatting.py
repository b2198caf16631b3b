"""Numbers and names as a reader wants them: ``41%``, ``2.6×``, ``2.2–3.0``, ``52,000``, ``<0.001``.

The report never computes statistics; it only chooses how a stored number is printed. The format
follows the field name (a ``*_rate`` is a percentage, a ``lift`` a multiplier), so tables whose
shape belongs to another module (validation KPIs, tiers, gains) still print cleanly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DASH = "–"
_SHARE_WORDS = ("share", "rate", "coverage", "precision", "recall", "pct", "percent", "ratio")
_MONEY_WORDS = ("value", "acv", "revenue", "amount", "arr", "mrr", "ltv", "cost", "price")
_HEADERS = {
    "rule": "rule",
    "description": "in plain words",
    "support": "accounts",
    "coverage": "coverage",
    "precision": "precision",
    "lift_ci": "lift 95% CI",
    "q_value": "q",
    "p_value": "p",
    "holdout_lift": "holdout lift",
    "min_score": "score from",
    "share_best": "share of best",
    "share_rest": "share of rest",
    "share_worst": "share of worst",
    "share_not_best": "share of others",
    "lift_best": "lift (best)",
    "lift_best_ci": "lift 95% CI",
    "q_best": "q (best)",
    "lift_worst": "lift (worst)",
    "q_worst": "q (worst)",
    "share_accounts": "share of accounts",
    "share_wins": "share of wins",
}


def percent(x: float) -> str:
    """``0.414`` → ``41%``; shares under 1% print as ``<1%`` rather than a misleading ``0%``."""
    if not math.isfinite(x):
        return DASH
    if 0 < abs(x) < 0.01:
        return "<1%" if x > 0 else "-<1%"
    return f"{x:.0%}"


def lift(x: float) -> str:
    """``2.55`` → ``2.6×``."""
    if not math.isfinite(x):
        return "∞" if x > 0 else DASH
    return f"{x:.1f}×"


def q_value(x: float) -> str:
    """Multiple-testing-adjusted significance: ``<0.001``, three decimals below 0.01 (``0.008``),
    else two significant digits."""
    if not math.isfinite(x):
        return DASH
    if x < 0.001:
        return "<0.001"
    if x < 0.01:
        return f"{x:.3f}"
    return f"{x:.2g}" if x < 1 else number(x)


def number(x: float) -> str:
    """A plain number without spurious digits: ``52,000``, ``14.3``, ``0.333``."""
    if not math.isfinite(x):
        return "∞" if x > 0 else ("-∞" if x < 0 else DASH)
    if float(x).is_integer() or abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.3g}"
    # Below 1, three decimals at most: 0.0625 reads as 0.063, and what rounds to zero says so.
    if abs(x) < 0.0005:
        return "<0.001" if x > 0 else ">-0.001"
    return f"{x:.3f}".rstrip("0").rstrip(".")


def money(x: float) -> str:
    """An amount: ``8,800`` as it is, ``56,159`` as ``56k``, ``2,300,000`` as ``2.3M``."""
    if not math.isfinite(x) or abs(x) < 10_000:
        return number(x)
    if abs(x) < 1_000_000:
        return f"{x / 1000:,.0f}k"
    return f"{x / 1_000_000:,.1f}M"


def interval(low: float, high: float, kind: str = "lift") -> str:
    """A confidence interval as ``2.2–3.0`` (lift) or ``44–60%`` (shares)."""
    if kind == "share":
        return f"{percent(low).rstrip('%')}{DASH}{percent(high)}"
    if kind == "lift":
        return f"{lift(low).rstrip('×')}{DASH}{lift(high)}"
    return f"{number(low)}{DASH}{number(high)}"


def kind_of(key: str) -> str:
    """How a field is printed, from its name: share, lift, q, money, points or number."""
    name = key.lower().removesuffix("_ci")
    if "lift" in name:
        return "lift"
    if name in {"q", "p"} or name.startswith(("q_", "p_")):
        return "q"
    if any(w in name for w in _SHARE_WORDS):
        return "share"
    if any(w in name for w in _MONEY_WORDS):
        return "money"
    return "number"


def value(key: str, x: Any) -> str:
    """Format one stored field for display, by its name and type."""
    if x is None:
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        kind = kind_of(key)
        if kind == "share" and -1.0 <= x <= 1.0:
            return percent(x)
        formats = {"lift": lift, "q": q_value, "money": money}
        return formats.get(kind, number)(x)
    if _is_pair(x):
        kind = kind_of(key)
        return interval(float(x[0]), float(x[1]), kind if kind in ("share", "lift") else "number")
    if isinstance(x, Sequence) and not isinstance(x, str):
        return ", ".join(value(key, v) for v in x)
    if isinstance(x, Mapping):
        return "; ".join(f"{header(k)} {value(k, v)}" for k, v in x.items())
    return str(x)


def _is_pair(x: Any) -> bool:
    return (
        isinstance(x, (list, tuple))
        and len(x) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x)
    )


def header(key: str) -> str:
    """A column header from a field name: ``n_accounts`` → ``accounts``, ``win_rate`` → ``win rate``

    Known names have a fixed header; others lose the ``n_`` prefix and underscores.
    """
    if key in _HEADERS:
        return _HEADERS[key]
    text = key.removeprefix("n_") if key.startswith("n_") else key
    text = text.replace("_", " ")
    if text.endswith(" ci"):
        text = text[:-3] + " 95% CI"
    return text


@dataclass(frozen=True)
class Table:
    """A display table: headers, rows of text, and which columns are numeric (right-aligned)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]

    def __bool__(self) -> bool:
        return bool(self.rows)


def records_table(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    limit: int | None = None,
) -> Table:
    """A display table from a list of result records (dicts), formatting each field by its name.

    ``columns`` picks and orders fields; by default every scalar field in first-seen order (nested
    dicts are left out: they belong in their own table).
    """
    rows = list(records)[:limit] if limit else list(records)
    if columns is None:
        seen: dict[str, None] = {}
        for r in rows:
            seen.update({k: None for k, v in r.items() if not isinstance(v, Mapping)})
        columns = list(seen)
    # a column with no value in any row says nothing (e.g. holdout lift before a holdout exists)
    columns = [c for c in columns if any(r.get(c) is not None for r in rows)]
    numeric = tuple(
        all(_is_numberish(r.get(c)) for r in rows if r.get(c) is not None) for c in columns
    )
    body = tuple(tuple(value(c, r.get(c)) for c in columns) for r in rows)
    return Table(tuple(header(c) for c in columns), body, numeric)


def _is_numberish(x: Any) -> bool:
    return (isinstance(x, (int, float)) and not isinstance(x, bool)) or _is_pair(x)
