"""Columns that read as sales-process state by their name or their values, in several languages.

A lead export carries fields the sales team (or its tools) fills in during or after contact: the
rep the lead is assigned to, a status tag ("call back later", "lost to competitor"), a quality
rating, the last activity, call counts and durations. They predict the outcome because they are
written *because of* it, so they are never customer traits. This module only reads names and
values; :mod:`icpkit.data.guard` weighs that evidence with the outcome-based checks.

The vocabulary lives in ``vocab/sales_process.toml`` (en, de, fr, es, pt, it, nl) and is extended
per workspace by ``discovery.sales_process_names`` and ``discovery.sales_process_values``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import polars as pl

# Why each kind of name counts as sales process, in the words of the exclusion reason.
NAME_KINDS = {
    "assigned_person": "assigned person",
    "process_state": "a status, stage or tag",
    "activity": "contact activity or its recency",
    "rating": "a rating or score of the lead",
    "contact_attempts": "counts or durations of contact attempts",
}
# A text column reads as contact results when this share of its filled rows holds such values.
VALUE_SHARE = 0.25
# Value cleaning cost is bounded: only the most frequent levels are read.
MAX_LEVELS = 200


def clean(text: str) -> str:
    """Lower case, accents stripped, every non-alphanumeric character a single space."""
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    # camelCase → camel case, so "lastActivity" reads as two words
    plain = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", plain).lower()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def _pattern(terms: Iterable[str], context: Sequence[str] = ()) -> re.Pattern[str] | None:
    """One regex matching any term as consecutive whole words ('x*' = a word starting with x,
    '^x' = at the start, '=x' = the whole name, '~x' = the whole name or beside a ``context``
    word)."""
    near = "|".join(sorted({r"\s".join(map(re.escape, clean(c).split())) for c in context}))
    parts = []
    for term in terms:
        if term.startswith("~"):
            body = r"\s".join(map(re.escape, clean(term[1:]).split()))
            parts.append(r"^" + body + r"(?:\s(?:name|id|code))?$")
            if near:
                parts.append(rf"(?:^|\s)(?:{near})(?:\s\w+){{0,2}}\s{body}")
                parts.append(rf"(?:^|\s){body}(?:\s\w+){{0,2}}\s(?:{near})")
            continue
        words = clean(term.strip("=^*")).split()
        if not words:
            continue
        body = r"\s".join(re.escape(w) for w in words)
        body += r"[a-z0-9]*" if term.endswith("*") else ""
        if term.startswith("="):  # the whole name, or the name plus one of its labels
            parts.append(r"^" + body + r"(?:\s(?:name|names|id|code|initials))?$")
            continue
        parts.append(("^" if term.startswith("^") else r"(?:^|\s)") + body)
    if not parts:
        return None
    alternatives = "|".join(sorted(set(parts), key=len, reverse=True))
    return re.compile(r"(?:" + alternatives + r")(?=\s|$)")


@dataclass(frozen=True)
class Vocabulary:
    """Compiled name patterns by kind and one value pattern."""

    names: tuple[tuple[str, re.Pattern[str]], ...]
    values: re.Pattern[str] | None

    def name_kind(self, column: str) -> str | None:
        """The first kind of sales-process name ``column`` matches (see :data:`NAME_KINDS`)."""
        text = clean(column)
        for kind, pattern in self.names:
            if pattern.search(text):
                return kind
        return None

    def value_share(self, column: pl.Series) -> tuple[float, list[str]]:
        """Share of filled rows whose value reads as a contact attempt or result, and up to three
        such levels (only for text columns; (0, []) otherwise)."""
        if self.values is None or column.dtype not in (pl.Utf8, pl.Categorical):
            return 0.0, []
        counts = column.drop_nulls().cast(pl.Utf8).value_counts(sort=True).head(MAX_LEVELS)
        total = int(column.drop_nulls().len())
        if total == 0:
            return 0.0, []
        hit = 0
        levels: list[str] = []
        for level, count in counts.iter_rows():
            if self.values.search(clean(str(level))):
                hit += int(count)
                levels.append(str(level))
        return hit / total, levels[:3]


@lru_cache(maxsize=1)
def _builtin() -> dict[str, dict[str, list[str]]]:
    text = resources.files("icpkit.data").joinpath("vocab/sales_process.toml").read_text("utf-8")
    return tomllib.loads(text)


@lru_cache(maxsize=32)
def vocabulary(extra_names: Sequence[str] = (), extra_values: Sequence[str] = ()) -> Vocabulary:
    """The built-in vocabulary plus the workspace's extra terms (extra names count as process
    state unless they also match an assigned-person term)."""
    data = _builtin()
    kinds = dict(data["names"])
    kinds["process_state"] = [*kinds["process_state"], *extra_names]
    context = kinds.pop("context", [])
    compiled = []
    for kind in NAME_KINDS:
        pattern = _pattern(kinds.get(kind, []), context)
        if pattern is not None:
            compiled.append((kind, pattern))
    values = _pattern([*data["values"]["contact_result"], *extra_values])
    return Vocabulary(tuple(compiled), values)
