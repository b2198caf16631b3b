"""Lead lists that each plant one class of non-trait or one shape of trait, with the truth.

Each generator returns a :class:`TraitCase`: a lead list (one account per lead, one closed deal
per account, won or lost, dated over two years) and what a correct ICP must and must not say:

- ``placeholder_levels``: an ``origin`` column whose "unknown" / "Other" / blank rows convert
  far more (a form filled in by those who bought), beside a real planted trait (``industry``);
  no criterion may be made of the placeholders.
- ``person_columns``: who works the lead (``account_owner`` full names, ``KA_name`` initials,
  ``sdr`` names) converts unevenly — people are never customer traits.
- ``id_like_categorical``: ``branch`` has hundreds of levels, a few of them frequent and planted,
  so it is grouped rather than dropped; ``ref_code`` is unique per row: an identifier.
- ``adjacent_threshold``: conversion jumps at ``employees ≥ 150`` and climbs further at 300: one
  criterion, not two adjacent ranges.

Every generator is seeded and the rows come in a random order of their own; shuffled copies of the
same case must give the same ICP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from icpkit.data.model import CrmData

_INDUSTRIES = ["Software", "Retail", "Healthcare", "Manufacturing", "Finance", "Education"]
_FIRST = ["Anna", "Boris", "Chloe", "Daniel", "Elena", "Felix", "Greta", "Hugo", "Ivana", "Jonas"]
_LAST = ["Petrova", "Novak", "Keller", "Moreau", "Rossi", "Silva", "Berg", "Horvat", "Dimitrov"]


@dataclass(frozen=True)
class TraitCase:
    """A generated lead list and its truth.

    ``trait`` is the attribute a criterion should use; ``never`` the columns no criterion or
    scorecard feature may use; ``fates`` the expected fate of some columns.
    """

    crm: CrmData
    trait: str
    never: tuple[str, ...] = ()
    fates: dict[str, str] = field(default_factory=dict)


def _lead_list(accounts: pl.DataFrame, p_win: np.ndarray, rng: np.random.Generator) -> CrmData:
    n = accounts.height
    won = rng.random(n) < p_win
    ids = [f"L{i:05d}" for i in range(n)]
    days = rng.integers(0, 730, n)
    created = [date(2023, 1, 1) + timedelta(days=int(d)) for d in days]
    accounts = accounts.with_columns(pl.Series("account_id", ids)).select(
        "account_id", *accounts.columns
    )
    deals = pl.DataFrame(
        {
            "deal_id": [f"D{i:05d}" for i in range(n)],
            "account_id": ids,
            "stage": np.where(won, "won", "lost"),
            "created_at": created,
            "closed_at": [c + timedelta(days=30) for c in created],
        }
    )
    order = rng.permutation(n)
    return CrmData(accounts=accounts[order], deals=deals[order])


def _industry(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(_INDUSTRIES, n, p=[0.25, 0.2, 0.15, 0.15, 0.15, 0.1])


def placeholder_levels(n: int = 3000, seed: int = 0) -> TraitCase:
    """``origin`` = unknown / Other / blank converts at 45 %; ``industry = Software`` at 35 %;
    everything else at 6 %."""
    rng = np.random.default_rng(seed)
    industry = _industry(n, rng)
    levels = np.array(["web", "event", "partner", "unknown", "Other", None], dtype=object)
    origin = levels[rng.choice(len(levels), n, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1])]
    vague = np.isin(origin, ["unknown", "Other"]) | (origin == None)  # noqa: E711
    p = np.where(vague, 0.45, np.where(industry == "Software", 0.35, 0.06))
    accounts = pl.DataFrame(
        {
            "industry": industry,
            "origin": pl.Series(origin.tolist(), dtype=pl.Utf8),
            "employees": rng.lognormal(4, 1, n).round().astype(int),
        }
    )
    return TraitCase(_lead_list(accounts, p, rng), trait="industry")


def _person(rng: np.random.Generator, k: int) -> list[str]:
    return [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(k)]


def person_columns(n: int = 3000, seed: int = 0) -> TraitCase:
    """Three people columns, each with one person converting at 50 %; ``industry = Software``
    converts at 35 %; the rest at 6 %."""
    rng = np.random.default_rng(seed)
    industry = _industry(n, rng)
    owners = _person(rng, 6)
    owner = rng.choice(owners, n)
    initials = rng.choice(["VM", "RJ", "AD", "DI", "VT", "Tatiana Trifonova"], n)
    sdr = rng.choice(_person(rng, 4), n)
    star = (owner == owners[0]) | (initials == "VM") | (sdr == sdr[0])
    p = np.where(star, 0.5, np.where(industry == "Software", 0.35, 0.06))
    accounts = pl.DataFrame(
        {
            "industry": industry,
            "account_owner": owner,
            "KA_name": initials,
            "sdr": sdr,
            "employees": rng.lognormal(4, 1, n).round().astype(int),
        }
    )
    never = ("account_owner", "KA_name", "sdr")
    fates = dict.fromkeys(never, "sales_process")
    return TraitCase(_lead_list(accounts, p, rng), "industry", never, fates)


def id_like_categorical(n: int = 3000, seed: int = 0) -> TraitCase:
    """``branch``: 5 frequent levels (60 % of rows, 'B-001' converting at 40 %) and ~400 rare
    ones; ``ref_code`` unique per row."""
    rng = np.random.default_rng(seed)
    frequent = rng.random(n) < 0.6
    branch = np.where(
        frequent,
        rng.choice([f"B-{i:03d}" for i in range(1, 6)], n),
        np.array([f"B-{i:03d}" for i in rng.integers(6, 406, n)]),
    )
    p = np.where(branch == "B-001", 0.4, 0.06)
    accounts = pl.DataFrame(
        {
            "branch": branch,
            "ref_code": [f"R{rng.integers(10**8, 10**9)}-{i}" for i in range(n)],
            "industry": _industry(n, rng),
        }
    )
    fates = {"branch": "grouped", "ref_code": "id"}
    return TraitCase(_lead_list(accounts, p, rng), "branch", ("ref_code",), fates)


def adjacent_threshold(n: int = 4000, seed: int = 0, cut: float = 150.0) -> TraitCase:
    """``employees``: 60 % below ``cut`` converting at 3 %, 20 % from ``cut`` to 2 × ``cut`` at
    32 %, 20 % above at 55 % — one group whose rate climbs, so the search takes its upper part
    first and its lower part as a second criterion ("150–300" and "300+")."""
    rng = np.random.default_rng(seed)
    band = rng.choice(3, n, p=[0.6, 0.2, 0.2])
    low = [1.0, cut, 2 * cut]
    high = [cut, 2 * cut, 7 * cut]
    employees = np.floor(rng.uniform(np.take(low, band), np.take(high, band)))
    p = np.take([0.03, 0.32, 0.55], band)
    accounts = pl.DataFrame({"employees": employees, "industry": _industry(n, rng)})
    return TraitCase(_lead_list(accounts, p, rng), "employees")


CASES = {
    "placeholder_levels": placeholder_levels,
    "person_columns": person_columns,
    "id_like_categorical": id_like_categorical,
    "adjacent_threshold": adjacent_threshold,
}
