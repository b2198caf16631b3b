"""Value normalisation: numbers and ranges, countries, domains, deal stages, tags, spellings.

Every function works on a whole polars Series. Strings that the fast vectorised path cannot read
fall back to a Python parser, but only once per *distinct* failing value, so a million clean rows
never enter a Python loop.

Ranges such as ``"51-200"`` become their **midpoint** (125.5): a bucketed export then lands inside
its bucket, which is what binning and segment rules need. Open ranges (``"10K+"``, ``">500"``,
``"<10"``) become their stated bound.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from icpkit.data.countries import country_code

# Cell values that mean "no value" in numeric and date columns.
NULL_TOKENS = frozenset(
    {"", "na", "n/a", "n.a.", "nan", "null", "none", "nil", "-", "--", "?", "unknown", "#n/a"}
)

_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mm": 1e6,
    "mn": 1e6,
    "mio": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "bil": 1e9,
    "billion": 1e9,
    "mrd": 1e9,
}
_UNIT_WORDS = re.compile(
    r"\b(usd|eur|gbp|chf|jpy|cad|aud|inr|cny|sek|nok|dkk|employees?|people|staff|fte|dollars?|euros?)\b"
)
_TOKEN = re.compile(
    r"(\d{1,3}(?: \d{3})+(?:[.,]\d+)?|\d[\d.,']*\d|\d)"  # 1 001 | 1,001.5 | 7
    r"\s*(thousand|million|billion|mio|mrd|bil|mn|mm|bn|k|m|b)?(?![a-z])"
)
_LEFTOVER_OK = re.compile(r"^[#\s\-–—+<>~≈]*(?:to|and|bis)?[#\s\-–—+<>~≈]*$")


_SPACES = re.compile(r"[\u00a0\u202f\u2009\u2007]")  # no-break, narrow no-break, thin, figure
# Evidence of a column's separator style (decided once per column, like the day/month order).
_EU = re.compile(
    r"\d\.\d{3},\d|(?<![\d.,])\d{1,3}(\.\d{3}){2,}(?![\d.,])|(?<![\d.,])\d+,\d{1,2}(?![\d.,])"
)
_US = re.compile(
    r"\d,\d{3}\.\d|(?<![\d.,])\d{1,3}(,\d{3}){2,}(?![\d.,])|(?<![\d.,])\d+\.(\d{1,2}|\d{4,})(?![\d.,])"
)
# '1.324' could be either; '0.324' cannot (no thousands group starts with 0)
_AMBIGUOUS_DOT = re.compile(r"(?<![\d.,])[1-9]\d{0,2}\.\d{3}(?![\d.,])")
# a dot no thousands separator can be: '0.324', '1234.5' (a thousands dot would group the 1)
_LEADING_ZERO = re.compile(r"(?<![\d.,])(0|\d{4,})\.\d+(?![\d.,])")


def number_style(
    texts: Iterable[str], two_decimals_at_most: bool = False
) -> tuple[str | None, str | None]:
    """('eu' | 'us' | None, note) for the written numbers of one column.

    'eu': dots group thousands and a comma is the decimal mark (1.234.567, 3,5, 1.234,56);
    'us': commas group thousands and a dot is the decimal mark (1,234,567, 3.5). Decided from all
    values together. A column whose only dotted values are like '1.324' (a decimal point or a
    thousands dot?) is settled by the rest of the column's evidence: a euro sign anywhere in it, a
    value such as '12.500' (a writer of decimals drops the trailing zero), or a column of counts or
    money in units (``two_decimals_at_most``: no '1.324' employees, no tenth of a cent) read the
    dot as a thousands separator; a '0.324', a '1234.5' or a dollar or pound sign as a decimal
    point. The note (None when the style was proven) says how it was read; the cells
    read by such an inference are named one by one by the caller (:attr:`NumberParse.ambiguous`).
    """
    eu = us = 0
    ambiguous: list[str] = []
    euro = dollar = trailing_zero = leading_zero = False
    for raw in texts:
        text = _SPACES.sub(" ", raw)
        eu += bool(_EU.search(text))
        us += bool(_US.search(text))
        lower = text.lower()
        euro = euro or "€" in text or "eur" in lower
        dollar = dollar or bool(re.search(r"[$£]|\b(usd|gbp)\b", lower))
        leading_zero = leading_zero or bool(_LEADING_ZERO.search(text))
        found = _AMBIGUOUS_DOT.findall(text)
        if found:
            ambiguous.append(raw)
            trailing_zero = trailing_zero or any(f.endswith("0") for f in found)
    if eu and not us:
        return "eu", None
    if us and not eu:
        return "us", None
    if eu and us:
        return None, (
            f"mixes European (1.234,5) and US (1,234.5) number formats ({eu} vs {us} distinct "
            "values); each value is read by its own shape"
        )
    if ambiguous:
        if leading_zero or (dollar and not euro):
            style, why = "us", "the column also holds '0.xxx' or '1234.5' values or a $/£ sign"
        elif euro and not dollar:
            style, why = "eu", "the column carries a euro sign"
        elif trailing_zero:
            style, why = "eu", f"values such as {_example(ambiguous, '0')!r} end in a zero"
        elif two_decimals_at_most:
            style, why = "eu", "the column holds counts or money, which have two decimals at most"
        else:
            style, why = "us", "nothing in the column says otherwise"
        reading = "a thousands separator" if style == "eu" else "a decimal point"
        return style, (
            f"every dotted number has three digits after the dot (e.g. {ambiguous[0]!r}), so the "
            f"dot could be a decimal point or a thousands separator; read as {reading} because "
            f"{why}. Each such cell is listed; fix the export if that is wrong"
        )
    return None, None


def _example(values: list[str], ending: str) -> str:
    return next((v for v in values if v.rstrip(" €$").endswith(ending)), values[0])


def _plain_number(token: str, style: str | None = None) -> float | None:
    """Read one number with thousands and decimal separators in US or European style."""
    text = token.replace(" ", "").replace("'", "")
    if style == "eu":
        text = text.replace(".", "").replace(",", ".")
    elif style == "us":
        text = text.replace(",", "")
    elif "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif "," in text:
        # 1,001 and 12,500,000 are thousands; 3,4 and 12,75 are decimal commas.
        grouped = re.fullmatch(r"\d{1,3}(,\d{3})+", text)
        text = text.replace(",", "") if grouped else text.replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3}){2,}", text):
        text = text.replace(".", "")  # 1.234.567 (a single "1.234" stays a decimal point)
    try:
        return float(text)
    except ValueError:
        return None


def parse_quantity(text: str, style: str | None = None) -> float | None:
    """Read a count or money amount written by a person: '51-200', '1,001-5,000', '10K+', '$12.5M'.

    Returns None when the text is not a number. Closed ranges give their midpoint, open ranges their
    bound; a unit suffix on the upper end of a range applies to both ends ('1-5M'). ``style``
    ('eu' | 'us', see :func:`number_style`) settles what dots and commas mean.
    """
    text = _SPACES.sub(" ", text).strip().lower()
    if text in NULL_TOKENS:
        return None
    # a euro amount in a column of undecided style: '€12.500' is twelve thousand five hundred
    euro = style is None and bool(re.search(r"€|\beur", text))
    text = re.sub(r"[$€£¥₹]", " ", text)
    text = _UNIT_WORDS.sub(" ", text).strip()
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("()")
    matches = list(_TOKEN.finditer(text))
    if not matches or len(matches) > 2 or not _LEFTOVER_OK.match(_TOKEN.sub("#", text)):
        return None
    values: list[float] = []
    last_scale = _SCALE.get(matches[-1].group(2) or "", 1.0)
    for match in matches:
        token = match.group(1)
        eu_token = euro and re.fullmatch(r"[1-9]\d{0,2}\.\d{3}", token)
        number = _plain_number(token, "eu" if eu_token else style)
        if number is None:
            return None
        scale = _SCALE.get(match.group(2) or "", last_scale if len(matches) == 2 else 1.0)
        values.append(number * scale)
    value = sum(values) / len(values)
    if negative and len(values) == 1:
        value = -value
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class NumberParse:
    """Numbers of one column: values, cells with text but no number, cells that overflow
    (inf, 1e400, NaN — read as missing, never as ±infinity), a note on the format (or None) and
    the cells whose reading rests on that note ('1.324' read by the column's inferred style, or
    by its own shape in a column that mixes styles), to be named row by row."""

    values: pl.Series
    bad: pl.Series
    overflow: pl.Series
    note: str | None = None
    ambiguous: pl.Series | None = None


def read_numbers(values: pl.Series, two_decimals_at_most: bool = False) -> NumberParse:
    """Numbers from any column, the separator style decided once from all its values.

    ``two_decimals_at_most``: the column holds counts or money in units (employees, revenue), so
    a lone '1.324' is a thousands dot.
    """
    if values.dtype.is_numeric():
        out = values.cast(pl.Float64)
        overflow = ~out.is_finite().fill_null(True)
        out = out.set(overflow, None)  # inf/nan are not amounts
        return NumberParse(out, overflow & False, overflow.alias(values.name))
    if values.dtype == pl.Boolean:
        none = values.is_null() & False
        return NumberParse(values.cast(pl.Float64), none, none)
    text = values.cast(pl.Utf8).str.strip_chars()
    blank = text.is_null() | text.str.to_lowercase().is_in(list(NULL_TOKENS))
    distinct = text.drop_nulls().unique()
    marked = distinct.filter(distinct.str.contains(r"\d[.,]\d"))
    style, note = (
        number_style(marked.to_list(), two_decimals_at_most) if len(marked) else (None, None)
    )
    fast = text.cast(pl.Float64, strict=False)
    if style == "eu":
        fast = fast.set(text.str.contains(r"[.,]").fill_null(False), None)
    overflow = (fast.is_infinite() | fast.is_nan()).fill_null(False) & ~blank
    fast = fast.set(~fast.is_finite().fill_null(True), None)
    failing = text.filter(fast.is_null() & text.is_not_null() & ~overflow).unique()
    if len(failing):
        slow = {raw: parse_quantity(raw, style) for raw in failing.to_list()}
        parsed = text.replace_strict(slow, default=None, return_dtype=pl.Float64)
        fast = fast.fill_null(parsed)
    bad = fast.is_null() & ~blank & ~overflow
    ambiguous = None
    if note is not None:
        pattern = r"(^|[^\d.,])[1-9]\d{0,2}\.\d{3}($|[^\d.,])"  # _AMBIGUOUS_DOT, no look-around
        ambiguous = (text.str.contains(pattern).fill_null(False) & fast.is_not_null()).alias(
            values.name
        )
    return NumberParse(fast.alias(values.name), bad.alias(values.name), overflow, note, ambiguous)


def parse_numbers(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Numbers from any column: (Float64 values, mask of cells that held text but no number).

    Overflowing cells (inf, 1e400) are missing and not flagged here; :func:`read_numbers` tells
    them apart and carries the note on an ambiguous separator style.
    """
    parsed = read_numbers(values)
    return parsed.values, parsed.bad


