"""Notes of a field-service software vendor, with source fillers and uneven note counts.

A second planted-truth generator for the themes module, written apart from the CRM's notes (see
:mod:`icpkit.datasets.synthetic.engagement`) so that the analysis is checked on text it was not
tuned on. It differs in the ways real exports differ:

* another vocabulary (dispatch, technicians, work orders, invoices);
* fillers that depend on the note's source: call transcripts are full of "um, yeah, so", tickets
  carry a ticket number, priority and portal footer, surveys the form's question and collection
  text. Each source's filler alone would make a cluster;
* very uneven note counts: accounts leave 0 to dozens of notes (negative binomial), the best
  accounts about twice as many as the rest, and through other sources (more calls, fewer
  tickets). A theme voiced at the same rate in every note is then mentioned by more best accounts
  than other accounts: only a test that compares accounts with the same notes finds nothing.

Planted truth: :data:`EFFECT` is voiced more often in the notes of the best accounts (an account
level propensity); :data:`FLAT` is voiced in the same share of every note; the other themes are
background at flat rates. ``VoiceNotes.planted`` holds each note's theme.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

EFFECT = "dispatch planning"
FLAT = "invoice disputes"
THEMES: dict[str, tuple[str, ...]] = {
    EFFECT: (
        "our dispatcher spends every morning juggling which technician goes to which job",
        "routes are planned on a whiteboard and drivers cross the city twice",
        "we cannot see who is closest when an emergency call comes in",
        "scheduling the crews for next week takes the office two full days",
        "jobs get double booked because the calendar is kept by hand",
        "technicians sit in traffic between visits that should have been grouped",
        "reassigning work when someone calls in sick is chaos",
        "the van schedule lives in one person's head",
        "same-day appointments are impossible to fit into the plan",
        "we waste fuel because nobody optimises the order of stops",
        "matching skills to work orders is guesswork for the coordinator",
        "the planner rebuilds the rota every time a customer reschedules",
    ),
    FLAT: (
        "clients argue about the amounts on their bills",
        "a customer refused to pay because the invoice listed the wrong parts",
        "billing mistakes keep causing credit notes",
        "finance chases payments that are disputed for weeks",
        "the charges on the statement did not match the quote",
        "we had to reissue several invoices this month",
        "customers question the labour hours they were charged",
        "our accountants spend hours reconciling contested payments",
        "a tax error on the bill triggered a complaint",
        "receivables are stuck while pricing disagreements get sorted",
    ),
    "mobile app": (
        "the field app freezes when there is no signal in the basement",
        "technicians complain the phone app logs them out constantly",
        "photos taken on site never upload from the tablet",
        "the handheld software crashes when a form is long",
        "offline mode loses the checklist the engineer filled in",
        "battery drain on the mobile client is terrible",
        "the android version is much slower than the iphone one",
        "signatures captured on the device sometimes vanish",
    ),
    "spare parts": (
        "we never know which spare parts are on each truck",
        "stock counts in the warehouse are always wrong",
        "a missing component meant a second visit to the customer",
        "reordering consumables is done from memory",
        "the parts catalogue does not match what suppliers ship",
        "engineers hoard inventory because they do not trust the system",
        "tracking serial numbers of installed equipment is a mess",
        "backorders are discovered only when the technician arrives",
    ),
    "training": (
        "new hires need weeks of shadowing before they work alone",
        "the manuals for the equipment are outdated",
        "we lack a knowledge base for the junior staff",
        "certifications expire and nobody notices",
        "onboarding apprentices takes too much senior time",
        "there is no structured course for the new product line",
        "people learn the procedures by word of mouth",
        "safety instructions are scattered in old emails",
    ),
    "customer portal": (
        "end customers want to book visits online themselves",
        "clients keep phoning to ask when the engineer will arrive",
        "there is no self-service page to see past service reports",
        "homeowners would like a text message before the visit",
        "our customers cannot download their maintenance history",
        "people ask for a live tracker of the technician",
        "booking requests still come in by fax and voicemail",
        "the website form for service requests goes nowhere",
    ),
}
SOURCES = ("call", "ticket", "survey", "email")
# Share of each source in the notes of the best accounts and of the rest (different mixes, so a
# source's filler also differs by outcome).
_SOURCE_MIX = {"best": (0.5, 0.15, 0.2, 0.15), "rest": (0.2, 0.45, 0.2, 0.15)}
_CALL_FILLERS = (
    "um, yeah, so", "uh, I mean,", "right, okay so", "yeah yeah, so basically", "you know,",
    "hmm, well,", "so, like,", "okay um",
)  # fmt: skip
_CALL_TAILS = ("yeah.", "you know?", "so yeah, that's it.", "uh, right.", "mm-hmm.", "")


def _call(text: str, rng: np.random.Generator) -> str:
    lead = " ".join(rng.choice(_CALL_FILLERS, size=int(rng.integers(1, 3))))
    return f"[transcript] {lead} {text}, {rng.choice(_CALL_FILLERS)} {rng.choice(_CALL_TAILS)}"


def _ticket(text: str, rng: np.random.Generator) -> str:
    number = int(rng.integers(10_000, 99_999))
    priority = rng.choice(("P1", "P2", "P3", "P4"))
    return (
        f"Ticket #{number} | Priority: {priority} | Status: Open. Description: {text}. "
        "-- This ticket was created via the support portal. Please do not reply to this email."
    )


def _survey(text: str, rng: np.random.Generator) -> str:
    score = int(rng.integers(0, 11))
    question = rng.choice(
        (
            "Q3. What is the biggest challenge in your operations?",
            "Q5. What could we improve?",
            "Q2. Please describe any problems you experienced.",
        )
    )
    return f"{question} Answer: {text}. (Response collected via web form; rating {score}/10)"


def _email(text: str, rng: np.random.Generator) -> str:
    greeting = rng.choice(("Hi team,", "Hello,", "Good morning,", "Dear support,"))
    sign = rng.choice(("Best regards", "Thanks", "Kind regards", "Cheers"))
    return f"{greeting} {text[0].upper()}{text[1:]}. {sign}, sent from my phone"


_WRAP = {"call": _call, "ticket": _ticket, "survey": _survey, "email": _email}


@dataclass(frozen=True)
class VoiceNotes:
    """The notes table, the accounts' outcomes, and each note's planted theme (aligned rows)."""

    notes: pl.DataFrame  # account_id, source, text
    outcomes: pl.DataFrame  # account_id, label ("best" | "rest")
    planted: np.ndarray  # theme name per note


def make_voice_notes(
    n_accounts: int = 1500,
    seed: int = 0,
    best_share: float = 0.3,
    effect_rate: tuple[float, float] = (0.3, 0.08),
    flat_rate: float = 0.25,
    notes_per_account: tuple[float, float] = (4.0, 2.0),
) -> VoiceNotes:
    """Generate accounts, their outcome and their notes with planted themes.

    Parameters
    ----------
    n_accounts
        Number of accounts (about a sixth leave no note).
    seed
        Seed of every draw.
    best_share
        Share of accounts labelled ``best``.
    effect_rate
        Share of notes voicing :data:`EFFECT` for a best account and for the rest.
    flat_rate
        Share of every note voicing :data:`FLAT` (no relation to the outcome).
    notes_per_account
        Mean note count of a best account and of the rest (negative binomial, dispersion 1).
    """
    rng = np.random.default_rng([seed, 24])
    best = rng.random(n_accounts) < best_share
    mean = np.where(best, notes_per_account[0], notes_per_account[1])
    counts = rng.negative_binomial(1, 1.0 / (1.0 + mean))  # mean `mean`, very uneven
    account = np.repeat(np.arange(n_accounts), counts)
    is_best = best[account]
    background = [t for t in THEMES if t not in (EFFECT, FLAT)]
    u = rng.random(len(account))
    effect = u < np.where(is_best, effect_rate[0], effect_rate[1])
    flat = ~effect & (u < np.where(is_best, effect_rate[0], effect_rate[1]) + flat_rate)
    theme = np.array(background, dtype=object)[rng.integers(0, len(background), len(account))]
    theme[effect] = EFFECT
    theme[flat] = FLAT
    source = np.empty(len(account), dtype=object)
    for group, mask in (("best", is_best), ("rest", ~is_best)):
        mix = np.array(_SOURCE_MIX[group])
        source[mask] = np.array(SOURCES, dtype=object)[rng.choice(4, int(mask.sum()), p=mix)]
    texts = []
    for name, src in zip(theme, source, strict=True):
        phrases = THEMES[name]
        texts.append(_WRAP[src](phrases[int(rng.integers(0, len(phrases)))], rng))
    ids = [f"FS-{i:05d}" for i in range(n_accounts)]
    notes = pl.DataFrame(
        {
            "account_id": pl.Series([ids[a] for a in account], dtype=pl.Utf8),
            "source": pl.Series(source.tolist(), dtype=pl.Utf8),
            "text": pl.Series(texts, dtype=pl.Utf8),
        }
    )
    outcomes = pl.DataFrame({"account_id": ids, "label": np.where(best, "best", "rest")})
    return VoiceNotes(notes, outcomes, theme.astype(str))
