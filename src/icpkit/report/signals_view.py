"""The signals section of the report: "When to reach out" on the one-pager, the detail tables.

Reads the profile's ``signals`` section (computed by icpkit.signals); formats, never computes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from icpkit.profile import SignalsSection, SignalTypeEvidence
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


def _ratio(value: float | None, ci: Sequence[float] | None) -> str:
    if value is None:
        return f.DASH
    text = f.lift(value)
    return f"{text} [{f.interval(ci[0], ci[1])}]" if ci else text


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
            f"{_ratio(t.lift.get('opening'), t.lift_ci.get('opening'))}, win "
            f"{_ratio(t.lift.get('winning'), t.lift_ci.get('winning'))}."
        )
    backtest = backtest_line(section.backtest)
    if backtest:
        lines.append(backtest)
    return lines


def _auc(block: Mapping[str, Any], key: str) -> str:
    auc = (block.get(key) or {}).get("auc")
    return f.DASH if auc is None else f"{auc:.2f}"


def backtest_line(backtest: Mapping[str, Any] | None) -> str:
    """'Backtest after 2025-03-23 (next 90 days): AUC of a deal opening 0.56 → 0.59 (+0.03 …)'."""
    if not backtest:
        return ""
    if not backtest.get("available", True):
        return f"Backtest of fit + intent not available: {backtest.get('reason', '')}"
    parts = []
    for outcome, words in (("opening", "opening"), ("winning", "winning")):
        block = backtest.get(outcome) or {}
        gain = block.get("auc_gain") or {}
        ci = gain.get("ci")
        interval = f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else ""
        value = gain.get("value")
        change = "" if value is None else f" ({value:+.2f}{interval})"
        parts.append(f"{words} {_auc(block, 'fit')} → {_auc(block, 'fit_intent')}{change}")
    return (
        f"Backtest after {backtest.get('cut')}, next {backtest.get('horizon_days')} days, "
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
            _ratio(t.lift.get("opening"), t.lift_ci.get("opening")),
            _ratio(t.lift.get("winning"), t.lift_ci.get("winning")),
            f.q_value(t.q_value),
            f"{t.n_signals:,}",
            f"{t.n_deals:,}",
            t.evidence,
        )
        for t in section.types
    )
    numeric = (False, False, True, True, True, True, True, True, False)
    return f.Table(columns, rows, numeric)


def backtest_table(backtest: Mapping[str, Any] | None) -> f.Table:
    """AUC and top-decile lift of fit alone and fit + intent, per outcome."""
    if not backtest or not backtest.get("available", True):
        return f.Table((), (), ())
    rows = []
    for outcome in ("opening", "winning"):
        block = backtest.get(outcome) or {}
        for key, label in (("fit", "fit alone"), ("fit_intent", "fit + intent")):
            r = block.get(key) or {}
            ci = r.get("auc_ci")
            auc = r.get("auc")
            top = r.get("top_decile_lift") or {}
            rows.append(
                (
                    "deal opened" if outcome == "opening" else "deal won",
                    label,
                    f.DASH
                    if auc is None
                    else f"{auc:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""),
                    _ratio(top.get("value"), top.get("ci")),
                    f"{block.get('n_events', 0):,} / {block.get('n_accounts', 0):,}",
                )
            )
    columns = ("outcome", "ranking", "AUC [95% CI]", "top-decile lift", "events / accounts")
    return f.Table(columns, tuple(rows), (False, False, True, True, True))


def value_table(section: SignalsSection) -> f.Table:
    """Lifts by value class (a funding round, a role, a tool) where enough deals follow one."""
    rows = tuple(
        (
            type_name(t.type),
            str(v.get("value_class")),
            f"{v.get('n_signals', 0):,}",
            f"{v.get('n_deals', 0):,}",
            f.DASH if v.get("lift_opening") is None else f.lift(v["lift_opening"]),
            _ratio(v.get("lift_winning"), v.get("lift_winning_ci")),
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
    intake = [str(n) for n in section.intake.get("notes") or []]
    return " ".join([quiet_line(section), *(f"{n[0].upper()}{n[1:]}." for n in intake)]).strip()
