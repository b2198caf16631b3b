"""What changed between two ICP versions, in words.

``diff_profiles`` compares two profiles: the success definition, criteria and disqualifiers added,
dropped, narrowed or widened (rules are compared condition by condition: the same attribute with a
tighter range or fewer categories is narrower, an extra condition narrows, a dropped one widens),
the statement, tier cut-offs, the evidence base, and the backtest KPIs stored with each version.
Given both versions' tiers for the same accounts it adds a tier-migration table.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import polars as pl

from icpkit.errors import ConfigError, SchemaError
from icpkit.profile import (
    IcpProfile,
    RuleEvidence,
    SuccessDefinition,
    SuccessMetricWeight,
    TiersSection,
    ValidationSection,
)
from icpkit.rules import Condition, parse_segment
from icpkit.stats import Estimate
from icpkit.vocab import SCORE_MAX

TIER_ORDER = ("Tier 1", "Tier 2", "Tier 3", "Non-fit")
KPI_WORDS = {
    "win_rate": "win rate",
    "conversion": "conversion",
    "avg_deal_size": "average deal size",
    "median_sales_cycle_days": "median sales cycle (days)",
    "ltv": "realised LTV",
    "churn_rate": "churn rate",
    "cac": "CAC",
}
PERCENT_KPIS = {"win_rate", "conversion", "churn_rate"}
KPI_GROUPS = ("Tier 1", "ICP", "Non-ICP")


@dataclass(frozen=True)
class Change:
    """One change between the versions: its kind, what it is about, and the words for it."""

    kind: str  # success | criterion | disqualifier | statement | tiers | kpi | data
    action: str  # added | dropped | narrowed | widened | changed
    subject: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProfileDiff:
    """The changelog from version ``label_a`` to ``label_b``."""

    label_a: str
    label_b: str
    changes: tuple[Change, ...]
    migration: tuple[dict[str, Any], ...] = field(default=())
    n_common_accounts: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label_a": self.label_a,
            "label_b": self.label_b,
            "changes": [c.to_dict() for c in self.changes],
            "migration": list(self.migration),
            "n_common_accounts": self.n_common_accounts,
        }

    def to_frame(self, table: Literal["changes", "migration"] = "changes") -> pl.DataFrame:
        """One row per change (kind, action, subject, text); or, with ``table="migration"``, the
        tier migration: rows the tier in A, columns the tier in B, cells counts."""
        if table == "migration":
            return self._migration_frame()
        schema = {"kind": pl.Utf8, "action": pl.Utf8, "subject": pl.Utf8, "text": pl.Utf8}
        return pl.DataFrame([c.to_dict() for c in self.changes], schema=schema)

    def _migration_frame(self) -> pl.DataFrame:
        if not self.migration:
            return pl.DataFrame()
        long = pl.DataFrame(list(self.migration))
        wide = long.pivot(on="tier_b", index="tier_a", values="n").fill_null(0)
        present = [t for t in TIER_ORDER if t in wide.columns]
        order = pl.DataFrame({"tier_a": list(TIER_ORDER)}).with_row_index("_o")
        wide = wide.join(order, on="tier_a", how="left").sort("_o").drop("_o")
        return wide.select("tier_a", *present)

    def summary_lines(self) -> list[str]:
        lines = [f"Changes from {self.label_a} to {self.label_b}:"]
        if not self.changes:
            lines.append(
                "  no change in criteria, disqualifiers, success definition, tiers or KPIs"
            )
        lines += [f"  - {c.text}" for c in self.changes]
        moved = [m for m in self.migration if m["tier_a"] != m["tier_b"]]
        if self.n_common_accounts is not None:
            n_moved = sum(m["n"] for m in moved)
            lines.append(
                f"Tier migration over {self.n_common_accounts} accounts scored by both: "
                f"{n_moved} changed tier."
            )
            for m in sorted(moved, key=lambda m: -m["n"]):
                lines.append(f"  {m['n']:>6} moved {m['tier_a']} → {m['tier_b']}")
        return lines

    def to_text(self) -> str:
        return "\n".join(self.summary_lines())


def diff_profiles(
    a: IcpProfile,
    b: IcpProfile,
    tiers_a: pl.DataFrame | None = None,
    tiers_b: pl.DataFrame | None = None,
    *,
    label_a: str = "A",
    label_b: str = "B",
) -> ProfileDiff:
    """Explain in words what changed from profile ``a`` to profile ``b``.

    Parameters
    ----------
    a, b : IcpProfile
        The older and the newer version.
    tiers_a, tiers_b : pl.DataFrame, optional
        ``account_id`` and ``tier`` of the same accounts scored by each version; when both are
        given the diff includes how many accounts moved between tiers.
    label_a, label_b : str
        Names of the versions in the text (e.g. 'v3', 'v4').
    """
    changes = [
        *_success_changes(a.success_definition, b.success_definition),
        *_rule_changes("criterion", a.criteria, b.criteria),
        *_rule_changes("disqualifier", a.disqualifiers, b.disqualifiers),
        *_statement_change(a.statement, b.statement),
        *_tier_changes(a.tiers, b.tiers),
        *_count_changes(a.counts, b.counts),
        *_kpi_changes(a.validation, b.validation),
    ]
    migration, n_common = _migration(tiers_a, tiers_b)
    return ProfileDiff(label_a, label_b, tuple(changes), tuple(migration), n_common)


# ---------------------------------------------------------------------------------------------
# Rules


def compare_rules(old: str, new: str) -> tuple[str, list[str]]:
    """How rule ``new`` relates to rule ``old``: narrowed, widened, changed or same, and why.

    Raises
    ------
    ConfigError
        When a rule cannot be read.
    """
    seg_old, seg_new = parse_segment(old), parse_segment(new)
    directions, details = [], []
    for attr in dict.fromkeys([*seg_old.attrs, *seg_new.attrs]):
        was = [c for c in seg_old if c.attr == attr]
        now = [c for c in seg_new if c.attr == attr]
        direction, detail = _compare_attribute(was, now)
        if direction != "same":
            directions.append(direction)
            details.append(detail)
    if not directions:
        return "same", []
    if set(directions) == {"narrowed"}:
        return "narrowed", details
    if set(directions) == {"widened"}:
        return "widened", details
    return "changed", details


def _compare_attribute(was: list[Condition], now: list[Condition]) -> tuple[str, str]:
    if not was:
        return "narrowed", f"adds {' AND '.join(map(str, now))}"
    if not now:
        return "widened", f"drops {' AND '.join(map(str, was))}"
    if set(was) == set(now):
        return "same", ""
    text = f"{' AND '.join(map(str, was))} → {' AND '.join(map(str, now))}"
    if len(was) == 1 and len(now) == 1:
        return _compare_condition(was[0], now[0]), text
    return "changed", text


def _compare_condition(was: Condition, now: Condition) -> str:
    if was.op == "range" and now.op == "range":
        (lo_a, hi_a), (lo_b, hi_b) = was.value, now.value
        if lo_a <= lo_b and hi_b <= hi_a:
            return "narrowed"
        if lo_b <= lo_a and hi_a <= hi_b:
            return "widened"
        return "changed"
    values_a, values_b = _categories(was), _categories(now)
    if values_a is not None and values_b is not None:
        if values_b < values_a:
            return "narrowed"
        if values_b > values_a:
            return "widened"
    return "changed"


def _categories(c: Condition) -> frozenset[Any] | None:
    if c.op == "eq":
        return frozenset([c.value])
    if c.op == "in":
        return frozenset(c.value)
    return None


def _rule_changes(kind: str, old: list[RuleEvidence], new: list[RuleEvidence]) -> list[Change]:
    old_rules = {r.rule: r for r in old}
    new_rules = {r.rule: r for r in new}
    changes = [
        c
        for r in old_rules
        if r in new_rules
        for c in _evidence_change(kind, old_rules[r], new_rules[r])
    ]
    gone = [r for r in old_rules if r not in new_rules]
    came = [r for r in new_rules if r not in old_rules]
    for before, after in _pair_by_attributes(gone, came):
        action, details = compare_rules(before, after)
        verb = {"narrowed": "narrowed", "widened": "widened"}.get(action, "changed")
        changes.append(
            Change(
                kind, verb, after, f"{kind} {verb}: {before!r} → {after!r} ({'; '.join(details)})"
            )
        )
        gone.remove(before)
        came.remove(after)
    changes += [Change(kind, "dropped", r, f"{kind} dropped: {r!r}") for r in gone]
    changes += [
        Change(kind, "added", r, f"{kind} added: {r!r}{_lift_text(new_rules[r])}") for r in came
    ]
    return changes


def _pair_by_attributes(gone: list[str], came: list[str]) -> list[tuple[str, str]]:
    """Pair old and new rules that test overlapping attributes (greedy, most overlap first)."""
    scored = []
    for g in gone:
        for c in came:
            overlap = _attribute_overlap(g, c)
            if overlap > 0:
                scored.append((overlap, g, c))
    pairs, used_g, used_c = [], set(), set()
    for _, g, c in sorted(scored, key=lambda t: -t[0]):
        if g not in used_g and c not in used_c:
            pairs.append((g, c))
            used_g.add(g)
            used_c.add(c)
    return pairs


def _attribute_overlap(a: str, b: str) -> float:
    try:
        attrs_a, attrs_b = set(parse_segment(a).attrs), set(parse_segment(b).attrs)
    except ConfigError:
        return 0.0
    union = attrs_a | attrs_b
    return len(attrs_a & attrs_b) / len(union) if union else 0.0


def _evidence_change(kind: str, old: RuleEvidence, new: RuleEvidence) -> list[Change]:
    """A kept rule whose evidence moved (lift by 0.25 or more, or its evidence grade)."""
    if abs(new.lift - old.lift) < 0.25 and new.evidence == old.evidence:
        return []
    grade = f", evidence {old.evidence} → {new.evidence}" if new.evidence != old.evidence else ""
    text = f"{kind} {new.rule!r} kept; lift {old.lift:.2f} → {new.lift:.2f}{grade}"
    return [Change(kind, "changed", new.rule, text)]


def _lift_text(rule: RuleEvidence) -> str:
    return f" (lift {rule.lift:.2f}, {rule.support} accounts, evidence {rule.evidence})"


# ---------------------------------------------------------------------------------------------
# Success, statement, tiers, counts, KPIs


def _success_changes(old: SuccessDefinition, new: SuccessDefinition) -> list[Change]:
    changes = []
    if old.metrics != new.metrics:
        before, after = _fmt_metrics(old.metrics), _fmt_metrics(new.metrics)
        changes.append(
            Change(
                "success", "changed", "metrics", f"success definition, metrics: {before} → {after}"
            )
        )
    settings = (
        ("best_share", old.best_share, new.best_share),
        ("worst_share", old.worst_share, new.worst_share),
        ("churned_is_worst", old.churned_is_worst, new.churned_is_worst),
        ("lost_only_is_worst", old.lost_only_is_worst, new.lost_only_is_worst),
    )
    for key, a, b in settings:
        if a != b:
            before, after = _fmt_setting(a), _fmt_setting(b)
            text = f"success definition, {key}: {before} → {after}"
            changes.append(Change("success", "changed", key, text))
    return changes


def _fmt_setting(value: float | bool | None) -> str:
    return "(none)" if value is None else str(value)


def _fmt_metrics(metrics: list[SuccessMetricWeight]) -> str:
    return ", ".join(_fmt_metric(m) for m in metrics) if metrics else "(none)"


def _fmt_metric(metric: SuccessMetricWeight) -> str:
    text = metric.name
    if metric.weight != 1:
        text += f" ×{metric.weight:g}"
    if metric.direction == "lower":
        text += " (lower is better)"
    return text


def _statement_change(old: str, new: str) -> list[Change]:
    if old.strip() == new.strip():
        return []
    return [
        Change(
            "statement",
            "changed",
            "statement",
            f"statement changed: {old.strip()!r} → {new.strip()!r}",
        )
    ]


def _tier_changes(old: TiersSection | None, new: TiersSection | None) -> list[Change]:
    if old is None and new is None:
        return []
    changes = []
    for i in (1, 2, 3):
        cut_a = None if old is None else getattr(old.cuts, f"tier{i}")
        cut_b = None if new is None else getattr(new.cuts, f"tier{i}")
        if cut_a != cut_b:
            tier = f"Tier {i}"
            text = f"{tier} cut-off: {_cut_text(cut_a)} → {_cut_text(cut_b)}"
            changes.append(Change("tiers", "changed", tier, text))
    return changes


def _cut_text(cut: int | None) -> str:
    """'fit score ≥ 52', or what a missing or unreachable cut means (scores run 0–100)."""
    if cut is None:
        return "(none)"
    if cut > SCORE_MAX:
        return "no account can reach it"
    return f"fit score ≥ {cut}"


def _count_changes(old: dict[str, int], new: dict[str, int]) -> list[Change]:
    changes = []
    for key in ("n_accounts", "n_best", "n_worst", "n_deals"):
        if key in old and key in new and old[key] != new[key]:
            what = key.removeprefix("n_").replace("_", " ")
            changes.append(
                Change("data", "changed", key, f"evidence base, {what}: {old[key]} → {new[key]}")
            )
    return changes


def _kpi_changes(old: ValidationSection | None, new: ValidationSection | None) -> list[Change]:
    if old is None or new is None:
        if (old is None) != (new is None):
            state = "now has" if new is not None else "no longer has"
            return [Change("kpi", "changed", "validation", f"the newer version {state} a backtest")]
        return []
    changes, small = [], 0
    for group in KPI_GROUPS:
        for kpi, words in KPI_WORDS.items():
            ka, kb = old.kpi(group, kpi), new.kpi(group, kpi)
            if ka is None or kb is None or ka.value is None or kb.value is None:
                continue
            if math.isclose(ka.value, kb.value, rel_tol=1e-9):
                continue
            note = _overlap_note(ka, kb)
            if not note and not _material(kpi, ka.value, kb.value):
                small += 1  # within noise: counted, not listed, so the changelog stays readable
                continue
            text = f"{words} {group}: {_kpi_text(kpi, ka)} → {_kpi_text(kpi, kb)}{note}"
            changes.append(Change("kpi", "changed", f"{group} {kpi}", text))
    scalars = (
        ("auc", "AUC", _value(old.auc), _value(new.auc)),
        ("top_decile_lift", "top-decile lift", old.top_decile_lift, new.top_decile_lift),
    )
    for key, words, va, vb in scalars:
        if va is None or vb is None or math.isclose(va, vb, rel_tol=1e-9):
            continue
        if (key == "auc" and abs(vb - va) < 0.03) or (key != "auc" and not _material(key, va, vb)):
            small += 1
        else:
            changes.append(Change("kpi", "changed", key, f"{words}: {va:.2f} → {vb:.2f}"))
    if small:
        changes.append(
            Change(
                "kpi",
                "changed",
                "other KPIs",
                f"{small} other KPI changes are small (under 10% and 5 points, intervals overlap)",
            )
        )
    return changes


def _material(kpi: str, before: float, after: float) -> bool:
    """A change worth listing: 5 points for a rate, 10% for an amount or a duration."""
    if kpi in PERCENT_KPIS:
        return abs(after - before) >= 0.05
    return abs(after - before) >= 0.10 * max(abs(before), 1e-12)


def _value(est: Estimate | None) -> float | None:
    return None if est is None else est.value


def _kpi_text(kpi: str, est: Estimate) -> str:
    value = est.value if est.value is not None else math.nan
    if kpi in PERCENT_KPIS:
        text = f"{value:.0%}"
    else:
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} (n={est.n})"


def _overlap_note(a: Estimate, b: Estimate) -> str:
    if a.ci_low is None or a.ci_high is None or b.ci_low is None or b.ci_high is None:
        return ""
    overlap = not (b.ci_high < a.ci_low or a.ci_high < b.ci_low)
    return "" if overlap else "; the intervals do not overlap"


# ---------------------------------------------------------------------------------------------
# Tier migration


def _migration(
    tiers_a: pl.DataFrame | None, tiers_b: pl.DataFrame | None
) -> tuple[list[dict[str, Any]], int | None]:
    if tiers_a is None or tiers_b is None:
        return [], None
    for name, frame in (("tiers_a", tiers_a), ("tiers_b", tiers_b)):
        missing = [c for c in ("account_id", "tier") if c not in frame.columns]
        if missing:
            raise SchemaError(f"{name}: columns {missing} are missing (found {frame.columns})")
    joined = (
        tiers_a.select("account_id", pl.col("tier").alias("tier_a"))
        .unique("account_id")
        .join(
            tiers_b.select("account_id", pl.col("tier").alias("tier_b")).unique("account_id"),
            on="account_id",
            how="inner",
        )
    )
    counts = joined.group_by("tier_a", "tier_b").len("n")
    rank = {t: i for i, t in enumerate(TIER_ORDER)}
    rows = sorted(
        counts.to_dicts(), key=lambda r: (rank.get(r["tier_a"], 9), rank.get(r["tier_b"], 9))
    )
    return [
        {"tier_a": r["tier_a"], "tier_b": r["tier_b"], "n": int(r["n"])} for r in rows
    ], joined.height
