"""The ICP in plain words, generated from the chosen criteria (never a fixed text)."""

from __future__ import annotations

import math

from icpkit.rules import Condition, Segment, describe_condition


def _size_word(lo: float, hi: float) -> str:
    """small / mid-sized / large by the middle of an employee range (geometric)."""
    if math.isinf(hi):
        return "large" if lo >= 1000 else "mid-sized or larger"
    if math.isinf(lo):
        return "small" if hi <= 100 else "small or mid-sized"
    middle = math.sqrt(max(lo, 1.0) * hi)
    return "small" if middle < 100 else "mid-sized" if middle < 1000 else "large"


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
