"""Quotes without personal data: e-mails, phone numbers, links and known contact names removed.

Applied to every piece of note text that leaves icpkit (quotes, labels, statements). Links are
dropped whole — a URL can carry a login or tracking token anywhere in it. Contact names come from
the contacts table; each full name (any case) and each capitalised part of it of 3+ letters is
replaced (whole words), so "Maria" is caught in "Maria said" as well as "Maria Lopez".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
# 7+ digits with the usual separators, optionally a leading + or (area code).
PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{5,}\d(?![\w])")
DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
MAX_QUOTE = 220


def without_contact_details(texts: list[str]) -> list[str]:
    """Texts with e-mails, links and phone numbers blanked, vectorised (for keyword counting)."""
    series = pl.Series(texts, dtype=pl.Utf8)
    for pattern in (EMAIL.pattern, "(?i)" + URL.pattern):
        series = series.str.replace_all(pattern, " ")
    series = series.str.replace_all(r"\+?\(?\d[\d\s().-]{5,}\d", " ")
    return series.to_list()


class Scrubber:
    """Removes PII from text; built once per run with the contact names of the workspace."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        full: set[str] = set()
        parts: set[str] = set()
        for name in names:
            if not isinstance(name, str) or not name.strip():
                continue
            full.add(name.strip())
            parts.update(p for p in re.split(r"[\s,.]+", name) if len(p) >= 3 and p.isalpha())
        # Full names in any case; single name parts only as written (capitalised), so that a
        # first name that is also a word ("Will", "Grant") survives in lower case.
        self._names = [
            _alternation(full, re.IGNORECASE),
            _alternation({p for p in parts if p[0].isupper()}, 0),
        ]

    def __call__(self, text: str) -> str:
        """``text`` with PII replaced by [email], [phone], [link], [name]; cut to a quote's length."""
        text = EMAIL.sub("[email]", text)
        text = URL.sub("[link]", text)
        text = PHONE.sub(_phone, text)
        for pattern in self._names:
            if pattern is not None:
                text = pattern.sub("[name]", text)
        text = " ".join(text.split())
        return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1].rstrip() + "…"


def _alternation(words: set[str], flags: int) -> re.Pattern[str] | None:
    if not words:
        return None
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, ordered)) + r")\b", flags)


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    if DATE.fullmatch(found.strip()):
        return found
    return "[phone]" if sum(c.isdigit() for c in found) >= 7 else found
