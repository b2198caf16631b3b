"""Signal values read where they have a known shape: a funding round and amount, a role, a tool.

``value_class`` is what effects can be broken down by (the round of a funding event, the role of a
hire or leadership change, the tool adopted); ``amount`` is a funding amount in currency units.
A value of another shape keeps its text as the class when it is short, and none when it is long
(free text is not a class).
"""

from __future__ import annotations

import polars as pl

_ROUND = r"(?i)\b(pre[- ]?seed|seed|series\s+[a-h]\+?|private equity|ipo|debt|grant)\b"
_AMOUNT = r"(?i)\$?\s*(\d+(?:[.,]\d+)?)\s*([kmb])\b"
_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9}
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


def _amount() -> pl.Expr:
    number = pl.col("value").str.extract(_AMOUNT, 1).str.replace(",", ".").cast(pl.Float64)
    unit = pl.col("value").str.extract(_AMOUNT, 2).str.to_lowercase()
    scale = unit.replace_strict(_SCALE, default=None, return_dtype=pl.Float64)
    return number * scale


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
    return frame.with_columns(
        value_class.replace("", None).alias("value_class"), amount.alias("amount")
    )
