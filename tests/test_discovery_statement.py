"""The statement generator: grammatical English for every kind of condition, alone and combined."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from icpkit.discovery.statement import describe_segment, icp_statement, join_words
from icpkit.rules import Condition, Segment, parse_segment

INF = math.inf

# One or more conditions of every kind, on attributes with their own wording and generic ones.
KINDS: dict[str, list[Condition]] = {
    "employees": [
        Condition("employees", "range", (200.0, 2000.0)),
        Condition("employees", "range", (1000.0, INF)),
        Condition("employees", "range", (-INF, 15.0)),
    ],
    "annual_revenue": [
        Condition("annual_revenue", "range", (3e6, INF)),
        Condition("annual_revenue", "range", (-INF, 5e6)),
    ],
    "founded_year": [
        Condition("founded_year", "range", (2012.0, INF)),
        Condition("founded_year", "range", (2005.0, 2012.0)),
        Condition("founded_year", "range", (-INF, 2000.0)),
    ],
    "score": [Condition("score", "range", (1.5, 5.0))],
    "industry": [
        Condition("industry", "eq", "Software"),
        Condition("industry", "in", ("Healthcare", "Retail")),
    ],
    "region": [
        Condition("region", "eq", "EMEA"),
        Condition("region", "in", ("APAC", "EMEA", "LATAM")),
    ],
    "ownership": [
        Condition("ownership", "eq", "Private"),
        Condition("ownership", "in", ("Government", "Non-profit")),
    ],
    "tech_stack": [Condition("tech_stack", "contains", "Shopify")],
    "crm_tools": [Condition("crm_tools", "contains", "HubSpot")],
    "funding_stage": [Condition("funding_stage", "missing")],
}


def _segments() -> list[Segment]:
    out = []
    for size in (1, 2, 3):
        for attrs in itertools.combinations(KINDS, size):
            for conds in itertools.product(*(KINDS[a] for a in attrs)):
                out.append(Segment(conds))
    return out


SEGMENTS = _segments()


def _values(cond: Condition) -> list[str]:
    if cond.op in ("eq", "contains"):
        return [str(cond.value)]
    if cond.op == "in":
        return [str(v) for v in cond.value]
    return []


def _check_phrase(text: str, segment: Segment, plural: bool) -> None:
    assert text == text.strip() and "  " not in text, text
    for bad in (" and and ", " with with ", " that that ", "()", " ,", ",,", " and,", "with and"):
        assert bad not in text, (bad, text)
    if plural:
        assert text.startswith(("companies", "small", "mid-sized", "large")), text
        assert "companies" in text and "company " not in text, text
        assert not re.search(r"\buses\b", text), text  # 'companies that use …'
    else:
        article = text.split(" ", 1)[0]
        assert article in ("a", "an"), text
        after = text.split(" ", 2)[1]
        assert (article == "an") == (after[0] in "aeiou"), text
        assert re.search(r"\bcompany\b", text) and "companies" not in text, text
        assert not re.search(r"\bthat use\b", text), text  # 'a company that uses …'
    for cond in segment:
        for value in _values(cond):
            assert value in text, (value, text)
    # a list of levels reads 'A or B', 'A, B or C'
    for cond in segment:
        if cond.op == "in":
            assert join_words([str(v) for v in cond.value], "or") in text, text


@pytest.mark.parametrize("plural", [False, True])
def test_every_combination_of_condition_kinds_reads_as_one_phrase(plural: bool) -> None:
    assert len(SEGMENTS) > 500  # every kind alone, in pairs and in triples
    for segment in SEGMENTS:
        _check_phrase(describe_segment(segment, plural=plural), segment, plural)


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("tech_stack contains 'Shopify'", "companies that use Shopify"),
        ("industry = 'Education'", "companies in the Education sector"),
        ("industry in ('Education', 'Media')", "companies in the Education or Media sectors"),
        ("founded_year in [2021, inf)", "companies founded in 2021 or later"),
        (
            "employees in [-inf, 10) AND tech_stack contains 'Shopify'",
            "small (under 10 employees) companies that use Shopify",
        ),
        (
            "ownership in ('Government', 'Non-profit') AND funding_stage is missing",
            "companies with no known funding stage whose ownership is Government or Non-profit",
        ),
    ],
)
def test_plural_phrases_agree(rule: str, words: str) -> None:
    assert describe_segment(parse_segment(rule), plural=True) == words


@pytest.mark.parametrize("n_criteria", [1, 2, 3])
@pytest.mark.parametrize("n_avoid", [0, 1, 2, 3])
def test_statement_for_any_number_of_criteria_and_disqualifiers(
    n_criteria: int, n_avoid: int
) -> None:
    criteria = SEGMENTS[7 : 7 + n_criteria * 40 : 40]
    avoid = SEGMENTS[3 : 3 + n_avoid * 50 : 50]
    text = icp_statement(list(criteria), list(avoid))
    assert text.startswith("Our ideal customer is a") and text.endswith(".")
    assert (". Avoid " in text) == (n_avoid > 0)
    if n_avoid:
        assert "compan" in text.split(". Avoid ")[1] and "company" not in text.split(". Avoid ")[1]
    assert text.count(" or ") >= n_criteria - 1
    assert "..." not in text and "  " not in text and " ." not in text


def test_avoid_sentence_from_the_issue() -> None:
    text = icp_statement(
        [parse_segment("industry = 'Software'")], [parse_segment("tech_stack contains 'Shopify'")]
    )
    assert text == (
        "Our ideal customer is a company in the Software sector. Avoid companies that use Shopify."
    )
