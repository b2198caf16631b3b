"""Intent as of a date, from the learned weights and decays, with "why now" reasons in words.

Each significant signal type lifts an account's chance of a deal being opened (``1 + (r - 1) K``)
and of winning it (``w ** K``), where ``r`` and ``w`` are the fitted effects on the day of the
signal and ``K`` the decay kernel at the signal's age (the latest signal of each type counts).
The types multiply into the account's *intent lift* ``L``; ``intent_score = 100 * (1 - 1/L)``:
0 without a live signal, 50 when timing doubles the chance, 75 when it quadruples it. Types with
no significant effect weigh nothing. The score never includes fit: :mod:`priority` crosses the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import polars as pl

from icpkit.config import SignalsConfig
from icpkit.profile import SignalsSection, SignalTypeEvidence
from icpkit.signals.sources import SignalEvents

INTENT_COLUMNS = (
    "account_id", "intent_score", "intent", "intent_lift", "opening_lift", "why_now",
)  # fmt: skip
MAX_REASONS = 3

# How a type reads in a sentence: what the account did (with its value, without one), and the
# signal's name in "within N days of …".
_PHRASES: dict[str, tuple[str, str, str]] = {
    "funding": ("raised {value}", "raised funding", "funding"),
    "hiring": ("is hiring ({value})", "is hiring", "hiring"),
    "leadership_change": ("has a leadership change ({value})", "has a leadership change",
                          "a leadership change"),
    "tech_adoption": ("adopted {value}", "adopted a new tool", "a tech adoption"),
    "web_visit": ("visited the {value}", "visited the website", "a web visit"),
    "intent_topic": ("researched {value}", "showed intent on a topic", "intent on a topic"),
    "news": ("was in the news ({value})", "was in the news", "news"),
    # product usage (icpkit.usage.signals, issue 28): the value reads "3× in 2 weeks"
    "usage_surge": ("usage up {value}", "usage surged", "a usage surge"),
    "usage_drop": ("usage down {value}", "usage dropped", "a usage drop"),
}  # fmt: skip


def _phrases(signal_type: str) -> tuple[str, str, str]:
    words = signal_type.replace("_", " ")
    return _PHRASES.get(signal_type, (words + " ({value})", words, words))


@dataclass(frozen=True)
class Trigger:
    """A signal type that weighs in the intent score."""

    evidence: SignalTypeEvidence

    @property
    def type(self) -> str:
        return self.evidence.type

    def kernel(self, age: pl.Expr) -> pl.Expr:
        e = self.evidence
        if e.decay == "exponential" and e.half_life_days:
            return pl.lit(2.0).pow(-age / e.half_life_days)
        return (age <= e.window_days).cast(pl.Float64)

    def opening_lift(self, weight: pl.Expr) -> pl.Expr:
        """How much more often a deal is opened, ``weight`` into the decay."""
        return (1.0 + (self.evidence.peak_opening_ratio - 1.0) * weight).clip(lower_bound=1e-3)

    def lift(self, weight: pl.Expr) -> pl.Expr:
        """How much more likely a won deal is: openings times win odds."""
        return self.opening_lift(weight) * pl.lit(self.evidence.peak_win_odds_ratio).pow(weight)


def triggers(section: SignalsSection) -> list[Trigger]:
    """The types that weigh: significant, with a decay."""
    return [
        Trigger(t) for t in section.types if t.significant and t.decay != "none"
    ]  # fmt: skip


def _band(score: pl.Expr, config: SignalsConfig) -> pl.Expr:
    return (
        pl.when(score >= config.hot_intent)
        .then(pl.lit("hot"))
        .when(score >= config.warm_intent)
        .then(pl.lit("warm"))
        .otherwise(pl.lit("cold"))
    )


def intent_scores(
    section: SignalsSection,
    events: SignalEvents | pl.DataFrame,
    as_of: date,
    config: SignalsConfig,
    account_ids: pl.Series | None = None,
) -> pl.DataFrame:
    """``intent_score`` (0-100), ``intent`` (hot / warm / cold), ``intent_lift`` and ``why_now``.

    Parameters
    ----------
    section
        The learned signals section of a profile.
    events
        Prepared signal events (or their frame: account_id, date, type, value).
    as_of
        The day intent is scored for; signals after it are ignored.
    config
        ``[signals]`` settings (the hot and warm cuts, the lookback).
    account_ids
        Accounts to return (those without a live signal get 0); default: those with one.
    """
    frame = events.frame if isinstance(events, SignalEvents) else events
    live = _live_lifts(frame, triggers(section), as_of, config.lookback_days)
    per_account = live.group_by("account_id").agg(
        pl.col("lift").product().alias("intent_lift"),
        pl.col("opening_lift").product(),
        pl.col("reason")
        .sort_by("lift", descending=True)
        .head(MAX_REASONS)
        .str.join("; ")
        .alias("why_now"),
    )
    if account_ids is not None:
        per_account = (
            pl.DataFrame({"account_id": account_ids.cast(pl.Utf8)})
            .join(per_account, on="account_id", how="left", maintain_order="left")
            .with_columns(
                pl.col("intent_lift", "opening_lift").fill_null(1.0),
                pl.col("why_now").fill_null(""),
            )
        )
    score = (100.0 * (1.0 - 1.0 / pl.col("intent_lift"))).clip(0.0, 100.0).round(1)
    return per_account.with_columns(
        intent_score=score,
        intent=_band(score, config),
        intent_lift=pl.col("intent_lift").round(3),
        opening_lift=pl.col("opening_lift").round(3),
    ).select(INTENT_COLUMNS)


def _live_lifts(
    frame: pl.DataFrame, weighing: list[Trigger], as_of: date, lookback: int
) -> pl.DataFrame:
    """One row per account and weighing type: its latest signal's lift and reason."""
    empty = pl.DataFrame(
        schema={
            "account_id": pl.Utf8,
            "lift": pl.Float64,
            "opening_lift": pl.Float64,
            "reason": pl.Utf8,
        }
    )
    if not weighing:
        return empty
    age = (pl.lit(as_of) - pl.col("date")).dt.total_days()
    recent = (
        frame.lazy()
        .filter(pl.col("type").is_in([t.type for t in weighing]) & (pl.col("date") <= as_of))
        .with_columns(age=age)
        .filter(pl.col("age") <= lookback)
        .group_by("account_id", "type")
        .agg(pl.all().sort_by("age").first())
    )
    parts = []
    for trigger in weighing:
        weight = trigger.kernel(pl.col("age").cast(pl.Float64))
        parts.append(
            recent.filter(pl.col("type") == trigger.type)
            .with_columns(weight=weight)
            .filter(pl.col("weight") > 0)
            .with_columns(
                lift=trigger.lift(pl.col("weight")),
                opening_lift=trigger.opening_lift(pl.col("weight")),
                reason=_reason(trigger.evidence),
            )
            .select("account_id", "lift", "opening_lift", "reason")
        )
    return pl.concat(parts).collect() if parts else empty


