"""Messaging from the evidence, no language model: talking points per tier (and per persona) and
the ICP statement template completed where the data speaks, "not enough evidence" where it does not.

Every sentence is assembled from a measured figure: a pain is a theme voiced more by the best
customers (q below alpha) with one of its quotes; an achievement is a success metric of the best
customers against the rest; proof names kinds of customers (industry, size), never a customer; an
objection is a lost-reason theme more common among accounts that never bought.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from icpkit.profile import MessagingSection, StatementParts, TalkingPoints
from icpkit.stats import json_safe
from icpkit.themes.analysis import ThemeAnalysis
from icpkit.themes.evidence import LOST_SOURCE
from icpkit.vocab import TIERS

NOT_ENOUGH = "not enough evidence"
# What a customer gets out of it (not what the seller gets: win rate and won revenue stay out).
_METRIC_WORDS = {
    "nps": ("an NPS of", "{:.1f}"),
    "expansion": ("revenue expansion of", "{:+.0%}"),
    "tenure_days": ("a tenure of", "{:,.0f} days"),
    "ltv": ("a lifetime value of", "{:,.0f}"),
}
_SIZE_BANDS = [(0, 50, "under 50 employees"), (50, 200, "50–200 employees"),
               (200, 1000, "200–1,000 employees"), (1000, float("inf"), "1,000+ employees")]  # fmt: skip


def build_messaging(
    analysis: ThemeAnalysis,
    first_sentence: str,
    outcomes: pl.DataFrame,
    scored: pl.DataFrame | None = None,
    contacts: pl.DataFrame | None = None,
    notes: pl.DataFrame | None = None,
    triggers: list[str] | None = None,
) -> MessagingSection:
    """Talking points and the completed statement.

    Parameters
    ----------
    first_sentence
        Discovery's "Our ideal customer is …" sentence (kept as it is).
    outcomes
        ``Outcomes.frame`` (label, metrics such as nps, ltv, sales_cycle_days).
    scored
        Accounts with a ``tier`` column (and industry, employees for proof).
    contacts
        The contacts table; a ``persona`` column (from personas/) gives per-persona points, and
        ``deal_id`` the buying-committee size.
    notes
        The notes table the analysis was built from (its rows match ``analysis.assignments``).
    triggers
        "Why now" events from signals/ (e.g. "a new VP Sales"); None says not enough evidence.
    """
    pains = _pains(analysis)
    objections = _objections(analysis)
    achievements = _achievements(outcomes)
    parts = StatementParts(
        pains=_join([p["label"] for p in pains[:3]]) or NOT_ENOUGH,
        metrics=_join(achievements[:2]) or NOT_ENOUGH,
        buying_behaviour=_buying(outcomes, contacts) or NOT_ENOUGH,
        triggers=_join(triggers or []) or NOT_ENOUGH,
    )
    statement = (
        f"{first_sentence.rstrip()} They typically struggle with {parts.pains} and measure "
        f"success by {parts.metrics}. They are characterized by {parts.buying_behaviour} "
        f"and typically start searching for solutions when {parts.triggers}."
    )
    mention = _account_mentions(analysis, notes)
    tiers = _per_group(scored, "tier", pains, objections, achievements, mention, outcomes)
    tiers.sort(key=lambda t: TIERS.index(t.audience) if t.audience in TIERS else len(TIERS))
    personas: list[TalkingPoints] = []
    if contacts is not None and "persona" in contacts.columns:
        members = contacts.select("account_id", "persona").drop_nulls().unique()
        personas = _per_group(
            members, "persona", pains, objections, achievements, mention, outcomes
        )
    disq = [
        f"Lost deals whose notes mention {o['label']}: {o['lift']:.1f}× more common among "
        f"accounts that never bought (q {o['q_value']:.2g})."
        for o in objections[:3]
    ]
    return MessagingSection(
        statement=statement,
        parts=parts,
        tiers=tiers,
        personas=personas,
        disqualifier_evidence=disq,
    )


def _join(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _pains(analysis: ThemeAnalysis) -> list[dict[str, Any]]:
    """Voice themes more common among the best customers, strongest first."""
    found = []
    for test in analysis.tests_for("best_vs_rest", "voice"):
        if test.direction == "higher":
            theme = analysis.theme(test.theme)
            found.append({
                "theme": theme.id, "label": theme.label, "share": test.share_a,
                "lift": test.lift, "q_value": test.q_value,
                "quote": theme.quotes[0] if theme.quotes else None,
            })  # fmt: skip
    return found


def _objections(analysis: ThemeAnalysis) -> list[dict[str, Any]]:
    """Lost-reason themes more common among accounts that never bought."""
    found = []
    for test in analysis.tests_for("lost_vs_won", LOST_SOURCE):
        if test.direction == "higher":
            theme = analysis.theme(test.theme)
            found.append({
                "theme": theme.id, "label": theme.label, "lift": test.lift,
                "q_value": test.q_value, "quote": theme.quotes[0] if theme.quotes else None,
            })  # fmt: skip
    return found


def _achievements(outcomes: pl.DataFrame) -> list[str]:
    """Customer-side metrics where the best customers' median beats the others':
    'an NPS of 8.7 (others 6.1)'."""
    if "label" not in outcomes.columns:
        return []
    best = outcomes.filter(pl.col("label") == "best")
    rest = outcomes.filter(pl.col("label").is_in(["rest", "worst"]))
    lines = []
    for column, (words, fmt) in _METRIC_WORDS.items():
        if column not in outcomes.columns or best.height < 5 or rest.height < 5:
            continue
        b, r = best[column].drop_nulls().median(), rest[column].drop_nulls().median()
        if isinstance(b, int | float) and isinstance(r, int | float) and b > r:
            lines.append(f"{words} {fmt.format(b)} (others {fmt.format(r)})")
    return lines


def _buying(outcomes: pl.DataFrame, contacts: pl.DataFrame | None) -> str:
    """Median sales cycle of the best customers, and their buying committee size."""
    parts = []
    if {"label", "sales_cycle_days"} <= set(outcomes.columns):
        cycle = outcomes.filter(pl.col("label") == "best")["sales_cycle_days"].drop_nulls()
        if cycle.len() >= 5:
            parts.append(f"a sales cycle of about {float(cycle.median()):,.0f} days")  # type: ignore[arg-type]
    if contacts is not None and {"deal_id", "account_id"} <= set(contacts.columns):
        best = outcomes.filter(pl.col("label") == "best")["account_id"]
        committee = (
            contacts.filter(pl.col("account_id").is_in(best.to_list()))
            .group_by("deal_id")
            .len()["len"]
        )
        if committee.len() >= 5:
            parts.append(f"a buying committee of {float(committee.median()):.0f} people")  # type: ignore[arg-type]
    return _join(parts)


def _account_mentions(analysis: ThemeAnalysis, notes: pl.DataFrame | None) -> pl.DataFrame:
    """(account_id, theme) pairs: which account voiced which theme."""
    if notes is None or analysis.assignments.is_empty():
        return pl.DataFrame(schema={"account_id": pl.Utf8, "theme": pl.Int64})
    ids = notes.select(pl.col("account_id").cast(pl.Utf8)).with_row_index("note_row")
    return (
        analysis.assignments.filter(pl.col("theme") >= 0)
        .join(
            ids.with_columns(pl.col("note_row").cast(analysis.assignments["note_row"].dtype)),
            on="note_row",
        )
        .select("account_id", pl.col("theme").cast(pl.Int64))
        .unique()
    )


def _per_group(
    members: pl.DataFrame | None,
    column: str,
    pains: list[dict[str, Any]],
    objections: list[dict[str, Any]],
    achievements: list[str],
    mention: pl.DataFrame,
    outcomes: pl.DataFrame,
) -> list[TalkingPoints]:
    """Talking points per value of ``column``: the evidence-backed pains ranked by how often
    that audience voices them, proof from its best customers, the shared objections."""
    if members is None or column not in members.columns:
        return []
    points = []
    for value in sorted(members[column].drop_nulls().unique().to_list()):
        accounts = members.filter(pl.col(column) == value)["account_id"].unique()
        voiced = mention.filter(pl.col("account_id").is_in(accounts.to_list()))
        counts = dict(voiced.group_by("theme").len().iter_rows())
        ranked = sorted(pains, key=lambda p: -counts.get(p["theme"], 0))
        group_pains = [
            {**p, "share_in_group": counts.get(p["theme"], 0) / max(accounts.len(), 1)}
            for p in ranked
            if counts.get(p["theme"], 0) > 0
        ][:3]
        points.append(
            TalkingPoints.model_validate(
                json_safe(
                    {
                        "audience": str(value),
                        "n_accounts": accounts.len(),
                        "pains": group_pains,
                        "achievements": achievements[:3],
                        "proof": _proof(members, column, value, outcomes),
                        "objections": objections[:3],
                    }
                )
            )
        )
    return points


def _proof(members: pl.DataFrame, column: str, value: Any, outcomes: pl.DataFrame) -> list[str]:
    """Kinds of best customers in this audience: '12 best customers in Software, 200–1,000
    employees' (never a name)."""
    if "label" not in outcomes.columns:
        return []
    best = outcomes.filter(pl.col("label") == "best").select("account_id")
    group = members.filter(pl.col(column) == value).join(best, on="account_id")
    if group.height == 0:
        return []
    lines = []
    if "industry" in group.columns:
        top = group["industry"].drop_nulls().value_counts(sort=True).head(2)
        lines += [f"{n} best customers in {ind}" for ind, n in top.iter_rows()]
    if "employees" in group.columns:
        sizes = group["employees"].drop_nulls().to_numpy()
        if sizes.size:
            median = float(np.median(sizes))
            band = next(b for lo, hi, b in _SIZE_BANDS if lo <= median < hi)
            lines.append(f"typical best customer here: {band}")
    return lines
