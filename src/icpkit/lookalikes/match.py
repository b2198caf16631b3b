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
# a polars (Rust) regex with ASCII word boundaries: the keys are ASCII by then, and Unicode \\b
# is slower
_LEGAL_PATTERN = (
    r"(?-u:\b)(?:" + "|".join(sorted(set(_LEGAL), key=len, reverse=True)) + r")(?-u:\b)"
)


def name_key(name: str | None) -> str | None:
    """The comparison key of a company name ('ACME, Inc.' → 'acme'); None when nothing is left."""
    return name_keys(pl.Series([name], dtype=pl.Utf8))[0]


def name_keys(names: pl.Series) -> pl.Series:
    """``name_key`` of every name, vectorised: accents and case folded, punctuation dropped,
    legal suffixes removed (a name that is only legal words keeps them: 'The Group')."""
    raw = names.cast(pl.Utf8)
    text = raw.str.to_lowercase()
    # accents are folded only where there is one: NFKD is the costly step, most names are ASCII
    wide = raw.str.contains(r"[^\x00-\x7f]").fill_null(False).arg_true()
    if wide.len():
        folded = (
            raw.gather(wide)
            .str.normalize("NFKD")
            .str.replace_all(r"\p{Mn}", "")
            .str.to_lowercase()
            .str.replace_all("ß", "ss")
        )
        text = text.scatter(wide, folded)
    # from here on the text is only [0-9a-z] words separated by single spaces
    text = text.str.replace_all("&", " and ", literal=True).str.replace_all(r"[^0-9a-z]+", " ")
    key = text.str.replace_all(_LEGAL_PATTERN, " ").str.replace_all(" +", " ").str.strip_chars(" ")
    only_legal = (key.str.len_bytes() == 0).fill_null(False).arg_true()
    if only_legal.len():
        key = key.scatter(only_legal, text.gather(only_legal).str.strip_chars(" "))
    return key.set(key.str.len_bytes() == 0, None).alias(names.name)


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

    def match(self, domains: pl.Series | None, names: pl.Series) -> Match:
        """Match universe rows (raw domains/URLs and names) against the index."""
        frame = self.match_frame(domains, names)
        return Match(
            frame["customer_match"].to_list(),
            frame["match_kind"].to_list(),
            frame["match_score"].to_list(),
        )

    def match_frame(self, domains: pl.Series | None, names: pl.Series) -> pl.DataFrame:
        """``customer_match``, ``match_kind`` and ``match_score`` per universe row, vectorised.

        Exact hash joins first (the normalised domain and each of its parents, then the name
        key); the fuzzy comparison runs only on the distinct name keys left unmatched, one
        rapidfuzz ``cdist`` per block of index names sharing their first two letters.
        """
        n = len(names)
        empty = pl.repeat(None, n, dtype=pl.Utf8, eager=True)
        doms = normalise_domains(domains) if domains is not None else empty
        keys = name_keys(names.cast(pl.Utf8))
        by_domain = self._domains(doms)
        by_name = _lookup(keys, self.by_name, pl.Utf8)
        by_name = by_name.set(by_domain.is_not_null(), None)
        rest = keys.filter(by_domain.is_null() & by_name.is_null() & keys.is_not_null())
        fuzzy_id, fuzzy_score = self._fuzzy(rest.unique())
        frame = pl.DataFrame(
            {"domain": by_domain, "name": by_name, "key": keys, "rest": by_domain.is_null() & by_name.is_null()}
        ).with_columns(
            pl.when(pl.col("rest")).then(_lookup(keys, fuzzy_id, pl.Utf8)).alias("fuzzy"),
            pl.when(pl.col("rest")).then(_lookup(keys, fuzzy_score, pl.Float64)).alias("fuzzy_score"),
        )  # fmt: skip
        return frame.select(
            pl.coalesce("domain", "name", "fuzzy").alias("customer_match"),
            pl.when(pl.col("domain").is_not_null())
            .then(pl.lit("domain"))
            .when(pl.col("name").is_not_null())
            .then(pl.lit("name"))
            .when(pl.col("fuzzy").is_not_null())
            .then(pl.lit("fuzzy name"))
            .alias("match_kind"),
            pl.when(pl.col("domain").is_not_null() | pl.col("name").is_not_null())
            .then(pl.lit(100.0))
            .otherwise(pl.col("fuzzy_score"))
            .alias("match_score"),
        )

    def _domains(self, doms: pl.Series) -> pl.Series:
        """The account whose domain is the row's domain or one of its parents (the longest
        first), else the account one of whose subdomains has the row's domain as parent."""
        found = _lookup(doms, self.own, pl.Utf8)
        labels = doms.str.count_matches(r"\.") + 1
        depth = int(labels.max() or 1)  # type: ignore[arg-type]
        for level in range(1, depth - 1):
            # parents keep at least two labels; only the rows with that many are looked at
            rows = ((labels - level >= 2) & found.is_null()).fill_null(False).arg_true()
            if rows.len() == 0:
                break
            suffix = doms.gather(rows).str.replace(rf"^(?:[^.]+\.){{{level}}}", "")
            found = found.scatter(rows, _lookup(suffix, self.own, pl.Utf8))
        if self.parents:
            parent = _lookup(doms, self.parents, pl.Utf8)
            found = pl.select(pl.coalesce(found, parent)).to_series()
        return found.alias("domain")

    def _fuzzy(self, keys: pl.Series) -> tuple[dict[str, str], dict[str, float]]:
        """Best index name at ``NAME_THRESHOLD`` or above for each key, within its block (the
        first index name with the highest token-sort ratio, as ``process.extractOne`` picks)."""
        from rapidfuzz import fuzz, process

        ids: dict[str, str] = {}
        scores: dict[str, float] = {}
        if not self.blocks or keys.len() == 0:
            return ids, scores
        groups = (
            pl.DataFrame({"key": keys})
            .with_columns(pl.col("key").str.slice(0, 2).alias("block"))
            .filter(pl.col("block").is_in(list(self.blocks)))
            .group_by("block")
            .agg("key")
        )
        for block, queries in groups.iter_rows():
            choices, accounts = self.blocks[block]
            matrix = process.cdist(
                queries, choices, scorer=fuzz.token_sort_ratio, score_cutoff=NAME_THRESHOLD,
                dtype=np.float64, workers=-1 if len(queries) * len(choices) > 200_000 else 1,
            )  # fmt: skip
            best = matrix.argmax(axis=1)
            top = matrix[np.arange(len(queries)), best]
            for i in np.flatnonzero(top >= NAME_THRESHOLD):
                ids[queries[i]] = accounts[int(best[i])]
                scores[queries[i]] = float(top[i])
        return ids, scores


def _lookup(values: pl.Series, mapping: dict[str, Any], dtype: Any) -> pl.Series:
    """``mapping[value]`` per row (a hash join), null where the value is not a key."""
    if not mapping:
        return pl.repeat(None, len(values), dtype=dtype, eager=True)
    return values.replace_strict(mapping, default=None, return_dtype=dtype)
