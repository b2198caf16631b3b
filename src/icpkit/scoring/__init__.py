"""The points scorecard: learn it, apply it to any account table, explain every point.

``FitScorer`` (a scikit-learn estimator) learns bins and integer points; ``fit_scorecard_and_tiers``
builds a profile's scorecard and tier cut-offs; ``score_frame`` / ``score_file`` apply a profile to
a frame or a file of any size; ``load_spec`` reads a hand-written (cold-start) ICP.
"""

from icpkit.scoring.apply import OUTPUT_COLUMNS, ScoringPlan, explain_accounts, score_frame
from icpkit.scoring.bulk import csv_safe, score_file
from icpkit.scoring.card import Scorecard
from icpkit.scoring.explain import Explanation
from icpkit.scoring.learn import fit_scorecard_and_tiers, scoring_attributes
from icpkit.scoring.scorecard import FitScorer, ScorerNotFittedError
from icpkit.scoring.spec import load_spec, spec_to_profile

__all__ = [
    "OUTPUT_COLUMNS",
    "Explanation",
    "FitScorer",
    "Scorecard",
    "ScorerNotFittedError",
    "ScoringPlan",
    "csv_safe",
    "explain_accounts",
    "fit_scorecard_and_tiers",
    "load_spec",
    "score_file",
    "score_frame",
    "scoring_attributes",
    "spec_to_profile",
]
