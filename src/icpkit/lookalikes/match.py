"""Who is already a customer, and which universe rows are the same company.

Companies are matched on two keys, each normalised so that trivial differences do not hide a match:

- **domain**: scheme, ``www``, path, port and case stripped (``https://www.Acme.com/about`` →
  ``acme.com``); a subdomain matches its parent (``shop.acme.com`` ~ ``acme.com``), compared at label
  boundaries only, so ``notacme.com`` is not ``acme.com``;
- **name**: accents and case folded, punctuation dropped, legal suffixes removed (Inc, LLC, Ltd,
  GmbH, S.A., AG, plc, …), so ``ACME, Inc.`` and ``Acme`` share the key ``acme``; names that differ by
  a typo are matched with rapidfuzz's token-sort ratio (≥ ``NAME_THRESHOLD``), compared only within
  the same first letters so that a universe of millions is not compared with every customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from icpkit.data.normalize import normalise_domains

NAME_THRESHOLD = 92  # rapidfuzz token_sort_ratio (0–100) at or above which two names match
_LEGAL = [
    "incorporated",
    "inc",
    "corporation",
    "corp",
    "company",
    "co",
    "llc",
    "l",
    "l",
    "c",
    "ltd",
    "limited",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "s",
    "a",
    "sas",
    "sarl",
    "srl",
    "spa",
    "s",
    "p",
    "a",
    "bv",
    "b",
    "v",
    "nv",
    "n",
    "v",
    "oy",
    "ab",
    "asa",
    "as",
    "a",
    "s",
    "kg",
    "kgaa",
    "se",
    "pte",
    "pty",
    "lp",
    "llp",
    "holdings",
    "holding",
    "group",
    "the",
]
_LEGAL_RE = re.compile(r"\b(?:" + "|".join(sorted(set(_LEGAL), key=len, reverse=True)) + r")\b")


def name_key(name: str | None) -> str | None:
    """The comparison key of a company name ('ACME, Inc.' → 'acme'); None when nothing is left."""
    return name_keys(pl.Series([name], dtype=pl.Utf8))[0]


def name_keys(names: pl.Series) -> pl.Series:
    """``name_key`` of every name, vectorised: accents and case folded, punctuation dropped,
    legal suffixes removed (a name that is only legal words keeps them: 'The Group')."""
    text = (
        names.cast(pl.Utf8)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{Mn}", "")
        .str.to_lowercase()
        .str.replace_all("ß", "ss")
        .str.replace_all("&", " and ")
        .str.replace_all(r"[^0-9a-z]+", " ")
    )
    stripped = text.str.replace_all(_LEGAL_RE.pattern, " ")
    tidy = [s.str.replace_all(r"\s+", " ").str.strip_chars() for s in (stripped, text)]
    key = pl.select(
        pl.when(tidy[0].str.len_chars() > 0).then(tidy[0]).otherwise(tidy[1])
    ).to_series()
    return key.set(key.str.len_chars() == 0, None).alias(names.name)


def domain_suffixes(domain: str) -> list[str]:
    """The domain and each parent with at least two labels ('a.b.c.com' → [a.b.c.com, b.c.com, c.com])."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(0, max(len(labels) - 1, 1))]


@dataclass(frozen=True)
class Match:
    """Per universe row: the matched CRM account (or None), how, and the match score (0–100)."""

    account_id: list[str | None]
    kind: list[str | None]  # "domain", "name", "fuzzy name"
    score: list[float | None]