def _times(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "?"
    interval = f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""
    return f"{value:.1f}×{interval}"


def effect_text(evidence: SignalTypeEvidence) -> str:
    """'deals opened within 45 days of funding win 2.4× [1.8, 3.1] more and open 2.6× as often'."""
    name = _phrases(evidence.type)[2]
    win, opening = evidence.lift.winning, evidence.lift.opening
    win_ci, open_ci = evidence.lift_ci.winning, evidence.lift_ci.opening
    clauses = []
    if win is not None and win_ci is not None and (win_ci[0] > 1 or win_ci[1] < 1):
        clauses.append(f"win {_times(win, win_ci)} {'more' if win > 1 else 'as often'}")
    if opening is not None and open_ci is not None and (open_ci[0] > 1 or open_ci[1] < 1):
        clauses.append(f"are opened {_times(opening, open_ci)} as often")
    effect = " and ".join(clauses) or "show no clear difference"
    return f"deals opened within {evidence.window_days} days of {name} {effect}"


def _reason(evidence: SignalTypeEvidence) -> pl.Expr:
    """'raised Series B $25M 12 days ago: deals opened within 45 days of funding win 2.4× …'."""
    template, bare, _ = _phrases(evidence.type)
    before, _, after = template.partition("{value}")
    value = pl.col("value").fill_null("")
    did = (
        pl.when(value == "")
        .then(pl.lit(bare))
        .otherwise(pl.concat_str(pl.lit(before), value, pl.lit(after)))
    )
    days = pl.col("age").cast(pl.Int64)
    when = (
        pl.when(days == 0)
        .then(pl.lit("today"))
        .when(days == 1)
        .then(pl.lit("yesterday"))
        .otherwise(pl.concat_str(days.cast(pl.Utf8), pl.lit(" days ago")))
    )
    return pl.concat_str(did, pl.lit(" "), when, pl.lit(": " + effect_text(evidence)))


def lift_to_score(lift: float) -> float:
    """The intent score of a combined intent lift (for documentation and tests)."""
    return max(0.0, min(100.0, 100.0 * (1.0 - 1.0 / lift))) if math.isfinite(lift) else 100.0


_STARTS: dict[str, str] = {
    "funding": "raise funding",
    "hiring": "are hiring",
    "leadership_change": "change leadership",
    "tech_adoption": "adopt a new tool",
    "web_visit": "visit the website",
    "intent_topic": "research the topic",
    "news": "are in the news",
    "usage_surge": "surge in product usage",
    "usage_drop": "drop in product usage",
}


def trigger_sentence(section: SignalsSection) -> str:
    """'They typically start searching when they raise funding (half-life 34 days) or …'."""
    parts = []
    for t in section.triggers():
        start = _STARTS.get(t.type, f"show {t.type.replace('_', ' ')}")
        if t.decay == "exponential" and t.half_life_days:
            parts.append(f"{start} (effect half-life {t.half_life_days:.0f} days)")
        else:
            parts.append(f"{start} (within {t.window_days} days)")
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    return f"They typically start searching when they {listed}."