def as_text(values: pl.Series) -> pl.Series:
    """Any column as strings; Python objects (a frame built from mixed lists) via ``str``."""
    if values.dtype == pl.Object:
        items = [None if v is None else str(v) for v in values.to_list()]
        return pl.Series(values.name, items, dtype=pl.Utf8)
    if isinstance(values.dtype, pl.List | pl.Array | pl.Struct):
        return values.map_elements(str, return_dtype=pl.Utf8)
    return values.cast(pl.Utf8)


def clean_text(values: pl.Series) -> pl.Series:
    """Strings stripped of surrounding space; blank cells become null."""
    text = as_text(values).str.strip_chars()
    return text.set(text == "", None)


def normalise_countries(values: pl.Series) -> tuple[pl.Series, dict[str, str], list[str]]:
    """ISO-2 codes from country names, codes and variants.

    Returns (codes, fuzzy matches {spelling: code} to report, unknown spellings). Unknown
    spellings become null so that a column never mixes codes and free text.
    """
    text = clean_text(values)
    mapping: dict[str, str | None] = {}
    fuzzy: dict[str, str] = {}
    unknown: list[str] = []
    for spelling in text.drop_nulls().unique().to_list():
        code, was_fuzzy = country_code(spelling)
        mapping[spelling] = code
        if code is None:
            unknown.append(spelling)
        elif was_fuzzy:
            fuzzy[spelling] = code
    codes = text.replace_strict(mapping, default=None, return_dtype=pl.Utf8)
    return codes.alias(values.name), fuzzy, sorted(unknown)