class CompanyIndex:
    """The CRM accounts to exclude (customers and open deals), ready to match universe rows."""

    def __init__(self, accounts: pl.DataFrame) -> None:
        ids = accounts["account_id"].cast(pl.Utf8).to_list()
        domains = (
            normalise_domains(accounts["domain"]).to_list()
            if "domain" in accounts.columns
            else [None] * len(ids)
        )
        names = (
            name_keys(accounts["name"].cast(pl.Utf8)).to_list()
            if "name" in accounts.columns
            else [None] * len(ids)
        )
        self.own: dict[str, str] = {}  # a CRM account's own domain
        self.parents: dict[str, str] = {}  # parents of CRM subdomains (eu.acme.com → acme.com)
        self.by_name: dict[str, str] = {}
        blocks: dict[str, list[tuple[str, str]]] = {}
        for account, domain, name in zip(ids, domains, names, strict=True):
            if domain:
                self.own.setdefault(domain, account)
                for parent in domain_suffixes(domain)[1:]:
                    self.parents.setdefault(parent, account)
            if name:
                self.by_name.setdefault(name, account)
                blocks.setdefault(name[:2], []).append((name, account))
        # per block of names sharing their first two letters: the names and their accounts
        self.blocks = {k: ([n for n, _ in v], [a for _, a in v]) for k, v in blocks.items()}
        self.size = len(ids)

    def match(self, domains: pl.Series, names: pl.Series) -> Match:
        """Match universe rows (raw domains/URLs and names) against the index."""
        from rapidfuzz import fuzz, process

        doms = normalise_domains(domains).to_list() if domains is not None else [None] * len(names)
        keys = name_keys(names.cast(pl.Utf8)).to_list()
        out_id: list[str | None] = []
        out_kind: list[str | None] = []
        out_score: list[float | None] = []
        by_domain: dict[str, str | None] = {}
        fuzzy: dict[str, tuple[str | None, float | None]] = {}
        for domain, key in zip(doms, keys, strict=True):
            found: str | None = None
            kind: str | None = None
            score: float | None = None
            if domain:
                if domain not in by_domain:
                    by_domain[domain] = self._domain(domain)
                found = by_domain[domain]
                if found is not None:
                    kind, score = "domain", 100.0
            if found is None and key:
                if key in self.by_name:
                    found, kind, score = self.by_name[key], "name", 100.0
                else:
                    if key not in fuzzy:
                        fuzzy[key] = self._fuzzy(key, process, fuzz)
                    found, score = fuzzy[key]
                    kind = "fuzzy name" if found else None
            out_id.append(found)
            out_kind.append(kind)
            out_score.append(score)
        return Match(out_id, out_kind, out_score)

    def _domain(self, domain: str) -> str | None:
        for suffix in domain_suffixes(domain):  # the row is the account or its subdomain
            if suffix in self.own:
                return self.own[suffix]
        return self.parents.get(domain)  # the row is the parent of an account's subdomain

    def _fuzzy(self, key: str, process: Any, fuzz: Any) -> tuple[str | None, float | None]:
        block = self.blocks.get(key[:2])
        if not block:
            return None, None
        best = process.extractOne(
            key, block[0], scorer=fuzz.token_sort_ratio, score_cutoff=NAME_THRESHOLD
        )
        return (block[1][best[2]], float(best[1])) if best else (None, None)


def dedupe(frame: pl.DataFrame, *, id_column: str, rank_column: str) -> pl.DataFrame:
    """One row per company: rows sharing a normalised domain (or, without one, a name key) are
    one company; the best-ranked row is kept and the others' ids and names go to ``aliases``."""
    domains = (
        normalise_domains(frame["domain"])
        if "domain" in frame.columns
        else pl.repeat(None, frame.height, dtype=pl.Utf8, eager=True)
    )
    names = (
        name_keys(frame["name"].cast(pl.Utf8))
        if "name" in frame.columns
        else pl.repeat(None, frame.height, dtype=pl.Utf8, eager=True)
    )
    key = pl.Series("_company", [
        f"d:{d}" if d else (f"n:{n}" if n else f"row:{i}")
        for i, (d, n) in enumerate(zip(domains.to_list(), names.to_list(), strict=True))
    ])  # fmt: skip
    ranked = frame.with_columns(key, pl.Series("_order", np.arange(frame.height)))
    ranked = ranked.sort([rank_column, "_order"], descending=[True, False])
    label = pl.col(id_column).cast(pl.Utf8)
    if "name" in frame.columns:
        label = pl.concat_str(
            [label, pl.lit(" ("), pl.col("name").cast(pl.Utf8).fill_null("?"), pl.lit(")")]
        )
    aliases = ranked.group_by("_company", maintain_order=True).agg(
        pl.len().alias("listings"), label.slice(1).str.join("; ").alias("aliases")
    )
    kept = ranked.unique("_company", keep="first", maintain_order=True)
    return kept.join(aliases, on="_company", how="left").drop("_company", "_order")
