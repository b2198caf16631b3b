"""Quotes without personal data: e-mails (also written out: 'jane dot doe at acme dot com'),
phone numbers, links, known contact names and other person names removed.

Applied to every piece of note text that leaves icpkit (quotes, labels, statements). Links are
dropped whole — a URL can carry a login or tracking token anywhere in it. Contact names come from
the contacts table; each full name (any case) and each capitalised part of it of 3+ letters is
replaced (whole words), so "Maria" is caught in "Maria said" as well as "Maria Lopez".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import polars as pl

from icpkit.data.attributes import GIVEN_NAMES

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Written out to dodge filters: 'jane dot doe at acme dot com', 'jane [at] acme [dot] com',
# 'jane(at)acme.com', 'jane @ acme . com'. The domain must end in a top-level domain, so 'met at
# noon' is no address.
_AT = r"(?:\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+at\s+|\s*@\s*)"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+|\s*\.\s*)"
_TLD = (
    r"(?:com|org|net|edu|gov|io|co|ai|app|dev|biz|info|eu|uk|us|de|fr|nl|es|it|pt|ch|at|be|se|"
    r"no|dk|fi|pl|cz|ie|jp|cn|in|au|nz|ca|br|mx|ru|za|sg|hk)"
)
OBFUSCATED_EMAIL = re.compile(
    rf"\b[\w+-]+(?:{_DOT}[\w+-]+)*{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}{_TLD}\b", re.IGNORECASE
)
# A person named in passing, not in the contacts table: a common given name followed by a
# capitalised surname ('Jane Doe', 'Jean-Luc Martin'), or a title and a surname ('Ms. Doe').
_GIVEN = "|".join(sorted((n.capitalize() for n in GIVEN_NAMES), key=len, reverse=True))
PERSON = re.compile(
    rf"\b(?:(?:{_GIVEN})(?:-[A-Z][a-z]+)?\s+[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"
    r"|(?:Mr|Mrs|Ms|Dr|Herr|Frau|Mme|Mlle|Sr|Sra)\.?\s+[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?)\b"
)
# Any name, known or not, by where it stands: before a verb of speech ('Jonas said', 'Jonas Berg
# wants') or as two capitalised words after 'with', 'from', 'to', 'cc', 'per', 'met', 'by' or a
# verb of speech or contact ('says Jonas Berg', 'call Jonas Berg').
_NAME = r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"
SPEAKER = re.compile(
    rf"\b{_NAME}(?:\s+{_NAME})?(?=\s*:?\s+(?:said|says|told|tells|asked|asks|mentioned|wrote|"
    r"writes|thinks|wants|called|emailed|replied|confirmed|complained|noted)\b)"
)
MET = re.compile(
    rf"\b(with|from|to|cc|per|met|by|says|said|told|asked|ask|call|called|emailed|contact)(\s+)"
    rf"{_NAME}\s+{_NAME}\b"
)
URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
# 7+ digits with the usual separators, optionally a leading + or (area code).
PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s()./-]{5,}\d(?![\w])")
DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
MAX_QUOTE = 220
_AT_WORD = re.compile(r"\bat\b|@", re.IGNORECASE)


def without_contact_details(texts: list[str]) -> list[str]:
    """Texts with e-mails, links and phone numbers blanked, vectorised (for keyword counting)."""
    series = pl.Series(texts, dtype=pl.Utf8)
    for pattern in (EMAIL.pattern, "(?i)" + URL.pattern):
        series = series.str.replace_all(pattern, " ")
    series = series.str.replace_all(r"\+?\(?\d[\d\s()./-]{5,}\d", " ")
    texts = series.to_list()
    # the obfuscated forms need look-arounds polars' engine lacks: Python, only where 'at' is
    return [OBFUSCATED_EMAIL.sub(" ", t) if t and _AT_WORD.search(t) else t for t in texts]


class Scrubber:
    """Removes PII from text; built once per run with the contact names of the workspace."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        # one build makes several scrubbers of the same contact names: their matchers are shared
        self._names = _matchers(tuple(names))

    def __call__(self, text: str) -> str:
        """``text`` with PII replaced by [email], [phone], [link], [name]; cut to a quote's length."""
        text = EMAIL.sub("[email]", text)
        text = URL.sub("[link]", text)
        text = OBFUSCATED_EMAIL.sub("[email]", text)
        text = PHONE.sub(_phone, text)
        for names in self._names:
            text = names.sub("[name]", text)
        text = PERSON.sub("[name]", text)
        text = SPEAKER.sub("[name]", text)
        text = MET.sub(r"\1\2[name]", text)
        text = " ".join(text.split())
        return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1].rstrip() + "…"


_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=4)
def _matchers(names: tuple[str, ...]) -> tuple[_Names, _Names]:
    """Full names in any case; single name parts only as written (capitalised), so that a first
    name that is also a word ("Will", "Grant") survives in lower case."""
    full: set[str] = set()
    parts: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name.strip():
            continue
        full.add(name.strip())
        parts.update(p for p in re.split(r"[\s,.]+", name) if len(p) >= 3 and p.isalpha())
    return (
        _Names(full, ignore_case=True),
        _Names({p for p in parts if p[0].isupper()}, ignore_case=False),
    )


class _Names:
    """Whole-word replacement of any of ``words`` (longest first), compiled per text.

    One alternation of every contact name of a workspace (thousands) took Python's ``re`` close
    to a second to compile, for a few hundred quotes. A name can only match where the text has a
    word equal to the name's first word, so each text gets a small alternation of just those
    candidates, in the same longest-first order: the same matches, the same replacement. Names
    whose first word is not plain ASCII (or that start with no word at all), and texts that are
    not plain ASCII, keep the full alternation (compiled once, when first needed), since case-
    insensitive matching of other letters is not a plain ``lower()``.
    """

    def __init__(self, words: set[str], *, ignore_case: bool) -> None:
        self._flags = re.IGNORECASE if ignore_case else 0
        self._ordered = tuple(sorted(words, key=len, reverse=True))
        self._by_word: dict[str, list[int]] = {}
        self._always: list[int] = []
        for i, word in enumerate(self._ordered):
            first = _WORD.match(word)
            if first is None or not first.group().isascii():
                self._always.append(i)
            else:
                key = first.group().lower() if ignore_case else first.group()
                self._by_word.setdefault(key, []).append(i)

    def sub(self, replacement: str, text: str) -> str:
        if not self._ordered:
            return text
        if not text.isascii():
            return _alternation(self._ordered, self._flags).sub(replacement, text)
        fold = self._flags != 0
        found = set(self._always)
        for word in set(_WORD.findall(text)):
            found.update(self._by_word.get(word.lower() if fold else word, ()))
        if not found:
            return text
        words = tuple(self._ordered[i] for i in sorted(found))
        return _alternation(words, self._flags).sub(replacement, text)


@functools.lru_cache(maxsize=256)
def _alternation(ordered: tuple[str, ...], flags: int) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(map(re.escape, ordered)) + r")\b", flags)


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    if DATE.fullmatch(found.strip()):
        return found
    return "[phone]" if sum(c.isdigit() for c in found) >= 7 else found