def normalise_domains(values: pl.Series) -> pl.Series:
    """Bare lower-case domains from URLs, e-mails or domains ('https://www.x.io' → 'x.io')."""
    text = (
        clean_text(values)
        .str.to_lowercase()
        .str.replace(r"^[a-z][a-z0-9+.\-]*://", "")
        .str.replace(r"^[^@/]*@", "")
        .str.replace(r"^www\d?\.", "")
        .str.replace(r"[/?#:\s].*$", "")
        .str.strip_chars(".")
    )
    # the last label must hold a letter: '12.5' (a visit count) or an IP address is no domain
    domain = r"^[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z0-9\-]*[a-z][a-z0-9\-]*$"
    return text.set(~text.str.contains(domain).fill_null(True), None)


def split_tags(values: pl.Series) -> pl.Series:
    """Multi-valued cells ('HubSpot; Salesforce|Slack') as sorted lists of unique stripped tags.

    Blank cells are missing (null). Sorting happens once per distinct cell text, in Python,
    because polars' per-row list sort is slow; tag cells repeat a lot, so this is fast.
    """
    if isinstance(values.dtype, pl.List):
        values = values.cast(pl.List(pl.Utf8)).list.join(",")
    # Separators and the spaces around them become one comma; then no per-element strip is needed.
    text = clean_text(
        clean_text(values).str.replace_all(r"\s*[;|,]+[\s;|,]*", ",").str.strip_chars(" ,")
    )
    canonical = {t: ",".join(sorted(set(t.split(",")))) for t in text.drop_nulls().unique()}
    joined = text.replace_strict(canonical, default=None, return_dtype=pl.Utf8)
    return joined.str.split(",").alias(values.name)


