"""Buyer personas and the buying committee: who inside an ICP account buys.

Real CRMs hold a free-text job title per contact. ``classify_titles`` reads each title into a
business function and a seniority with a confidence (offline; the vocabularies are data files in
``vocab/``); the persona analysis then measures, on closed deals, how much likelier deals with a
persona on them are to be won — within the same fit tier and committee size, so a persona that
merely marks big accounts or big committees is not credited.
"""

from icpkit.personas.hygiene import TitleFileResult, classify_file, workspace_lexicon
from icpkit.personas.lexicon import FUNCTIONS, SENIORITIES, UNKNOWN, Lexicon, default_lexicon
from icpkit.personas.titles import TitleClassifier, classify_titles

__all__ = [
    "FUNCTIONS",
    "SENIORITIES",
    "UNKNOWN",
    "Lexicon",
    "TitleClassifier",
    "TitleFileResult",
    "classify_file",
    "classify_titles",
    "default_lexicon",
    "workspace_lexicon",
]
