"""The title vocabularies: read from the data files in ``vocab/`` and a workspace's override table.

The words live in CSV and TOML files beside this module (reviewable in a diff, shipped in the
wheel), not in code: ``functions.csv`` (term → function, weight), ``seniority.csv`` (term →
level) and ``normalise.toml`` (abbreviations, stopwords, modifiers, rewrites). Terms are cleaned
exactly like titles (:func:`clean_titles`), so the files can be written in natural spelling.
"""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from icpkit.errors import ConfigError

FUNCTIONS = (
    "Executive",
    "Finance",
    "IT",
    "Engineering",
    "Product",
    "Sales",
    "Marketing",
    "Operations",
    "HR",
    "Customer Success",
    "Procurement/Legal",
    "Other",
)
SENIORITIES = ("C-level", "VP", "Director", "Manager", "Individual contributor")
UNKNOWN = "Unknown"
NEUTRAL = "none"  # a vocabulary term that names no function (it only consumes its words)
# Higher is more senior; several cues in one title keep the most senior.
RANK = {name: len(SENIORITIES) - i for i, name in enumerate(SENIORITIES)}

Term = tuple[str, ...]


def clean_titles(titles: pl.Series, rewrites: dict[str, str] | None = None) -> pl.Series:
    """Lower case, accents stripped, punctuation as spaces ('&'/'+' inside a word kept), trimmed.

    The one cleaning of icpkit titles: vocabulary terms and override keys go through it too.
    """
    text = (
        titles.cast(pl.Utf8)
        .fill_null("")
        .str.to_lowercase()
        .str.replace_all("ß", "ss", literal=True)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        # dotted acronyms: "c.e.o." → "ceo", "v.p." → "vp"
        .str.replace_all(r"\b([a-z])\.([a-z])\.([a-z])\b\.?", "$1$2$3")
        .str.replace_all(r"\b([a-z])\.([a-z])\b\.?", "$1$2")
        .str.replace_all(r"[^a-z0-9&+]+", " ")
        .str.replace_all(r"(^| )[&+]+( |$)", " & ")
        .str.replace_all(r" +", " ")
        .str.strip_chars()
    )
    for source, target in (rewrites or {}).items():
        text = text.str.replace_all(rf"(^| ){source}( |$)", f"${{1}}{target}${{2}}")
    return text


@dataclass(frozen=True)
class Lexicon:
    """Everything the title classifier looks up, keyed by cleaned words."""

    functions: dict[Term, tuple[str, float]]
    seniority: dict[Term, str]
    abbreviations: dict[str, Term]
    stopwords: frozenset[str]
    modifiers: frozenset[str]
    cut_after: frozenset[str]
    rewrites: dict[str, str]
    overrides: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def known_words(self) -> frozenset[str]:
        """Every word of every term: what a compound word may be split into."""
        words = {w for term in (*self.functions, *self.seniority) for w in term}
        return frozenset(words | set(self.abbreviations))

    def with_overrides(self, overrides: dict[str, tuple[str | None, str | None]]) -> Lexicon:
        return Lexicon(
            self.functions,
            self.seniority,
            self.abbreviations,
            self.stopwords,
            self.modifiers,
            self.cut_after,
            self.rewrites,
            {**self.overrides, **overrides},
        )


def _vocab_text(name: str) -> str:
    return resources.files("icpkit.personas").joinpath(f"vocab/{name}").read_text("utf-8")


def _csv_rows(text: str, origin: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [
        {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        for row in csv.DictReader(io.StringIO("\n".join(lines)))
    ]


def _terms(raw: list[str], rewrites: dict[str, str]) -> list[Term]:
    cleaned = clean_titles(pl.Series(raw, dtype=pl.Utf8), rewrites).to_list()
    return [tuple(t.split()) for t in cleaned]


@cache
def default_lexicon() -> Lexicon:
    """The vocabularies shipped with icpkit (read once per process)."""
    settings = tomllib.loads(_vocab_text("normalise.toml"))
    rewrites = {str(k): str(v) for k, v in settings.get("rewrites", {}).items()}
    stopwords = frozenset(settings["stopwords"])
    function_rows = _csv_rows(_vocab_text("functions.csv"), "functions.csv")
    seniority_rows = _csv_rows(_vocab_text("seniority.csv"), "seniority.csv")
    problems = [
        f"functions.csv: {r['term']!r} has unknown function {r['function']!r}"
        for r in function_rows
        if r["function"] not in (*FUNCTIONS, NEUTRAL)
    ] + [
        f"seniority.csv: {r['term']!r} has unknown seniority {r['seniority']!r}"
        for r in seniority_rows
        if r["seniority"] not in SENIORITIES
    ]
    if problems:  # a broken package file, caught by the tests
        raise ConfigError("; ".join(problems))

    def strip(term: Term) -> Term:
        return tuple(w for w in term if w not in stopwords)

    functions = {
        strip(t): (r["function"], float(r.get("weight") or 1.0))
        for t, r in zip(
            _terms([r["term"] for r in function_rows], rewrites), function_rows, strict=True
        )
    }
    seniority = {
        strip(t): r["seniority"]
        for t, r in zip(
            _terms([r["term"] for r in seniority_rows], rewrites), seniority_rows, strict=True
        )
    }
    abbreviations = {
        str(k): tuple(str(v).split()) for k, v in settings.get("abbreviations", {}).items()
    }
    return Lexicon(
        functions={t: v for t, v in functions.items() if t},
        seniority={t: v for t, v in seniority.items() if t},
        abbreviations=abbreviations,
        stopwords=stopwords,
        modifiers=frozenset(settings["modifiers"]),
        cut_after=frozenset(settings["cut_after"]),
        rewrites=rewrites,
    )


def read_overrides(path: Path) -> dict[str, tuple[str | None, str | None]]:
    """A workspace's title overrides: CSV with ``title`` and ``function`` and/or ``seniority``.

    A blank cell keeps the classifier's answer for that part. Every invalid row is reported at
    once, with its row number.
    """
    if not path.exists():
        raise ConfigError(f"{path}: title override table not found (personas.title_overrides)")
    try:
        rows = _csv_rows(path.read_text(encoding="utf-8-sig"), str(path))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: not a readable CSV: {exc}") from None
    if not rows or "title" not in rows[0] or not {"function", "seniority"} & set(rows[0]):
        raise ConfigError(
            f"{path}: expected a CSV with columns title, function, seniority "
            f"(found {sorted(rows[0]) if rows else 'no rows'})"
        )
    problems: list[str] = []
    for number, row in enumerate(rows, start=1):
        function, level = row.get("function") or None, row.get("seniority") or None
        if function is not None and function not in (*FUNCTIONS, UNKNOWN):
            problems.append(
                f"row {number}, column function: {function!r} is not one of {', '.join(FUNCTIONS)}"
            )
        if level is not None and level not in (*SENIORITIES, UNKNOWN):
            problems.append(
                f"row {number}, column seniority: {level!r} is not one of {', '.join(SENIORITIES)}"
            )
    if problems:
        raise ConfigError(f"{path}: invalid title overrides:\n  - " + "\n  - ".join(problems))
    titles = pl.Series([r["title"] for r in rows], dtype=pl.Utf8)
    keys = clean_titles(titles, default_lexicon().rewrites).to_list()
    return {
        key: (row.get("function") or None, row.get("seniority") or None)
        for key, row in zip(keys, rows, strict=True)
        if key
    }
