"""What can never be a customer trait: placeholder levels and the people of the sales process.

- A **placeholder** level means "no answer" or "anything else" ("unknown", "other", "n/a", "-",
  "select", "not specified", the bank data's "nonexistent", their equivalents in several
  languages). A criterion made only of placeholders or missing values says nothing about the
  customer ("a company with no known origin"), so discovery never offers such a condition.
- A **people** column names who works the account (owner, rep, seller, SDR, account manager…):
  by a strong name alone (``account_owner``, ``sales_rep``), or by a weaker name (``KA_name``,
  ``agent``, ``manager``) whose values read as person names or initials. Its values describe the
  sales process, not the customer; the report lists it as a sales-process finding.

The words are in ``vocab/traits.toml``; ``discovery.placeholders`` and ``discovery.people`` add
more per workspace.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from functools import cache
from importlib import resources
from itertools import pairwise

import polars as pl

from icpkit.data.mapping import snake_name

# The wording every report and message uses for a people column.
ASSIGNED_PERSON = "sales process: assigned person"
# Names that are about people only when the values are people too ("ka_name" holds initials,
# "agent_type" holds categories).
_WEAK_PEOPLE = frozenset(
    ["ka", "am", "ae", "agent", "agents", "manager", "managers", "user", "staff", "advisor",
     "adviser", "consultant", "caller", "handler", "responsible", "responsable", "referente",
     "gestor", "gestora", "closer", "setter", "recruiter", "telemarketer", "mitarbeiter",
     "berater", "comercial", "commercial", "commerciale", "agente"]
)  # fmt: skip
# "Tatiana Trifonova", "J. Smith", "Smith, John" — and initials "VM", "R.J.", "AB C".
_FULL_NAME = (
    r"^\p{Lu}[\p{Ll}'\-]+,?(?: \p{Lu}\.?| \p{Lu}[\p{Ll}'\-]+){1,2}$|^\p{Lu}\. ?\p{Lu}[\p{Ll}'\-]+$"
)
_INITIALS = r"^\p{Lu}\.?(?: ?\p{Lu}\.?){1,2}$"
_PERSON_SHARE = 0.8


def _fold(value: str) -> str:
    """Lower case, with dots, dashes, underscores and runs of space folded to one space."""
    return re.sub(r"[\s._\-]+", " ", value.strip().lower()).strip()


@cache
def _vocabulary() -> dict[str, dict[str, list[str]]]:
    text = resources.files("icpkit.data").joinpath("vocab/traits.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def _placeholder_keys(extra: tuple[str, ...]) -> frozenset[str]:
    words = [w for ws in _vocabulary()["placeholders"].values() for w in ws]
    return frozenset(_fold(w) for w in (*words, *extra)) | frozenset([""])


def is_placeholder(value: object, extra: Iterable[str] = ()) -> bool:
    """Whether a level means "no answer" or "anything else" (blank, "unknown", "Other", "N/A"…)."""
    if value is None:
        return True
    text = str(value)
    keys = _placeholder_keys(tuple(sorted(extra)))
    return _fold(text) in keys or re.fullmatch(r"[\s\-_.?/\\*#]*", text) is not None


def _people_words(extra: tuple[str, ...]) -> frozenset[str]:
    return frozenset(snake_name(w) for w in (*_vocabulary()["people"]["words"], *extra))


def _name_parts(column: str) -> tuple[str, set[str]]:
    name = snake_name(column)
    parts = set(name.split("_"))
    # "accountmanager", "salesrep" written as one word, and pairs "account_manager"
    pieces = name.split("_")
    parts |= {f"{a}_{b}" for a, b in pairwise(pieces)}
    parts |= {f"{a}{b}" for a, b in pairwise(pieces)}
    return name, parts


def people_name(column: str, extra: Iterable[str] = ()) -> str | None:
    """'strong' when the column's name alone says it holds people of the sales process, 'weak'
    when it may (values decide), None otherwise."""
    name, parts = _name_parts(column)
    words = _people_words(tuple(sorted(extra)))
    hits = (parts | {name}) & words
    if not hits:
        return None
    return "weak" if hits <= _WEAK_PEOPLE else "strong"


def person_like_share(values: pl.Series) -> float:
    """Share of the filled values that read as a person's name or initials (each distinct value
    read once, weighted by its count: no sample, so no dependence on the order of the rows)."""
    text = values.cast(pl.Utf8).drop_nulls().str.strip_chars()
    counts = text.filter(text != "").value_counts(name="n")
    if counts.height == 0:
        return 0.0
    level = counts.get_column(counts.columns[0])
    person = level.str.contains(_FULL_NAME) | level.str.contains(_INITIALS)
    n = counts.get_column("n")
    return float((n * person).sum()) / float(n.sum())


def people_column(column: pl.Series, extra: Iterable[str] = ()) -> bool:
    """Whether ``column`` holds the people who work the accounts (owner, rep, account manager…).

    A strong name (``owner``, ``sales_rep``, ``account_manager``) suffices for a text or id column;
    a weak one (``agent``, ``KA_name``) needs most values to read as names or initials; a text
    column of repeated full names (few people, many rows) is assigned staff whatever its name.
    """
    dtype = column.dtype
    if dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean:
        return False
    kind = people_name(column.name, extra)
    if kind == "strong":
        return True
    if isinstance(dtype, pl.List):
        return False
    share = person_like_share(column)
    if kind == "weak":
        return share >= _PERSON_SHARE
    filled = column.drop_nulls()
    if share < _PERSON_SHARE or len(filled) < 50:
        return False
    # full names repeated over many rows: a handful of staff, not one contact per row
    full = int(filled.cast(pl.Utf8).str.contains(_FULL_NAME).sum())
    return full >= _PERSON_SHARE * len(filled) and filled.n_unique() <= 0.05 * len(filled)
