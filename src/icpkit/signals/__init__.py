"""Buying signals: what each is worth, how fast it fades, and which accounts to work now.

Intent is kept apart from fit. :func:`learn_signals` learns, from the CRM's own history, each signal
type's effect on deal openings and wins within fit tiers and its decay; :func:`intent_scores`
turns the significant ones into an ``intent_score`` (0-100) as of a date with "why now" reasons;
:func:`prioritize` crosses fit tier and intent in a matrix (never one blended number);
:func:`backtest_intent` checks out of time that fit + intent ranks better than fit alone.

Example
-------
>>> section = learn_signals(crm, tiers, config.signals)
>>> [t.type for t in section.triggers()]
['funding', 'leadership_change']
"""

from __future__ import annotations

from datetime import date

import polars as pl

from icpkit.config import SignalsConfig
from icpkit.data.model import CrmData
from icpkit.profile import SignalIntake, SignalsSection, SignalTypeEvidence
from icpkit.signals.learn import as_of_default, learn_effects
from icpkit.signals.sources import SignalEvents, prepare_signals
from icpkit.signals.timeline import build_timeline

__all__ = [
    "SignalEvents",
    "SignalIntake",
    "SignalTypeEvidence",
    "SignalsSection",
    "learn_signals",
    "prepare_signals",
    "unavailable_reason",
]


def unavailable_reason(crm: CrmData) -> str | None:
    """Why signals cannot be learned from this CRM, or None when they can."""
    if crm.signals is None or crm.signals.height == 0:
        return "no signals table was loaded (add [sources.signals] to learn when accounts buy)"
    if crm.deals is None or "created_at" not in crm.deals.columns:
        return "signals need dated deals (created_at) to learn from"
    if crm.deals["created_at"].drop_nulls().len() == 0:
        return "no deal has a creation date to compare signals with"
    return None


def learn_signals(
    crm: CrmData,
    tiers: pl.DataFrame | None,
    config: SignalsConfig,
    as_of: date | None = None,
) -> SignalsSection:
    """Each signal type's effect on openings and wins within fit tiers, with its decay.

    Parameters
    ----------
    crm
        The loaded CRM: accounts, deals (with ``created_at``) and signals.
    tiers
        ``account_id`` and ``tier`` (the fit tier each account is compared within); None
        compares all accounts together.
    config
        The ``[signals]`` settings.
    as_of
        Learn from what was known on this date (later signals and deals are left out); default
        today, or the last date in the data when that is earlier.

    Returns
    -------
    SignalsSection
        ``available=False`` with the reason when the data cannot support it (never raises for
        missing tables).
    """
    reason = unavailable_reason(crm)
    if reason is not None:
        return SignalsSection(available=False, reason=reason)
    assert crm.signals is not None and crm.deals is not None
    events = prepare_signals(crm.signals, crm.accounts, as_of or date.today())
    if events.frame.height == 0:
        return SignalsSection(
            available=False,
            reason="no usable signal events: " + "; ".join(events.intake.notes),
            intake=events.intake,
        )
    end = as_of or as_of_default(events, crm.deals)
    first = [events.frame["date"].min(), crm.deals["created_at"].min()]
    start = min(d for d in first if isinstance(d, date))
    assert end is not None
    timeline = build_timeline(crm.accounts["account_id"], tiers, crm.deals, start, end)
    types = learn_effects(events, timeline, config)
    return SignalsSection(
        available=True,
        as_of=end.isoformat(),
        lookback_days=config.lookback_days,
        strata=list(timeline.strata),
        intake=events.intake,
        types=types,
    )
