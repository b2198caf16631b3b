"""Account search for the API and the pages: every match counted, a page of them returned.

- No query: every account, best fit first.
- A URL or an e-mail address pasted as the query is reduced to its domain
  (``https://www.acme.io/pricing`` and ``jane@acme.io`` both search ``acme.io``).
- "contains" matches: the query is part of the name, domain or id (any case), best fit first.
- "similar" matches, after those: a name (or the domain's first label) whose words, or the
  start of them, are a close spelling of the query's (rapidfuzz ``ratio`` ≥ :data:`SIMILAR`,
  queries of :data:`MIN_FUZZY` characters and at most :data:`MAX_WORDS` words; a domain by its
  first label), closest first, so ``quantm`` finds "Quantum …" and "Quantumscale …".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import polars as pl
from rapidfuzz import fuzz, process

SIMILAR = 84.0
MIN_FUZZY = 4
MAX_WORDS = 3  # longer queries are matched by containment only
COLUMNS = ("account_id", "name", "domain", "tier", "fit_score")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_EMAIL = re.compile(r"^[^@\s]+@([^@\s]+)$")


def search_text(query: str) -> str:
    """The text searched: lower case, trimmed; a URL or e-mail address reduced to its domain."""
    text = query.strip().lower()
    if not text:
        return ""
    email = _EMAIL.match(text.removeprefix("mailto:"))
    if email:
        text = email.group(1)
    elif "://" in text or text.startswith("www.") or re.match(r"^[\w.-]+\.[a-z]{2,}/", text):
        host = urlsplit(text if "://" in text else f"//{text}").hostname or text
        text = host
    return text.removeprefix("www.").strip(". ") if "." in text else text


@dataclass(frozen=True)
class Page:
    query: str
    total: int
    rows: list[dict[str, object]]


class AccountIndex:
    """The scored accounts of one version, with the word windows fuzzy matching compares."""

    def __init__(self, scored: pl.DataFrame) -> None:
        keep = [c for c in COLUMNS if c in scored.columns]
        self.frame = (
            scored.select(keep)
            .with_columns(pl.col("account_id").cast(pl.Utf8))
            .with_row_index("_row")
            .sort(["fit_score", "_row"], descending=[True, False])
        )
        self._windows: dict[int, tuple[list[str], list[int]]] = {}

    def _candidates(self, n_words: int) -> tuple[list[str], list[int]]:
        """Every run of ``n_words`` consecutive words of each name and domain label."""
        if n_words not in self._windows:
            texts: list[str] = []
            owners: list[int] = []
            columns = [c for c in ("name", "domain") if c in self.frame.columns]
            for position, row in enumerate(self.frame.select(columns).iter_rows()):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = str(value).lower()
                    if column == "domain":
                        text = search_text(text).split(".")[0]
                    words = _WORD.findall(text)
                    for start in range(max(len(words) - n_words + 1, 1)):
                        texts.append(" ".join(words[start : start + n_words]))
                        owners.append(position)
            self._windows[n_words] = (texts, owners)
        return self._windows[n_words]

    def search(self, query: str, limit: int, offset: int) -> Page:
        text = search_text(query)
        frame = self.frame
        if not text:
            page = frame.slice(offset, limit).drop("_row").with_columns(match=pl.lit("all"))
            return Page("", frame.height, page.to_dicts())
        hit = pl.lit(False)
        for column in ("name", "domain", "account_id"):
            if column in frame.columns:
                hit = hit | pl.col(column).cast(pl.Utf8).str.to_lowercase().str.contains(
                    text, literal=True
                ).fill_null(False)
        flags = frame.select(hit.alias("hit"))["hit"]
        contains = [i for i, f in enumerate(flags.to_list()) if f]
        similar: list[int] = []
        label = text.split(".")[0] if "." in text and " " not in text else text  # a domain
        words = _WORD.findall(label)
        if len(label) >= MIN_FUZZY and 0 < len(words) <= MAX_WORDS:
            texts, owners = self._candidates(len(words))
            best: dict[int, float] = {}
            wanted = " ".join(words)
            cut = len(wanted) + 1  # also the start of a longer word: "quantm" ~ "quantum|scale"
            for processor in (None, lambda s: s[:cut]):
                for _, score, index in process.extract(
                    wanted, texts, scorer=fuzz.ratio, processor=processor,
                    score_cutoff=SIMILAR, limit=None,
                ):  # fmt: skip
                    owner = owners[index]
                    best[owner] = max(best.get(owner, 0.0), float(score))
            taken = set(contains)
            similar = sorted((i for i in best if i not in taken), key=lambda i: (-best[i], i))
        order = [*contains, *similar]
        chosen = order[offset : offset + limit]
        kinds = ["contains"] * len(contains) + ["similar"] * len(similar)
        picked = frame.drop("_row")[chosen] if chosen else frame.drop("_row").clear()
        found: list[dict[str, object]] = picked.to_dicts()
        for row, kind in zip(found, kinds[offset : offset + limit], strict=True):
            row["match"] = kind
        return Page(text, len(order), found)
