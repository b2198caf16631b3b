"""Synthetic contacts, notes and signals around the generated deals.

The planted ICP leaves traces here too, so the wave-2 modules have something true to find:
champions of won in-ICP deals often carry the persona title, in-ICP accounts give higher NPS and
talk about different pains than disqualified ones, and buying signals precede their wins.
Contact names and e-mails are fake but shaped like PII ('Contact 12', 'contact12@example.com').
"""

from __future__ import annotations

import numpy as np
import polars as pl

from icpkit.datasets.synthetic.activity import IN_ICP, DealDraws, Period
from icpkit.datasets.synthetic.signals import SignalDraws, signal_values
from icpkit.datasets.synthetic.spec import PlantedIcp

ROLES = ("champion", "economic_buyer", "user")
# (title, department, seniority) per role, most common first.
TITLES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "champion": (
        ("Sales Operations Manager", "Sales", "Manager"),
        ("Director of Marketing", "Marketing", "Director"),
        ("Head of RevOps", "Revenue Operations", "Head"),
        ("Data Engineering Lead", "Engineering", "Manager"),
        ("Head of Customer Success", "Customer Success", "Head"),
        ("Finance Director", "Finance", "Director"),
    ),
    "economic_buyer": (
        ("VP Sales", "Sales", "VP"),
        ("CFO", "Finance", "C-level"),
        ("CTO", "Engineering", "C-level"),
        ("CRO", "Sales", "C-level"),
        ("VP Marketing", "Marketing", "VP"),
        ("COO", "Operations", "C-level"),
    ),
    "user": (
        ("Account Executive", "Sales", "Individual contributor"),
        ("Data Engineer", "Engineering", "Individual contributor"),
        ("Data Analyst", "Operations", "Individual contributor"),
        ("Marketing Manager", "Marketing", "Manager"),
        ("Customer Success Manager", "Customer Success", "Manager"),
        ("Sales Development Rep", "Sales", "Individual contributor"),
    ),
}

THEMES = {
    "manual reporting": "The team still builds the weekly reports by hand in spreadsheets.",
    "data silos": "Customer data sits in separate tools that do not talk to each other.",
    "slow onboarding": "Getting new users set up took far longer than promised.",
    "pricing": "They find the price hard to justify for their budget.",
    "integration gaps": "A connector they rely on is missing or breaks often.",
    "lack of visibility": "Leadership cannot see pipeline health without asking around.",
}
_THEME_NAMES = tuple(THEMES)
# Theme weights by fit status: the ICP feels reporting and silo pain, poor fits argue price.
_THEME_WEIGHTS = np.array(
    [
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        [3.0, 3.0, 0.5, 0.4, 1.0, 1.5],
        [0.4, 0.4, 2.5, 4.0, 1.0, 0.5],
    ]
)
NOTE_SOURCES = ("interview", "survey", "support", "call")
_NOTE_OPENINGS = {
    "interview": "Interview: their main pain is ",
    "survey": "Survey comment on ",
    "support": "Support ticket about ",
    "call": "Call notes: they struggle with ",
}


def _ids(prefix: str, n: int) -> pl.Series:
    width = max(7, len(str(n)))
    return pl.select(
        pl.lit(prefix) + pl.int_range(1, n + 1).cast(pl.Utf8).str.zfill(width)
    ).to_series()