# Deal stages: keys are lower-case letters and digits only ("Closed Won" → "closedwon").
_WON = {"won", "closedwon", "win", "closedwin", "wonclosed", "booked", "signed", "contracted"}
_LOST = {
    "lost",
    "closedlost",
    "lose",
    "closedlose",
    "loss",
    "dead",
    "closeddead",
    "lostclosed",
    "disqualified",
    "closeddisqualified",
    "rejected",
    "cancelled",
    "canceled",
    "abandoned",
}
_OPEN = {
    "open",
    "new",
    "prospecting",
    "prospect",
    "engaging",
    "engaged",
    "qualification",
    "qualified",
    "qualifiedtobuy",
    "discovery",
    "demo",
    "demoscheduled",
    "proposal",
    "proposalpricequote",
    "negotiation",
    "negotiationreview",
    "contractsent",
    "appointmentscheduled",
    "closing",
    "presentationscheduled",
    "decisionmakerboughtin",
    "needsanalysis",
    "valueproposition",
    "iddecisionmakers",
    "perceptionanalysis",
    "pending",
    "inprogress",
    "pipeline",
    "commit",
    "bestcase",
    "lead",
    "evaluation",
    "trial",
    "pilot",
    "poc",
    "verbal",
    "onhold",
}


def stage_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _stage_of(raw: str, overrides: dict[str, str]) -> tuple[str, bool]:
    """(won|lost|open, whether it was a guess worth reporting)."""
    key = stage_key(raw)
    if raw in overrides or key in overrides:
        return overrides.get(raw, overrides.get(key, "open")), False
    if key in _WON or key in _LOST or key in _OPEN:
        return ("won" if key in _WON else "lost" if key in _LOST else "open"), False
    if "won" in key or key.startswith("win"):
        return "won", True
    if "lost" in key or "lose" in key:
        return "lost", True
    return "open", True


