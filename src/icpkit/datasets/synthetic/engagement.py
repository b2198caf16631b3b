"""Synthetic contacts, notes and signals around the generated deals.

The planted ICP leaves traces here too, so the wave-2 modules have something true to find:
won deals more often have the planted buyer persona on them and bigger buying committees (both
written as raw job titles only), in-ICP accounts give higher NPS and voice a planted pain more
often, poor fits lose deals for a planted reason (see THEMES), and buying signals precede their
wins.
Contact names and e-mails are fake but shaped like PII ('Contact 12', 'contact12@example.com').
"""

from __future__ import annotations

import numpy as np
import polars as pl

from icpkit.datasets.synthetic.activity import DealDraws, Period
from icpkit.datasets.synthetic.signals import SignalDraws, signal_values
from icpkit.datasets.synthetic.spec import PlantedIcp
from icpkit.datasets.synthetic.titles import BANDS, NOISE_TITLES, TITLE_FORMS

ROLES = ("champion", "economic_buyer", "user")
# How often each function sits on a buying committee, and each role's mix of seniority bands.
_FUNCTION_WEIGHTS = {
    "Sales": 3.0, "Marketing": 2.0, "Engineering": 2.0, "IT": 1.5, "Operations": 1.5,
    "Customer Success": 1.5, "Finance": 1.0, "Product": 1.0, "Executive": 0.8,
    "Procurement/Legal": 0.6, "HR": 0.4,
}  # fmt: skip
_BAND_WEIGHTS = {
    "champion": (0.35, 0.5, 0.15),
    "economic_buyer": (0.9, 0.1, 0.0),
    "user": (0.05, 0.3, 0.65),
}
NOISE_SHARE = 0.03  # contacts whose title is blank or unreadable

