"""Value normalisation: quantities, dates, countries, domains, stages, tags, spellings."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from icpkit.data.countries import country_code
from icpkit.data.dates import parse_dates
from icpkit.data.normalize import (
    near_duplicates,
    normalise_countries,
    normalise_domains,
    normalise_stages,
    parse_numbers,
    parse_quantity,
    split_tags,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200", 1200.0),
        ("1,200", 1200.0),
        ("51-200", 125.5),
        ("1,001-5,000", 3000.5),
        ("10K+", 10_000.0),
        ("$12.5M", 12.5e6),
        ("1.2B", 1.2e9),
        ("€3,4 Mio", 3.4e6),
        ("1-5M", 3e6),
        ("12 to 50 employees", 31.0),
        ("1.234.567", 1_234_567.0),
        ("1.234,56", 1234.56),
        ("1 001", 1001.0),
        ("<10", 10.0),
        ("-5", -5.0),
        ("(300)", -300.0),
        ("USD 2,500", 2500.0),
        ("abc", None),
        ("n/a", None),
        ("", None),
        ("1-2-3", None),
    ],
)
def test_parse_quantity(text, expected):
    assert parse_quantity(text) == expected


def test_parse_numbers_flags_only_real_text():
    values, bad = parse_numbers(pl.Series(["1", "2.5", "51-200", "lots", None, "n/a", "inf"]))
    assert values.to_list() == [1.0, 2.5, 125.5, None, None, None, None]
    # "inf" is not text but an overflow: missing, reported apart (read_numbers().overflow)
    assert bad.to_list() == [False, False, False, True, False, False, False]


@pytest.mark.parametrize(
    ("values", "expected", "note"),
    [
        (
            ["2024-03-31", "2024-01-02T10:00:00Z", "2024-01-03 09:15"],
            [date(2024, 3, 31), date(2024, 1, 2), date(2024, 1, 3)],
            None,
        ),
        (["31/03/2024", "1/2/2024"], [date(2024, 3, 31), date(2024, 2, 1)], None),
        (["3/31/2024", "1/2/2024"], [date(2024, 3, 31), date(2024, 1, 2)], None),
        (["1/2/2024", "3/4/2024"], [date(2024, 1, 2), date(2024, 3, 4)], "month-first"),
        (["1.2.2024", "3.4.24"], [date(2024, 2, 1), date(2024, 4, 3)], "day-first"),
        (
            ["45000", "Jan 5, 2024", "5 March 2024"],
            [date(2023, 3, 15), date(2024, 1, 5), date(2024, 3, 5)],
            None,
        ),
    ],
)
def test_parse_dates(values, expected, note):
    parsed = parse_dates(pl.Series("d", values))
    assert parsed.values.to_list() == expected
    assert not parsed.bad.any()
    assert (parsed.note is None) == (note is None)
    if note:
        assert note in parsed.note and "date_format" in parsed.note


def test_date_format_settles_ambiguity_and_bad_dates_are_flagged():
    parsed = parse_dates(pl.Series("d", ["01/02/2024", "2024-05-06", "31/02/2024", ""]), "%d/%m/%Y")
    assert parsed.values.to_list() == [date(2024, 2, 1), date(2024, 5, 6), None, None]
    assert parsed.bad.to_list() == [False, False, True, False]
    assert parsed.note is None


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("USA", "US"),
        ("U.S.", "US"),
        ("United States of America", "US"),
        ("us", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("Deutschland", "DE"),
        ("DEU", "DE"),
        ("the Netherlands", "NL"),
        ("Côte d'Ivoire", "CI"),
        ("Korea", "KR"),
        ("Türkiye", "TR"),
    ],
)
def test_country_codes(spelling, code):
    assert country_code(spelling) == (code, False)


def test_countries_fuzzy_and_unknown_are_reported():
    codes, fuzzy, unknown = normalise_countries(
        pl.Series(["Philipines", "Atlantis", "Kenya", None])
    )
    assert codes.to_list() == ["PH", None, "KE", None]
    assert fuzzy == {"Philipines": "PH"} and unknown == ["Atlantis"]


def test_domains_from_urls_and_emails():
    raw = [
        "https://www.Acme.com/about",
        "bob@acme.io",
        "acme.co.uk",
        "n/a",
        None,
        "www2.x.org:8080",
    ]
    assert normalise_domains(pl.Series(raw)).to_list() == [
        "acme.com",
        "acme.io",
        "acme.co.uk",
        None,
        None,
        "x.org",
    ]


@pytest.mark.parametrize(
    ("raw", "stage", "guessed"),
    [
        ("closedwon", "won", False),
        ("Closed Won", "won", False),
        ("won", "won", False),
        ("closedlost", "lost", False),
        ("Closed Lost", "lost", False),
        ("Lost", "lost", False),
        ("Engaging", "open", False),
        ("Prospecting", "open", False),
        ("appointmentscheduled", "open", False),
        ("Won - pending", "won", True),
        ("Stage 7", "open", True),
    ],
)
def test_stages(raw, stage, guessed):
    stages, guesses = normalise_stages(pl.Series([raw]))
    assert stages.to_list() == [stage]
    assert (raw in guesses) == guessed


def test_stage_values_override():
    stages, guesses = normalise_stages(
        pl.Series(["Signed PO", "Stage 7"]), {"Signed PO": "won", "stage7": "lost"}
    )
    assert stages.to_list() == ["won", "lost"] and guesses == {}


def test_tags_split_sorted_unique():
    raw = ["b; a|c, a", "", None, " x ", ";;a;;"]
    assert split_tags(pl.Series(raw)).to_list() == [["a", "b", "c"], None, None, ["x"], ["a"]]


@pytest.mark.parametrize(
    ("values", "pair"),
    [
        (["GTXPro", "GTX Pro", "MG Special"], ("GTX Pro", "GTXPro")),
        (["technolgy", "technology", "retail"], ("technolgy", "technology")),
        (["Software", "software"], ("Software", "software")),
        (["Tier 1", "Tier 2", "Tier 3"], None),
        (["retail", "medical"], None),
    ],
)
def test_near_duplicates(values, pair):
    assert near_duplicates(values) == ([pair] if pair else [])
