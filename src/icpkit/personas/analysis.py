"""The persona analysis end to end: contacts and closed deals in, a ``PersonasSection`` out."""

from __future__ import annotations

import polars as pl

from icpkit.config import PersonasConfig
from icpkit.personas.committee import buying_committee
from icpkit.personas.evidence import persona_evidence
from icpkit.personas.lexicon import Lexicon
from icpkit.personas.linking import UNSCORED, link_committees
from icpkit.profile import PersonasSection, TitleCoverage


def find_personas(
    contacts: pl.DataFrame,
    deals: pl.DataFrame,
    tiers: pl.DataFrame | None = None,
    config: PersonasConfig | None = None,
    lexicon: Lexicon | None = None,
) -> PersonasSection:
    """Who to talk to: personas that go with winning, and the buying committee of closed deals.

    Parameters
    ----------
    contacts : polars.DataFrame
        The contacts table (``title``; ``deal_id`` and/or ``account_id``; optional
        ``contact_id``, ``role_in_deal``, ``created_at``). Names, e-mails and phones are never read.
    deals : polars.DataFrame
        The deals table (``stage`` won/lost/open, ``account_id``, ``deal_id``).
    tiers : polars.DataFrame, optional
        ``account_id`` and ``tier`` (the fit tiers): personas are compared within a tier.
    config : PersonasConfig, optional
        Thresholds (default: the defaults of ``[personas]``).
    lexicon : Lexicon, optional
        Title vocabularies with a workspace's overrides (default: the shipped ones).

    Raises
    ------
    InsufficientDataError
        No title (or seniority/department) column, no stage column, or no closed deal.
    """
    config = config or PersonasConfig()
    committees = link_committees(contacts, deals, tiers, config, lexicon)
    used = committees.contacts
    n_used = used.height
    strata = ["committee size"] if tiers is None else ["fit tier", "committee size"]
    notes = list(committees.notes)
    notes.append(
        "Lift is the odds ratio of winning with the persona on the deal versus without it, "
        f"compared within the same {' and '.join(strata)} (Mantel–Haenszel); q-values are "
        "Benjamini–Hochberg-adjusted across every persona tested."
    )
    if tiers is not None and committees.deals["tier"].eq(UNSCORED).all():
        notes.append(
            "No deal's account had a tier, so personas are compared by committee size only."
        )
    return PersonasSection(
        link="deal" if committees.link == "deal" else "account",
        n_contacts=committees.n_contacts,
        n_contacts_used=n_used,
        n_deals=committees.deals.height,
        n_won=int(committees.deals["won"].sum()),
        stratified_by=strata,
        title_coverage=TitleCoverage(
            function_known=_share(used["function"].is_not_null()) if n_used else 0.0,
            seniority_known=_share(used["band"].is_not_null()) if n_used else 0.0,
        ),
        personas=persona_evidence(committees, config) if committees.deals.height else [],
        committee=buying_committee(committees),
        warnings=committees.warnings,
        notes=notes,
        shown=config.top_personas,
    )


def _share(mask: pl.Series) -> float:
    mean = mask.mean()
    return round(float(mean), 4) if isinstance(mean, int | float) else 0.0