def _pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def contacts_frame(
    draws: DealDraws,
    account_ids: pl.Series,
    deal_ids: pl.Series,
    icp: PlantedIcp,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """The buying committee of every deal: a champion, often an economic buyer, sometimes users."""
    n_deals = len(draws.account)
    big = np.log10(np.maximum(draws.amount, 1.0)) > 4.3  # bigger deals involve the budget holder
    has_role = [np.ones(n_deals, bool), rng.random(n_deals) < np.where(big, 0.8, 0.45),
                rng.random(n_deals) < 0.4]  # fmt: skip
    deal = np.concatenate([np.flatnonzero(h) for h in has_role])
    role = np.concatenate([np.full(int(h.sum()), r) for r, h in enumerate(has_role)])
    order = np.lexsort((role, deal))
    deal, role = deal[order], role[order]
    table = [row for r in ROLES for row in TITLES[r]]
    per_role = len(TITLES["champion"])
    weights = 1.0 / np.arange(1, per_role + 1) ** 0.6
    title = role * per_role + _pick(rng, weights, len(deal))
    persona = _persona_index(icp, table)
    if persona is not None:
        planted = (role == 0) & draws.won[deal] & (draws.status[deal] == IN_ICP)
        title = np.where(planted & (rng.random(len(deal)) < icp.persona_share), persona, title)
    number = pl.int_range(1, len(deal) + 1, eager=True).cast(pl.Utf8)
    return pl.DataFrame(
        {
            "contact_id": _ids("C", len(deal)),
            "account_id": account_ids.gather(draws.account[deal]),
            "deal_id": deal_ids.gather(deal),
            "name": "Contact " + number,
            "email": "contact" + number + "@example.com",
            "title": pl.Series([t[0] for t in table]).gather(title),
            "department": pl.Series([t[1] for t in table]).gather(title),
            "seniority": pl.Series([t[2] for t in table]).gather(title),
            "role_in_deal": pl.Series(ROLES).gather(role),
        }
    )


def _persona_index(icp: PlantedIcp, table: list[tuple[str, str, str]]) -> int | None:
    """Row of the planted persona title in ``table`` (appended when it is a new title)."""
    if icp.persona_title is None or icp.persona_share == 0:
        return None
    for index, row in enumerate(table):
        if row[0] == icp.persona_title:
            return index
    table.append((icp.persona_title, "Other", "Other"))
    return len(table) - 1


def notes_frame(
    draws: DealDraws,
    account_status: np.ndarray,
    customer: np.ndarray,
    account_ids: pl.Series,
    icp: PlantedIcp,
    period: Period,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Interview, survey, support and call notes with pain themes and survey NPS."""
    engaged = np.zeros(len(account_status), bool)
    engaged[draws.account] = True
    first_contact = np.full(len(account_status), float(period.days))
    np.minimum.at(first_contact, draws.account, draws.created)
    count = np.where(customer, rng.poisson(1.6, len(customer)), rng.poisson(0.5, len(customer)))
    account = np.repeat(np.arange(len(customer)), np.where(engaged, count, 0))
    status = account_status[account]
    source = np.where(
        customer[account],
        _pick(rng, np.array([0.2, 0.4, 0.3, 0.1]), len(account)),
        np.where(rng.random(len(account)) < 0.4, 0, 3),  # prospects: interviews and calls
    )
    theme = _draw_rows(rng, _THEME_WEIGHTS[status])
    start = first_contact[account]
    day = np.floor(start + rng.random(len(account)) * (period.days - start))
    nps_mean = np.array([icp.base_nps, icp.icp_nps, icp.disqualified_nps])[status]
    nps = np.clip(np.round(rng.normal(nps_mean, 1.6)), 0, 10)
    frame = pl.DataFrame(
        {
            "account_id": account_ids.gather(account),
            "date": period.to_date(day),
            "source": pl.Series(NOTE_SOURCES).gather(source),
            "opening": pl.Series([_NOTE_OPENINGS[s] for s in NOTE_SOURCES]).gather(source),
            "theme": pl.Series(_THEME_NAMES).gather(theme),
            "detail": pl.Series(list(THEMES.values())).gather(theme),
            "score": np.where(source == NOTE_SOURCES.index("survey"), nps, np.nan),
        }
    )
    return frame.select(
        "account_id",
        "date",
        "source",
        pl.concat_str("opening", "theme", pl.lit(". "), "detail").alias("text"),
        pl.col("score").fill_nan(None),
    ).sort("account_id", "date", maintain_order=True)


def _draw_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cumulative[:, -1]
    return np.asarray((cumulative < u[:, None]).sum(axis=1))


def signals_frame(
    signals: SignalDraws,
    accounts: pl.DataFrame,
    period: Period,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """The signals table: each planted signal with its account, domain, date, type and value.

    Which signals occur and what they do to deals is planted in
    :mod:`icpkit.datasets.synthetic.signals`; this only lays them out as a table.
    """
    return pl.DataFrame(
        {
            "account_id": accounts["account_id"].gather(signals.account),
            "domain": accounts["domain"].gather(signals.account),
            "date": period.to_date(signals.day),
            "type": pl.Series([s.type for s in signals.specs]).gather(signals.kind),
            "value": signal_values(signals, rng),
        }
    )
