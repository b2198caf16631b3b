"""Person names are never theme keywords: a contact quoted in many notes ('Maria said …') would
otherwise name a theme, and that label reaches the profile, the store, the reports and the API.

The words dropped are the parts of the CRM's contact names and the names of people mentioned in
passing, found as the PII scrubber finds them (:mod:`icpkit.themes.pii`): a common given name
written capitalised and the capitalised word after it, a title and a surname, a name before a verb
of speech or after 'with'/'from'. Matching is on whole words, lower case, as the keywords are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from icpkit.themes.pii import MET, PERSON, SPEAKER

_TITLES = {"mr", "mrs", "ms", "dr", "herr", "frau", "mme", "mlle", "sr", "sra"}


def person_words(texts: Iterable[str], contact_names: Iterable[str] = ()) -> frozenset[str]:
    """Lower-case words that are part of a person's name in ``texts`` or the contacts table."""
    words: set[str] = set()
    for name in contact_names:
        if isinstance(name, str):
            words.update(p.lower() for p in re.split(r"[\s,.]+", name) if len(p) >= 2)
    for text in texts:
        if not text:
            continue
        found = [m.group() for p in (PERSON, SPEAKER) for m in p.finditer(text)]
        found += [m.group().split(None, 1)[1] for m in MET.finditer(text)]
        for name in found:
            words.update(w for w in re.split(r"[\s.'-]+", name.lower()) if w and w not in _TITLES)
    return frozenset(words)


def without_person_names(keywords: list[str], person: frozenset[str]) -> list[str]:
    """``keywords`` less every word or phrase that holds a person's name."""
    return [k for k in keywords if not any(w in person for w in re.split(r"[\s-]+", k.lower()))]
