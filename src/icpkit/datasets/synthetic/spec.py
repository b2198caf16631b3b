"""The planted ICP of a synthetic CRM: which accounts fit, which are disqualified, and how strongly.

A ``PlantedIcp`` is plain data: its segments and disqualifiers are rules in icpkit's rule text
(parsed by :mod:`icpkit.rules`), so a recovered ICP can be compared with the planted one as text.
Every effect the generator plants is a field here; nothing about the ICP is baked into the code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any


@dataclass(frozen=True)
class PlantedIcp:
    """The known ground truth a synthetic CRM is generated from.

    Parameters
    ----------
    segments
        Rules (icpkit rule text) an ideal account meets; an account meeting any one is in the ICP.
    disqualifiers
        Rules that make an account a poor fit; they override the segments.
    base_win, icp_win, disqualified_win
        Per-deal win probability of an ordinary, an in-ICP and a disqualified account.
    base_churn, icp_churn, disqualified_churn
        Probability that a subscription churns within a year (constant hazard).
    icp_deal_multiplier, disqualified_deal_multiplier
        Factor on the median deal amount of in-ICP / disqualified accounts.
    base_expansion, icp_expansion
        Yearly MRR growth of a subscription at each renewal.
    size_effect
        0..1: how much company size drives the number of deals, deal amounts and sales cycles.
        0 means no attribute predicts any outcome (used by the "none" spec).
    persona_function, persona_band
        The planted buyer persona (e.g. Finance, director+): its contacts are drawn only by the
        planted effect, never by the usual title draw; None plants no persona.
    persona_rate, persona_odds
        Chance that a lost (or open) deal has the planted persona on it, and the factor by which
        having it multiplies a deal's odds of being won (1 = no effect). By Bayes the odds ratio
        is symmetric, so the persona is drawn on won deals with odds ``persona_odds`` times those
        of lost deals, in every fit tier alike.
    committee_win_factor
        Factor on the mean number of extra contacts (beyond the champion) on won deals: won deals
        involve bigger buying committees (1 = no effect).
    icp_nps, base_nps, disqualified_nps
        Mean NPS (0-10) of survey notes.
    shift_date, shifted_segments
        Optional planted drift: deals created on or after ``shift_date`` follow
        ``shifted_segments`` instead of ``segments`` (disqualifiers are unchanged).
    """

    segments: tuple[str, ...] = ()
    disqualifiers: tuple[str, ...] = ()
    base_win: float = 0.25
    icp_win: float = 0.6
    disqualified_win: float = 0.04
    base_churn: float = 0.25
    icp_churn: float = 0.06
    disqualified_churn: float = 0.7
    icp_deal_multiplier: float = 2.5
    disqualified_deal_multiplier: float = 0.7
    base_expansion: float = 0.03
    icp_expansion: float = 0.25
    size_effect: float = 1.0
    persona_function: str | None = "Finance"
    persona_band: str = "director+"
    persona_rate: float = 0.15
    persona_odds: float = 3.0
    committee_win_factor: float = 1.5
    icp_nps: float = 8.6
    base_nps: float = 6.8
    disqualified_nps: float = 3.5
    shift_date: date | None = None
    shifted_segments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be within [0, 1]; got {getattr(self, name)!r}"
            for name in _PROBABILITIES
            if not 0.0 <= float(getattr(self, name)) <= 1.0
        ]
        problems += [
            f"{name} must be positive; got {getattr(self, name)!r}"
            for name in (
                "icp_deal_multiplier",
                "disqualified_deal_multiplier",
                "persona_odds",
                "committee_win_factor",
            )
            if float(getattr(self, name)) <= 0
        ]
        if (self.shift_date is None) != (not self.shifted_segments):
            problems.append("shift_date and shifted_segments must be given together")
        if problems:
            from icpkit.errors import ConfigError

            raise ConfigError("invalid planted ICP: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data (dates as ISO text, tuples as lists)."""
        data = asdict(self)
        data["shift_date"] = self.shift_date.isoformat() if self.shift_date else None
        for key in ("segments", "disqualifiers", "shifted_segments"):
            data[key] = list(data[key])
        return data


_PROBABILITIES = (
    "base_win",
    "icp_win",
    "disqualified_win",
    "base_churn",
    "icp_churn",
    "disqualified_churn",
    "size_effect",
    "persona_rate",
)

_DEFAULT = PlantedIcp(
    segments=(
        "industry = 'Software' AND employees in [100, 5000)",
        "region = 'EMEA' AND tech_stack contains 'Snowflake'",
    ),
    disqualifiers=("employees in [1, 10)",),
)

# The "none" spec: no segment, no disqualifier and no size effect, so every account has the same
# win, churn, deal-size, signal, persona, committee and NPS distribution. Discovery must find
# nothing here.
_NONE = PlantedIcp(size_effect=0.0, persona_odds=1.0, committee_win_factor=1.0)

# The default ICP with a persona that makes no difference (odds 1) but the committee-size effect
# kept: no persona should come out significant. Not in SPECS: its accounts are the default's.
NO_PERSONA = replace(_DEFAULT, persona_odds=1.0)

SPECS: dict[str, PlantedIcp] = {
    "default": _DEFAULT,
    "categorical": PlantedIcp(
        segments=("industry = 'Financial Services'",),
        disqualifiers=("industry = 'Education'",),
    ),
    "numeric": PlantedIcp(
        segments=("employees in [250, 5000)",),
        disqualifiers=("founded_year in [2021, inf)",),
    ),
    "tags": PlantedIcp(
        segments=("tech_stack contains 'Databricks'",),
        disqualifiers=("tech_stack contains 'Shopify'",),
    ),
    "two_segments": PlantedIcp(
        segments=(
            "industry in ('Healthcare', 'Manufacturing') AND region = 'North America'",
            "employees in [50, 1000) AND tech_stack contains 'HubSpot'",
        ),
        disqualifiers=("ownership in ('Government', 'Non-profit')",),
    ),
    # A large segment (about 11 % of accounts) beside a small one (about 1.6 %, under 2 %) on other
    # attributes: a search whose top-k fills with variants of the large one loses the small one.
    "small_segment": PlantedIcp(
        segments=(
            "industry = 'Software' AND region = 'EMEA'",
            "region = 'APAC' AND tech_stack contains 'AWS'",
        ),
        disqualifiers=("industry = 'Education'",),
    ),
    "none": _NONE,
    # The default ICP until March 2025 (the last third of the default 2023-2025 period), then a
    # different one: for drift and out-of-time validation tests.
    "shifted": replace(
        _DEFAULT,
        shift_date=date(2025, 3, 1),
        shifted_segments=(
            "industry = 'Financial Services' AND employees in [50, 2000)",
            "tech_stack contains 'Databricks'",
        ),
    ),
}
