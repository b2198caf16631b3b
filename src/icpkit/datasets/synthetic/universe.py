"""A synthetic company universe beside a synthetic CRM: the ground truth for lookalike search.

Companies are drawn like the CRM's accounts (same firmographics, same planted ICP, so each has a known
true win probability) but with unique invented names and domains, as a real company database has.
Into it go **variants of the CRM's customers** — the same company under another spelling of its
name (case, punctuation, legal suffix, a typo) and another form of its domain (scheme, www, a path,
a subdomain) — which lookalike search must recognise and exclude, and **duplicate listings** of some
universe companies (the same company listed twice, as on two exchanges).
"""

from __future__ import annotations

import numpy as np

_SYLLABLES = (
    "ka", "lo", "mi", "ter", "va", "zen", "qui", "ro", "sa", "tek", "nor", "bel", "dra", "fi",
    "gal", "hu", "jor", "lum", "mar", "nex", "op", "pra", "rel", "sol", "tor", "ul", "ver", "wex",
    "yan", "zor", "cal", "dex", "em", "fon", "gri", "hal", "ix", "jun", "kor", "lyn",
)  # fmt: skip
_SUFFIXES = ("Inc", "Ltd", "GmbH", "AG", "S.A.", "LLC", "plc", "Corp.", "BV", "Oy")
_TLDS = ("com", "io", "de", "co.uk", "fr", "net", "ai", "nl")


def unique_names(n: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """``n`` distinct invented company names and their domains (three or four syllables)."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        k = rng.integers(3, 5)
        word = "".join(_SYLLABLES[i] for i in rng.integers(0, len(_SYLLABLES), k))
        if word in seen:
            continue
        seen.add(word)
        names.append(word)
    tlds = rng.integers(0, len(_TLDS), n)
    suffix = rng.integers(0, len(_SUFFIXES), n)
    return (
        [f"{w.capitalize()} {_SUFFIXES[s]}" for w, s in zip(names, suffix, strict=True)],
        [f"{w}.{_TLDS[t]}" for w, t in zip(names, tlds, strict=True)],
    )


def name_variant(name: str, rng: np.random.Generator) -> str:
    """The same company name as another source might spell it."""
    words = name.split()
    head = " ".join(words[:-1]) if len(words) > 1 else name
    kind = rng.integers(0, 5)
    if kind == 0:
        return name.upper()
    if kind == 1:
        return f"{head}, {_SUFFIXES[rng.integers(0, len(_SUFFIXES))]}"
    if kind == 2:
        return head
    if kind == 3 and len(head) > 5:  # a dropped letter
        i = int(rng.integers(1, len(head) - 1))
        return head[:i] + head[i + 1 :] + " " + words[-1]
    return f"{head.lower()} {words[-1].lower()}."


def domain_variant(domain: str, rng: np.random.Generator) -> str:
    """The same domain as a URL, with www, a path or a subdomain."""
    kind = rng.integers(0, 4)
    if kind == 0:
        return f"https://www.{domain}/"
    if kind == 1:
        return f"http://{domain}/about-us?ref=list"
    if kind == 2:
        return f"shop.{domain}"
    return domain.upper()
