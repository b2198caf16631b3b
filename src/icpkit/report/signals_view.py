"""The signals section of the report: "When to reach out" on the one-pager, the detail tables.

Reads the profile's ``signals`` section (computed by icpkit.signals); formats, never computes.
"""

from __future__ import annotations

from collections.abc import Sequence

from icpkit.profile import (
    AucGain,
    RankingComparison,
    RankingScores,
    SignalsBacktest,
    SignalsSection,
    SignalTypeEvidence,
)
from icpkit.report import formatting as f

_NAMES = {
    "funding": "Funding",
    "hiring": "Hiring",
    "leadership_change": "Leadership change",
    "tech_adoption": "Tech adoption",
    "web_visit": "Web visit",
    "intent_topic": "Intent topic",
}


def type_name(signal_type: str) -> str:
    return _NAMES.get(signal_type, signal_type.replace("_", " ").capitalize())


def _ratio(value: float | None, ci: Sequence[float | None] | None) -> str:
    if value is None:
        return f.DASH
    text = f.lift(value)
    low, high = ci if ci else (None, None)
    return f"{text} [{f.interval(low, high)}]" if low is not None and high is not None else text


def _decay(t: SignalTypeEvidence) -> str:
    if t.decay == "exponential" and t.half_life_days is not None:
        ci = t.half_life_ci
        interval = f" [{ci[0]:.0f}{f.DASH}{ci[1]:.0f}]" if ci else ""
        unsure = ", cannot tell how fast it fades" if t.decay_cannot_tell else ""
        return f"half-life {t.half_life_days:.0f} days{interval}{unsure}"
    if t.decay == "window":
        unsure = ", cannot tell how long" if t.decay_cannot_tell else ""
        return f"flat for {t.window_days} days{unsure}"
    return "no effect"


def reach_out_lines(section: SignalsSection | None) -> list[str]:
    """One line per trigger that matters, and one with the backtest, for the one-pager."""
    if section is None or not section.available:
        return []
    lines = []
    for t in section.triggers():
        lines.append(
            f"{type_name(t.type)} — {_decay(t)}; next {t.window_days} days: deals open "
            f"{_ratio(t.lift.opening, t.lift_ci.opening)}, win "
            f"{_ratio(t.lift.winning, t.lift_ci.winning)}."
        )
    backtest = backtest_line(section.backtest)
    if backtest:
        lines.append(backtest)
    return lines


def _auc(scores: RankingScores) -> str:
    return f.DASH if scores.auc is None else f"{scores.auc:.2f}"


def backtest_line(backtest: SignalsBacktest | None) -> str:
    """'Backtest after 2025-03-23 (next 90 days): AUC of a deal opening 0.56 → 0.59 (+0.03 …)'."""
    if backtest is None:
        return ""
    if not backtest.available:
        return f"Backtest of fit + intent not available: {backtest.reason or ''}"
    parts = []
    for words, block in (("opening", backtest.opening), ("winning", backtest.winning)):
        block = block or RankingComparison()
        gain = block.auc_gain or AucGain()
        low, high = gain.ci or (None, None)
        interval = f" [{low:+.2f}, {high:+.2f}]" if low is not None and high is not None else ""
        change = "" if gain.value is None else f" ({gain.value:+.2f}{interval})"
        parts.append(f"{words} {_auc(block.fit)} → {_auc(block.fit_intent)}{change}")
    return (
        f"Backtest after {backtest.cut}, next {backtest.horizon_days} days, "
        "AUC fit alone → fit + intent: " + "; ".join(parts) + "."
    )


def quiet_line(section: SignalsSection | None) -> str:
    """The types without an effect (weight 0), for the detail."""
    if section is None or not section.available:
        return ""
    quiet = [type_name(t.type) for t in section.types if not t.significant]
    return (
        f"No effect found for: {', '.join(quiet)} (weight 0 in the intent score)." if quiet else ""
    )


def signals_table(section: SignalsSection) -> f.Table:
    """Every signal type: decay, lifts with intervals, q-value, counts and evidence."""
    columns = ("signal", "decay", "window (days)", "opening lift", "win lift", "q-value",
               "signals", "deals after", "evidence")  # fmt: skip
    rows = tuple(
        (
            type_name(t.type),
            _decay(t),
            str(t.window_days),
            _ratio(t.lift.opening, t.lift_ci.opening),
            _ratio(t.lift.winning, t.lift_ci.winning),
            f.q_value(t.q_value),
            f"{t.n_signals:,}",
            f"{t.n_deals:,}",
            t.evidence,
        )
        for t in section.types
    )
    numeric = (False, False, True, True, True, True, True, True, False)
    return f.Table(columns, rows, numeric)


def backtest_table(backtest: SignalsBacktest | None) -> f.Table:
    """AUC and top-decile lift of fit alone and fit + intent, per outcome."""
    if backtest is None or not backtest.available:
        return f.Table((), (), ())
    rows = []
    for outcome, block in (("opening", backtest.opening), ("winning", backtest.winning)):
        block = block or RankingComparison()
        for r, label in ((block.fit, "fit alone"), (block.fit_intent, "fit + intent")):
            (low, high), auc, top = r.auc_ci or (None, None), r.auc, r.top_decile_lift
            rows.append(
                (
                    "deal opened" if outcome == "opening" else "deal won",
                    label,
                    f.DASH
                    if auc is None
                    else f"{auc:.3f}"
                    + (f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""),
                    _ratio(top.value, top.ci),
                    f"{block.n_events:,} / {block.n_accounts:,}",
                )
            )
    columns = ("outcome", "ranking", "AUC [95% CI]", "top-decile lift", "events / accounts")
    return f.Table(columns, tuple(rows), (False, False, True, True, True))


def value_table(section: SignalsSection) -> f.Table:
    """Lifts by value class (a funding round, a role, a tool) where enough deals follow one."""
    rows = tuple(
        (
            type_name(t.type),
            v.value_class,
            f"{v.n_signals:,}",
            f"{v.n_deals:,}",
            f.DASH if v.lift_opening is None else f.lift(v.lift_opening),
            _ratio(v.lift_winning, v.lift_winning_ci),
        )
        for t in section.types
        if t.significant
        for v in t.by_value
    )
    columns = ("signal", "value", "signals", "deals after", "opening lift", "win lift")
    return f.Table(columns, rows, (False, False, True, True, True, True))


def unavailable_text(section: SignalsSection | None) -> str:
    if section is None:
        return "Buying signals not learned: this profile was built before signals were supported."
    if not section.available:
        return f"Intent unavailable: {section.reason}"
    return ""


def detail_note(section: SignalsSection | None) -> str:
    """The types without effect and what was dropped on the way in (unknown domains, …)."""
    if section is None or not section.available:
        return ""
    intake = section.intake.notes
    return " ".join([quiet_line(section), *(f"{n[0].upper()}{n[1:]}." for n in intake)]).strip()
