"""Signal values read where they have a known shape: a funding round and amount, a role, a tool.

``value_class`` is what effects can be broken down by (the round of a funding event, the role of a
hire or leadership change, the tool adopted); ``amount`` is a funding amount in currency units.
A value of another shape keeps its text as the class when it is short, and none when it is long
(free text is not a class).
"""

from __future__ import annotations

import re

import polars as pl

from icpkit.data.normalize import parse_quantity

_ROUND = r"(?i)\b(pre[- ]?seed|seed|series\s+[a-h]\+?|private equity|ipo|debt|grant)\b"
# An amount is a number with a currency or a scale: '-$5M', '$1,500M', '12,000K', '€2.5 Mio',
# '1.2bn', 'EUR 12.500'. A bare number ('Series 2') is none.
_AMOUNT = re.compile(
    r"(?i)(?<![\w.,])(?P<sign>[-−–]\s*)?(?P<cur>[$€£]|usd\b|eur\b|gbp\b)?\s*"
    r"(?P<num>\d[\d.,']*\d|\d)\s*"
    r"(?P<unit>thousand|million|billion|mio|mrd|mn|mm|bn|k|m|b)?(?![a-z])\s*"
    r"(?P<cur2>[$€£]|usd\b|eur\b|gbp\b)?"
)
MAX_CLASS_LENGTH = 40


def _funding_round() -> pl.Expr:
    found = pl.col("value").str.extract(_ROUND, 1)
    return (
        found.str.to_lowercase()
        .str.replace_all(r"[\s\-]+", " ")
        .str.replace(r"^pre ?seed$", "pre-seed")
        .str.to_titlecase()
        .str.replace(r"^Ipo$", "IPO")
    )


def funding_amount(text: str | None) -> float | None:
    """The amount a funding value states, in currency units; negative when it says so ('-$5M').

    Thousands separators and scales are read together ('$1,500M' is 1.5 billion, '12,000K' 12
    million), a euro amount's dot as the thousands separator it is ('€12.500').
    """
    for match in _AMOUNT.finditer(text or ""):
        currency = match["cur"] or match["cur2"] or ""
        if not (currency or match["unit"]):
            continue
        value = parse_quantity(f"{currency} {match['num']}{match['unit'] or ''}")
        if value is not None:
            return -value if match["sign"] else value
    return None


def _amount() -> pl.Expr:
    return pl.col("value").map_elements(funding_amount, return_dtype=pl.Float64)


def _role() -> pl.Expr:
    return (
        pl.col("value")
        .str.replace(r"\(.*\)", "")
        .str.replace(r"(?i)^\s*(new|hiring|hired|appointed)\s+", "")
        .str.replace(r"(?i)\s*\+?\d+\s*open roles?", "")
        .str.strip_chars(" :-,")
    )


def parse_values(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (with ``type`` and ``value``) plus ``value_class`` and ``amount``.

    Each distinct (type, value) is parsed once: signal feeds repeat a few values millions of times.
    """
    distinct = _parsed(frame.select("type", "value").unique())
    return frame.join(
        distinct, on=["type", "value"], how="left", nulls_equal=True, maintain_order="left"
    )


def _parsed(frame: pl.DataFrame) -> pl.DataFrame:
    value_type = pl.col("type")
    short = pl.when(pl.col("value").str.len_chars() <= MAX_CLASS_LENGTH).then(pl.col("value"))
    value_class = (
        pl.when(value_type == "funding")
        .then(_funding_round())
        .when(value_type.is_in(["hiring", "leadership_change"]))
        .then(_role())
        .otherwise(short)
    )
    amount = pl.when(value_type == "funding").then(_amount())
    frame = frame.with_columns(
        value_class.replace("", None).alias("value_class"), amount.alias("amount")
    )
    # a round cannot raise less than nothing: a negative amount is refused (missing, counted)
    negative = (pl.col("amount") < 0).fill_null(False)
    return frame.with_columns(
        pl.when(negative).then(None).otherwise(pl.col("amount")).alias("amount"),
        negative.alias("negative_amount"),
    )
