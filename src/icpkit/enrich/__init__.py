"""Enrichment from company universes, duplicate accounts, and the size of the market.

- universe: read a universe file (FinanceDatabase, accounts-shaped, synonyms) into one shape;
- link: the record-linkage model (splink on DuckDB), the rapidfuzz baseline, match quality;
- fill: the waterfall that fills missing firmographics, with provenance and conflicts;
- store: what is kept in ``.icpkit/enrich/`` and laid over the accounts on load;
- market: expected wins and revenue potential per tier, country and industry, with intervals;
- seeds: a provisional ICP from a seed list when the CRM is thin.
"""

from icpkit.enrich.fill import Enrichment, enrich_accounts, find_duplicates
from icpkit.enrich.universe import Universe, read_universe

__all__ = ["Enrichment", "Universe", "enrich_accounts", "find_duplicates", "read_universe"]
