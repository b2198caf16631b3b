"""Synthetic contacts, notes and signals around the generated deals.

The planted ICP leaves traces here too, so the wave-2 modules have something true to find:
champions of won in-ICP deals often carry the persona title, in-ICP accounts give higher NPS and
voice a planted pain more often, poor fits lose deals for a planted reason (see THEMES), and
buying signals precede their wins.
Contact names and e-mails are fake but shaped like PII ('Contact 12', 'contact12@example.com').
"""

from __future__ import annotations

import numpy as np
import polars as pl

from icpkit.datasets.synthetic.activity import IN_ICP, DealDraws, Period
from icpkit.datasets.synthetic.firmographics import FUNDING_STAGES, TOOLS
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
SIGNAL_TYPES = ("funding", "hiring", "leadership_change", "tech_adoption", "web_visit")
_BACKGROUND_SHARES = np.array([0.1, 0.25, 0.15, 0.15, 0.35])
_TRIGGER_SHARES = np.array([0.35, 0.4, 0.25, 0.0, 0.0])  # the "why now" kinds
_SIGNAL_VALUES = {
    "funding": tuple(FUNDING_STAGES[1:5]),
    "hiring": tuple(f"+{k} open roles" for k in range(2, 42, 2)),
    "leadership_change": ("new VP Sales", "new CRO", "new CTO", "new Head of RevOps", "new CFO"),
    "tech_adoption": TOOLS,
    "web_visit": ("pricing page", "case studies", "integrations page", "docs", "demo request"),
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


def signals_frame(
    draws: DealDraws,
    accounts: pl.DataFrame,
    icp: PlantedIcp,
    period: Period,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Background intent signals for every account, plus 'why now' triggers before deals.

    A won deal of an in-ICP account is preceded by a funding, hiring or leadership-change signal
    with probability ``icp.icp_signal_rate``; every other deal with ``icp.base_signal_rate``.
    """
    n = accounts.height
    background = np.repeat(np.arange(n), rng.poisson(0.35, n))
    background_day = np.floor(rng.random(len(background)) * period.days)
    rate = np.where(draws.won & (draws.status == IN_ICP), icp.icp_signal_rate, icp.base_signal_rate)
    triggered = np.flatnonzero(rng.random(len(draws.account)) < rate)
    trigger_day = draws.created[triggered] - rng.integers(10, 91, len(triggered))
    account = np.concatenate([background, draws.account[triggered]])
    day = np.concatenate([background_day, trigger_day])
    kind = np.concatenate(
        [
            _pick(rng, _BACKGROUND_SHARES, len(background)),
            _pick(rng, _TRIGGER_SHARES, len(triggered)),
        ]
    )
    order = np.lexsort((day, account))
    account, day, kind = account[order], day[order], kind[order]
    return pl.DataFrame(
        {
            "account_id": accounts["account_id"].gather(account),
            "domain": accounts["domain"].gather(account),
            "date": period.to_date(day),
            "type": pl.Series(SIGNAL_TYPES).gather(kind),
            "value": _signal_values(kind, rng),
        }
    )


def _signal_values(kind: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """A value drawn from the vocabulary of each signal's type (one flat vocabulary, offsets)."""
    vocab = [v for t in SIGNAL_TYPES for v in _SIGNAL_VALUES[t]]
    sizes = np.array([len(_SIGNAL_VALUES[t]) for t in SIGNAL_TYPES])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    index = offsets[kind] + (rng.random(len(kind)) * sizes[kind]).astype(np.int64)
    return pl.Series(vocab, dtype=pl.Utf8).gather(index)
