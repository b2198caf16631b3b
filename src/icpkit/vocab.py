"""The words every part of icpkit shares: outcome labels, tiers, and the cut that no score reaches.

Defined once here so that outcomes, discovery, scoring, evaluation and the report cannot drift apart.
"""

from __future__ import annotations

from typing import Final, Literal

# Per-account outcome labels (icpkit.outcomes), in display order.
LABELS: Final = ("best", "worst", "rest", "unranked")

# Tiers, best first; the first two are "the ICP" in KPIs and reports.
TIERS: Final = ("Tier 1", "Tier 2", "Tier 3", "Non-fit")
# The same four names as a type, for models that hold a tier (checked against TIERS in a test).
TierName = Literal["Tier 1", "Tier 2", "Tier 3", "Non-fit"]
ICP_TIERS: Final = ("Tier 1", "Tier 2")

# Scores are integers 0..100, so a tier cut of 101 is one that no account can reach.
SCORE_MAX: Final = 100
UNREACHABLE_CUT: Final = SCORE_MAX + 1
