"""The ICP in plain words, generated from the chosen criteria (never a fixed text)."""

from __future__ import annotations

import math

from icpkit.rules import Condition, Segment, format_number

# Attributes that describe company size, and the unit each is counted in.
_SIZE_UNITS = {
    "employees": "employees",
    "annual_revenue": "in annual revenue",
    "revenue": "in annual revenue",
}
_PLACE_ATTRS = {"region", "country", "office_location", "city", "state"}


def _amount(x: float) -> str:
    if abs(x) >= 1e9:
        return f"{format_number(round(x / 1e9, 2))}B"
    if abs(x) >= 1e6:
        return f"{format_number(round(x / 1e6, 2))}M"
    return f"{x:,.0f}" if float(x).is_integer() else format_number(x)


def _size_word(lo: float, hi: float) -> str:
    """small / mid-sized / large by the middle of an employee range (geometric)."""
    if math.isinf(hi):
        return "large" if lo >= 1000 else "mid-sized or larger"
    if math.isinf(lo):
        return "small" if hi <= 100 else "small or mid-sized"
    middle = math.sqrt(max(lo, 1.0) * hi)
    return "small" if middle < 100 else "mid-sized" if middle < 1000 else "large"


def _range_words(lo: float, hi: float, unit: str) -> str:
    # sizes read as amounts (2,000; 5M); other numbers (years, scores) exactly as written
    show = _amount if unit else format_number
    if math.isinf(hi):
        return f"{show(lo)}+ {unit}"
    if math.isinf(lo):
        return f"under {show(hi)} {unit}"
    return f"{show(lo)}–{show(hi)} {unit}"


def _values(cond: Condition) -> str:
    values = (cond.value,) if cond.op == "eq" else cond.value
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def describe_condition(cond: Condition) -> str:
    """One condition in plain words (``employees in [200, 2000)`` → ``200–2,000 employees``)."""
    name = cond.attr.replace("_", " ")
    if cond.op == "missing":
        return f"no known {name}"
    if cond.op == "contains":
        return f"uses {cond.value}"
    if cond.op == "range":
        lo, hi = cond.value
        unit = _SIZE_UNITS.get(cond.attr, "")
        words = _range_words(lo, hi, unit).strip()
        return words if unit else f"{name} {words}"
    if cond.attr == "industry":
        return f"in the {_values(cond)} sector"
    if cond.attr in _PLACE_ATTRS:
        return f"based in {_values(cond)}"
    return f"{name} {_values(cond)}"


def describe_segment(segment: Segment) -> str:
    """A segment as a noun phrase: 'a mid-sized (200–2,000 employees) company in the … sector …'."""
    size = next((c for c in segment if c.attr == "employees" and c.op == "range"), None)
    industry = next((c for c in segment if c.attr == "industry" and c.op in ("eq", "in")), None)
    others = [c for c in segment if c is not size and c is not industry]
    head = "company"
    if size is not None:
        head = f"{_size_word(*size.value)} ({describe_condition(size)}) company"
    phrase = f"{'an' if head[0] in 'aeiou' else 'a'} {head}"
    if industry is not None:
        phrase += f" {describe_condition(industry)}"
    extras = [_as_clause(c) for c in others]
    if extras:
        phrase += " " + " and ".join(extras)
    return phrase


def _as_clause(cond: Condition) -> str:
    words = describe_condition(cond)
    if cond.op == "contains":
        return f"that {words}"
    if words.startswith(("based in", "in the")):
        return words
    return f"with {words}"


def icp_statement(criteria: list[Segment], disqualifiers: list[Segment]) -> str:
    """'Our ideal customer is a … company in the … sector with …' from the chosen criteria."""
    phrases = [describe_segment(s) for s in criteria]
    text = "Our ideal customer is " + "; or ".join(phrases) + "."
    if disqualifiers:
        text += " Avoid " + "; and ".join(_avoid(s) for s in disqualifiers) + "."
    return text


def _avoid(segment: Segment) -> str:
    """The segment in the plural: 'companies in the Education sector'."""
    phrase = describe_segment(segment)
    for article in ("a ", "an "):
        if phrase.startswith(article):
            phrase = phrase[len(article) :]
            break
    return phrase.replace("company", "companies", 1)
