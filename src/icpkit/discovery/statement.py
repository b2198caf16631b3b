"""The ICP in plain words, generated from the chosen criteria (never a fixed text).

A segment becomes a noun phrase in the singular ("a mid-sized (80+ employees) company in the
Software sector that uses Snowflake") or the plural ("companies in the Software sector that use
Snowflake", after "Avoid"). Every kind of condition has its own grammatical slot:

- employees range: an adjective and the range before the noun ("a large (1,000+ employees) company");
- industry: "in the Software sector", "in the Healthcare or Retail sectors";
- place (region, country, city, …): "based in EMEA";
- founded_year: "founded in 2012 or later", "founded before 2005", "founded 2005–2012";
- other ranges and missing values: "with 3M+ in annual revenue", "with no known funding stage";
- tags: "that uses Snowflake" / "that use Snowflake" (the verb agrees with the noun);
- other levels: "whose ownership is Private", "whose funding stage is Seed or Series A".

The modifiers follow the noun in that order ('with A and B'; relative clauses joined by 'and'), so
any combination of up to three conditions reads as one phrase.
"""

from __future__ import annotations

import math

from icpkit.discovery.behaviour import behaviour_words
from icpkit.rules import Condition, Segment, format_number

# Attributes that describe company size, and the unit each is counted in.
_SIZE_UNITS = {
    "employees": "employees",
    "annual_revenue": "in annual revenue",
    "revenue": "in annual revenue",
}
_PLACE_ATTRS = {"region", "country", "office_location", "city", "state"}
_FOUNDED_ATTRS = {"founded_year", "founded", "year_founded"}


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
        return f"{show(lo)}+ {unit}".strip()
    if math.isinf(lo):
        return f"under {show(hi)} {unit}".strip()
    return f"{show(lo)}–{show(hi)} {unit}".strip()


def join_words(items: list[str], last: str = "and") -> str:
    """An English list: 'A', 'A and B', 'A, B and C'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def _values(cond: Condition) -> str:
    values = (cond.value,) if cond.op == "eq" else cond.value
    return join_words([str(v) for v in values], "or")


def _founded(lo: float, hi: float) -> str:
    if math.isinf(hi):
        return f"founded in {format_number(lo)} or later"
    if math.isinf(lo):
        return f"founded before {format_number(hi)}"
    return f"founded {format_number(lo)}–{format_number(hi)}"


def describe_condition(cond: Condition, plural: bool = False) -> str:
    """One condition in plain words (``employees in [200, 2000)`` → ``200–2,000 employees``).

    A tag reads as a verb phrase that agrees with the noun: 'uses Snowflake' (``plural``: 'use
    Snowflake').
    """
    name = cond.attr.replace("_", " ")
    if cond.op == "missing":
        return f"no known {name}"
    if cond.op == "contains":
        return f"{'use' if plural else 'uses'} {cond.value}"
    if cond.op == "range":
        lo, hi = cond.value
        if (behaviour := behaviour_words(cond, plural)) is not None:  # product usage
            return behaviour
        if cond.attr in _FOUNDED_ATTRS:
            return _founded(lo, hi)
        unit = _SIZE_UNITS.get(cond.attr, "")
        words = _range_words(lo, hi, unit)
        return words if unit else f"{name} {words}"
    if cond.attr == "industry":
        many = cond.op == "in" and len(cond.value) > 1
        return f"in the {_values(cond)} {'sectors' if many else 'sector'}"
    if cond.attr in _PLACE_ATTRS:
        return f"based in {_values(cond)}"
    return f"{name} {_values(cond)}"


def _modifier(cond: Condition, plural: bool) -> tuple[int, str]:
    """(slot, words) of a condition after the noun; slots order the phrase."""
    words = describe_condition(cond, plural)
    if cond.op == "contains" or cond.attr.startswith("usage_"):
        return 5, f"that {words}"
    if cond.op in ("eq", "in") and cond.attr not in _PLACE_ATTRS and cond.attr != "industry":
        return 6, f"whose {cond.attr.replace('_', ' ')} is {_values(cond)}"
    if words.startswith("in the"):
        return 1, words
    if words.startswith("based in"):
        return 2, words
    if words.startswith("founded"):
        return 3, words
    return 4, f"with {words}"


def describe_segment(segment: Segment, plural: bool = False) -> str:
    """A segment as a noun phrase: 'a mid-sized (200–2,000 employees) company in the Software
    sector that uses Snowflake'; ``plural``: 'mid-sized (…) companies … that use Snowflake'."""
    size = next((c for c in segment if c.attr == "employees" and c.op == "range"), None)
    noun = "companies" if plural else "company"
    head = (
        noun if size is None else f"{_size_word(*size.value)} ({describe_condition(size)}) {noun}"
    )
    if not plural:
        head = f"{'an' if head[0] in 'aeiou' else 'a'} {head}"
    slots = sorted(_modifier(c, plural) for c in segment if c is not size)
    # phrases follow the noun one after another ('in the Software sector based in EMEA'); 'with A'
    # and 'with B' read as 'with A and B'; relative clauses are joined by 'and'
    withs = [w.removeprefix("with ") for slot, w in slots if slot == 4]
    parts = [w for slot, w in slots if slot < 4]
    if withs:
        parts.append("with " + join_words(withs))
    clauses = [w for slot, w in slots if slot > 4]
    if clauses:
        parts.append(join_words(clauses))
    return " ".join([head, *parts])


def _list(phrases: list[str], last: str) -> str:
    """Phrases as a list; semicolons when a phrase is long or has its own commas or conjunctions
    (so 'A based in EMEA or B' cannot be misread)."""
    complex_ = any("," in p or " and " in p or " or " in p or len(p.split()) > 5 for p in phrases)
    if complex_ and len(phrases) > 1:
        return "; ".join(phrases[:-1]) + f"; {last} " + phrases[-1]
    return join_words(phrases, last)


def icp_statement(criteria: list[Segment], disqualifiers: list[Segment]) -> str:
    """'Our ideal customer is a … company in the … sector with …' from the chosen criteria."""
    text = "Our ideal customer is " + _list([describe_segment(s) for s in criteria], "or") + "."
    if disqualifiers:
        avoid = [describe_segment(s, plural=True) for s in disqualifiers]
        text += " Avoid " + _list(avoid, "and") + "."
    return text