# Planted note themes, each in many paraphrases with little shared vocabulary (so a theme can only
# be found by meaning). Role of each theme in the truth the themes/ module must recover:
#   ICP_PAIN      voiced more often by in-ICP accounts (so: more among the best customers)
#   LOST_TIED     a lost reason of accounts that never buy (a disqualifier: more among never-won)
#   LOST_COMMON   a lost reason every lost deal gives at the same rate (no fit association)
#   NEUTRAL       voiced at the same rate by every account
ICP_PAIN = "manual reporting"
LOST_TIED = "erp integration"
LOST_COMMON = "budget timing"
NEUTRAL = ("data silos", "slow onboarding", "support responsiveness")
THEMES: dict[str, tuple[str, ...]] = {
    "manual reporting": (
        "we rebuild the weekly numbers by hand in spreadsheets",
        "month-end close means copying figures between Excel files",
        "analysts lose two days a week assembling the board deck",
        "someone pastes exports together every Monday to get a pipeline view",
        "our KPIs live in a workbook that one person keeps up to date",
        "preparing the monthly summary is tedious manual work",
        "too many hours go into formatting reports for management",
        "we stitch CSV downloads together with vlookups",
        "the quarterly review takes a week of copy and paste",
        "nobody trusts the figures because they are typed in manually",
        "reporting is a manual chore that is always out of date",
        "finance compiles the sales recap by hand each Friday",
    ),
    "data silos": (
        "customer information is scattered across a dozen tools",
        "marketing and sales each keep their own version of the truth",
        "our systems do not talk to each other",
        "support tickets and the CRM are completely disconnected",
        "there is no single view of the customer",
        "billing lives in one app and contracts in another",
        "each department has its own database of clients",
        "teams cannot see what other teams know about an account",
        "product usage never makes it into the sales system",
        "we have duplicates of the same company in three places",
        "information is locked inside separate platforms",
        "nothing is unified so people ask around for answers",
    ),
    "slow onboarding": (
        "getting new users set up took far longer than promised",
        "implementation dragged on for months",
        "the rollout was delayed again and again",
        "it took a whole quarter before anyone could log in",
        "go-live kept slipping after the kickoff",
        "training the staff was painfully slow",
        "we were still not live after ninety days",
        "deployment took three times the estimated effort",
        "time to first value was much too long",
        "the migration from the old system stalled",
        "launching it across the company was a slog",
        "the setup needed far too many consultants",
    ),
    "support responsiveness": (
        "support never answers our tickets",
        "we waited a week for a reply from the help desk",
        "escalations disappear into a black hole",
        "the chat bot is useless and we cannot reach a human",
        "response times are too slow for urgent problems",
        "our account rep vanished after the contract was signed",
        "we get passed from agent to agent",
        "tickets are closed without being resolved",
        "phone support only works in another timezone",
        "we feel ignored once the invoice is paid",
        "nobody helps us when something breaks",
        "after-sales care is poor",
    ),
    "erp integration": (
        "the connector to their ERP is missing",
        "it does not sync with SAP",
        "they need orders pushed into NetSuite and we have no API for it",
        "no native link to their accounting system",
        "their Dynamics instance cannot be plugged in",
        "exchanging data with Oracle would require custom code",
        "it would not interoperate with their finance stack",
        "the middleware needed to hook it up costs extra",
        "we could not wire it into their order management",
        "their IT team rejected the integration approach",
        "the import from their billing platform is unsupported",
        "a missing plugin for the ERP killed the deal",
    ),
    "budget timing": (
        "budget was frozen until next fiscal year",
        "they paused all new purchases this quarter",
        "the project was deprioritised after a reorg",
        "spending was put on hold by the board",
        "they decided to revisit it in six months",
        "no funds were left in this year's plan",
        "a hiring freeze stopped every new initiative",
        "the champion could not get sign-off before year end",
        "timing was wrong, they will come back later",
        "procurement delayed everything until the new budget",
        "leadership postponed the decision indefinitely",
        "cash is being conserved so the purchase waits",
    ),
}
_THEME_NAMES = tuple(THEMES)
_VOICE_THEMES = (ICP_PAIN, *NEUTRAL)
# Rate of the planted pain per fit status (ordinary, in-ICP, disqualified): one extra note.
_PAIN_RATE = np.array([0.15, 0.7, 0.1])
# Lost reasons, independently per lost deal: the tied one by whether the account ever buys
# (a missing ERP connector blocks every deal with that account), the common one always.
_TIED_RATE = np.array([0.08, 0.6])  # account won some deal, account never won
_COMMON_RATE = 0.4
NOTE_SOURCES = ("interview", "survey", "support", "call", "lost_reason")
_NOTE_OPENINGS = {
    "interview": "Interview: ",
    "survey": "Survey comment: ",
    "support": "Support ticket: ",
    "call": "Call notes: ",
    "lost_reason": "Lost: ",
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
    """The buying committee of every deal, with raw job titles only.

    A deal has a champion and 1 + Poisson extra contacts (more on big deals, and
    ``icp.committee_win_factor`` times more on won ones); the second is the economic buyer. Each
    contact's function and seniority band are drawn by role; the planted persona is never drawn
    that way but takes one seat of a deal's committee with the planted rates, so its odds ratio
    on winning is ``icp.persona_odds`` in every fit tier and at every committee size. Titles are drawn from
    :data:`TITLE_FORMS` with casing noise and a few unreadable ones; department and seniority
    stay empty, as in a real CRM.
    """
    _advance_like_before(draws, rng)
    local = rng.spawn(1)[0]  # own stream: what contacts draw never shifts notes or signals
    n_deals = len(draws.account)
    big = np.log10(np.maximum(draws.amount, 1.0)) > 4.3
    extra = np.where(big, 2.2, 1.2) * np.where(draws.won, icp.committee_win_factor, 1.0)
    size = 1 + local.poisson(extra)
    kinds = list(TITLE_FORMS)
    planted = _planted_kind(icp, kinds)
    with_persona = (
        _plant_persona(draws, size, icp, local)
        if planted is not None
        else np.zeros(n_deals, dtype=bool)
    )
    deal = np.repeat(np.arange(n_deals), size)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    slot = np.arange(len(deal)) - start[deal]
    role = np.minimum(slot, 2)
    kind = _draw_kinds(role, kinds, icp, local)
    if planted is not None:  # the persona takes one of the seats, so the head count is unchanged
        seat = start + np.floor(local.random(n_deals) * size).astype(np.int64)
        kind[seat[with_persona]] = planted
    title = _titles(kind, kinds, local)
    number = pl.int_range(1, len(deal) + 1, eager=True).cast(pl.Utf8)
    nulls = pl.Series([None] * len(deal), dtype=pl.Utf8)
    return pl.DataFrame(
        {
            "contact_id": _ids("C", len(deal)),
            "account_id": account_ids.gather(draws.account[deal]),
            "deal_id": deal_ids.gather(deal),
            "name": "Contact " + number,
            "email": "contact" + number + "@example.com",
            "title": title,
            "department": nulls,
            "seniority": nulls,
            "role_in_deal": pl.Series(ROLES).gather(role),
        }
    )


def _advance_like_before(draws: DealDraws, rng: np.random.Generator) -> None:
    """Move the shared stream exactly as far as the contacts of icpkit <= 0.1 did.

    Notes and signals are drawn after the contacts from the same stream; consuming it as before
    keeps every seed's notes, signals and NPS-based outcomes unchanged by the new committees
    (which draw from their own spawned stream instead).
    """
    n = len(draws.account)
    big = np.log10(np.maximum(draws.amount, 1.0)) > 4.3
    buyers = int((rng.random(n) < np.where(big, 0.8, 0.45)).sum())
    users = int((rng.random(n) < 0.4).sum())
    rng.random(n + buyers + users)  # the title draw
    rng.random(n + buyers + users)  # the persona swap


def _planted_kind(icp: PlantedIcp, kinds: list[tuple[str, str]]) -> int | None:
    if icp.persona_function is None:
        return None
    key = (icp.persona_function, icp.persona_band)
    if key not in TITLE_FORMS:
        from icpkit.errors import ConfigError

        raise ConfigError(
            f"planted persona {key} has no titles; expected one of {sorted(TITLE_FORMS)}"
        )
    return kinds.index(key)


def _draw_kinds(
    role: np.ndarray, kinds: list[tuple[str, str]], icp: PlantedIcp, rng: np.random.Generator
) -> np.ndarray:
    """(function, band) of every contact by its role; the planted persona has weight 0."""
    weights = np.array(
        [
            [
                _FUNCTION_WEIGHTS[f] * _BAND_WEIGHTS[r][BANDS.index(b)]
                * float((f, b) != (icp.persona_function, icp.persona_band))
                for f, b in kinds
            ]
            for r in ROLES
        ]
    )  # fmt: skip
    return _draw_rows(rng, weights[role])


def _plant_persona(
    draws: DealDraws, size: np.ndarray, icp: PlantedIcp, rng: np.random.Generator
) -> np.ndarray:
    """Deals that get the persona: odds ``persona_odds`` times higher on won deals than others."""
    base = icp.persona_rate
    odds = icp.persona_odds * base / max(1.0 - base, 1e-12)
    rate = np.where(draws.won, odds / (1.0 + odds), base)
    return rng.random(len(size)) < rate


def _titles(kind: np.ndarray, kinds: list[tuple[str, str]], rng: np.random.Generator) -> pl.Series:
    """A surface form of each contact's (function, band), some lower/upper-cased, a few noise."""
    forms = [form for key in kinds for form in TITLE_FORMS[key]]
    sizes = np.array([len(TITLE_FORMS[key]) for key in kinds])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    index = offsets[kind] + np.floor(rng.random(len(kind)) * sizes[kind]).astype(np.int64)
    title = pl.Series(forms, dtype=pl.Utf8).gather(index)
    casing = rng.random(len(kind))
    title = (
        pl.DataFrame({"t": title, "c": casing})
        .select(
            pl.when(pl.col("c") < 0.08)
            .then(pl.col("t").str.to_lowercase())
            .when(pl.col("c") < 0.12)
            .then(pl.col("t").str.to_uppercase())
            .otherwise(pl.col("t"))
        )
        .to_series()
    )
    noise = rng.random(len(kind)) < NOISE_SHARE
    pick = rng.integers(0, len(NOISE_TITLES), len(kind))
    noisy = pl.Series(NOISE_TITLES, dtype=pl.Utf8).gather(pick)
    return pl.select(pl.when(pl.lit(noise)).then(noisy).otherwise(title)).to_series()


def notes_frame(
    draws: DealDraws,
    account_status: np.ndarray,
    customer: np.ndarray,
    account_ids: pl.Series,
    icp: PlantedIcp,
    period: Period,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Interview, survey, support and call notes, lost reasons, and survey NPS.

    Every engaged account voices neutral themes at one rate (independent of fit and of being a
    customer), in-ICP accounts voice the planted pain more often, and every lost deal may carry
    lost-reason notes (see the theme roles above). Each note is one paraphrase, so the truth can
    only be recovered by meaning. ``rng`` is drawn from once (a child generator), so later tables
    do not shift when the notes change.
    """
    rng = np.random.default_rng(rng.integers(2**63))
    engaged = np.zeros(len(account_status), bool)
    engaged[draws.account] = True
    first_contact = np.full(len(account_status), float(period.days))
    np.minimum.at(first_contact, draws.account, draws.created)
    engaged_ids = np.flatnonzero(engaged)
    neutral = np.repeat(engaged_ids, rng.poisson(1.2, len(engaged_ids)))
    pained = engaged_ids[rng.random(len(engaged_ids)) < _PAIN_RATE[account_status[engaged_ids]]]
    voice_account = np.concatenate([neutral, pained])
    voice_theme = np.concatenate(
        [
            rng.integers(1, len(_VOICE_THEMES), len(neutral)),
            np.zeros(len(pained), np.int64),
        ]
    )
    voice_theme = np.array([_THEME_NAMES.index(t) for t in _VOICE_THEMES])[voice_theme]
    lost_account, lost_theme, lost_day = _lost_reasons(draws, rng)
    account = np.concatenate([voice_account, lost_account])
    theme = np.concatenate([voice_theme, lost_theme])
    n_voice = len(voice_account)
    source = np.concatenate(
        [
            _pick(rng, np.array([0.3, 0.3, 0.2, 0.2]), n_voice),
            np.full(len(lost_account), NOTE_SOURCES.index("lost_reason")),
        ]
    )
    start = first_contact[voice_account]
    day = np.concatenate([np.floor(start + rng.random(n_voice) * (period.days - start)), lost_day])
    status = account_status[account]
    nps_mean = np.array([icp.base_nps, icp.icp_nps, icp.disqualified_nps])[status]
    nps = np.clip(np.round(rng.normal(nps_mean, 1.6)), 0, 10)
    return _note_rows(account_ids, account, day, source, theme, nps, period, rng)


def _lost_reasons(
    draws: DealDraws, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(account, theme index, day) of the lost-reason notes of every lost deal."""
    lost = np.flatnonzero(~draws.won & ~draws.open)
    buyers = np.zeros(int(draws.account.max(initial=-1)) + 1, bool)
    buyers[draws.account[draws.won]] = True
    never_won = (~buyers[draws.account[lost]]).astype(np.int64)
    tied = lost[rng.random(len(lost)) < _TIED_RATE[never_won]]
    common = lost[rng.random(len(lost)) < _COMMON_RATE]
    deal = np.concatenate([tied, common])
    theme = np.concatenate(
        [
            np.full(len(tied), _THEME_NAMES.index(LOST_TIED)),
            np.full(len(common), _THEME_NAMES.index(LOST_COMMON)),
        ]
    )
    day = np.nan_to_num(draws.closed[deal], nan=0.0)
    return draws.account[deal], theme, np.floor(day)


def _note_rows(
    account_ids: pl.Series,
    account: np.ndarray,
    day: np.ndarray,
    source: np.ndarray,
    theme: np.ndarray,
    nps: np.ndarray,
    period: Period,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """The notes table: an opening per source and one paraphrase of the note's theme."""
    sizes = np.array([len(THEMES[t]) for t in _THEME_NAMES])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    phrase = offsets[theme] + (rng.random(len(theme)) * sizes[theme]).astype(np.int64)
    phrases = pl.Series([p for t in _THEME_NAMES for p in THEMES[t]], dtype=pl.Utf8)
    frame = pl.DataFrame(
        {
            "account_id": account_ids.gather(account),
            "date": period.to_date(day),
            "source": pl.Series(NOTE_SOURCES).gather(source),
            "opening": pl.Series([_NOTE_OPENINGS[s] for s in NOTE_SOURCES]).gather(source),
            "phrase": phrases.gather(phrase),
            "score": np.where(source == NOTE_SOURCES.index("survey"), nps, np.nan),
        }
    )
    return frame.select(
        "account_id",
        "date",
        "source",
        pl.concat_str("opening", "phrase").alias("text"),
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