def normalise_stages(
    values: pl.Series, overrides: dict[str, str] | None = None
) -> tuple[pl.Series, dict[str, str]]:
    """Deal stages as won | lost | open; returns (stages, guessed {raw value: stage}) to report.

    ``overrides`` is SourceConfig.stage_values (raw value or its key → stage) and wins over the
    built-in vocabulary (HubSpot closedwon/closedlost, Salesforce 'Closed Won', Maven Won/Lost…).
    """
    keyed = {stage_key(k): v for k, v in (overrides or {}).items()}
    keyed.update(overrides or {})
    text = clean_text(values)
    mapping: dict[str, str] = {}
    guessed: dict[str, str] = {}
    for raw in text.drop_nulls().unique().to_list():
        stage, guess = _stage_of(raw, keyed)
        mapping[raw] = stage
        if guess:
            guessed[raw] = stage
    stages = text.replace_strict(mapping, default="open", return_dtype=pl.Utf8)
    return stages.alias(values.name), guessed


_TRUE = {"true", "1", "yes", "y", "t", "1.0"}
_FALSE = {"false", "0", "no", "n", "f", "0.0"}


def parse_booleans(values: pl.Series) -> pl.Series | None:
    """True/false flags (Salesforce IsWon, 'yes'/'no'); None when the column is not boolean."""
    if values.dtype == pl.Boolean:
        return values
    text = clean_text(values).str.to_lowercase()
    seen = set(text.drop_nulls().unique().to_list())
    if not seen or not seen <= _TRUE | _FALSE:
        return None
    return text.is_in(list(_TRUE)).set(text.is_null(), None).alias(values.name)


def _within_one_edit(a: str, b: str) -> bool:
    """Whether two strings differ by one insertion, deletion, substitution or transposition."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        swap = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
        return len(diff) == 1 or (swap and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[i:] == long[i + 1 :]


def near_duplicates(spellings: Iterable[str], max_fuzzy: int = 400) -> list[tuple[str, str]]:
    """Pairs of distinct spellings that probably mean the same category.

    Two spellings match when they are equal ignoring case, spaces and punctuation ('GTXPro' vs
    'GTX Pro'), or — for up to ``max_fuzzy`` distinct values of 5+ letters — one typo apart
    ('technolgy' vs 'technology'). Pairs that differ in a digit ('Tier 1' vs 'Tier 2') are
    distinct labels, not typos. Returned, never merged: the user decides.
    """
    by_key: dict[str, list[str]] = {}
    for spelling in spellings:
        by_key.setdefault(re.sub(r"[^0-9a-z]", "", spelling.lower()), []).append(spelling)
    groups = [sorted(set(group)) for group in by_key.values()]
    pairs = [(group[0], other) for group in groups for other in group[1:]]
    keys = sorted(k for k in by_key if len(k) >= 5)
    if len(keys) <= max_fuzzy:
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if _within_one_edit(a, b) and re.sub(r"\d", "", a) != re.sub(r"\d", "", b):
                    pairs.append((min(by_key[a]), min(by_key[b])))  # not the first seen
    return pairs


def value_counts(values: pl.Series) -> Counter[str]:
    """Counts of the non-null values of a column, as a Counter (for messages)."""
    counts = values.drop_nulls().value_counts()
    return Counter(
        dict(zip(counts[:, 0].cast(pl.Utf8).to_list(), counts[:, 1].to_list(), strict=True))
    )
