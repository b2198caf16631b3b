"""Put the personas to work: which winning personas each account has no contact for yet."""

from __future__ import annotations

import polars as pl

from icpkit.personas.lexicon import Lexicon
from icpkit.personas.linking import ANY, classified_contacts, persona_name
from icpkit.profile import PersonaEvidence, PersonasSection

COLUMN = "personas_missing"


def missing_text(persona: PersonaEvidence) -> str:
    """'no Finance director+ yet: deals with one had 2.9× the win odds [2.5, 3.4]'."""
    low, high = persona.lift_ci
    interval = f" [{low:.1f}, {high:.1f}]" if low is not None and high is not None else ""
    return (
        f"no {persona.persona} yet: deals with one had {persona.lift or 0:.1f}× the win odds"
        f"{interval}"
    )


def personas_missing(
    accounts: pl.DataFrame,
    contacts: pl.DataFrame,
    section: PersonasSection | None,
    *,
    lexicon: Lexicon | None = None,
    min_confidence: float = 0.5,
    top: int | None = None,
    held: pl.DataFrame | None = None,
) -> pl.Series:
    """Per account row: the winning personas (significant, lift > 1) it has no contact of.

    Parameters
    ----------
    accounts : polars.DataFrame
        Rows to annotate; needs ``account_id``.
    contacts : polars.DataFrame
        Contacts with ``account_id`` and ``title`` (any deal; only titles are read).
    section : PersonasSection or None
        The profile's personas; without one, or with no winning persona, every value is "".
    top : int, optional
        How many of the winning personas to check (default: the section's ``shown``).
    held : polars.DataFrame, optional
        ``held_personas(contacts, …)`` computed once, for a caller that annotates a file batch
        by batch (the contacts are then not classified again per batch).

    Returns
    -------
    polars.Series
        ``personas_missing``: one text per account, the missing personas joined with '; '.
    """
    winners = section.top(top or section.shown) if section is not None else []
    if not winners or "account_id" not in accounts.columns:
        return pl.Series(COLUMN, [""] * accounts.height, dtype=pl.Utf8)
    if held is None:
        held = held_personas(contacts, lexicon, min_confidence)
    ids = accounts.select(pl.col("account_id").cast(pl.Utf8))
    texts = []
    for persona in winners:
        name = persona_name(persona.function, persona.seniority or ANY)
        have = held.filter(pl.col("persona") == name).select("account_id", has=pl.lit(True))
        has = ids.join(have, on="account_id", how="left", maintain_order="left")["has"]
        texts.append(pl.when(has.is_null()).then(pl.lit(missing_text(persona))).otherwise(None))
    frame = ids.with_columns([t.alias(f"m{i}") for i, t in enumerate(texts)])
    joined = frame.select(
        pl.concat_list([f"m{i}" for i in range(len(texts))]).list.drop_nulls().list.join("; ")
    ).to_series()
    return joined.rename(COLUMN)


def held_personas(
    contacts: pl.DataFrame, lexicon: Lexicon | None = None, min_confidence: float = 0.5
) -> pl.DataFrame:
    """(account_id, persona) of every persona some contact of the account holds."""
    people = classified_contacts(contacts, lexicon, min_confidence).filter(
        pl.col("account_id").is_not_null() & pl.col("function").is_not_null()
    )
    return pl.concat(
        [
            people.select("account_id", persona=pl.col("function")),
            people.filter(pl.col("band").is_not_null()).select(
                "account_id", persona=pl.concat_str("function", "band", separator=" ")
            ),
        ]
    ).unique()
