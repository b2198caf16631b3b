"""ICP discovery: the traits and segments of the best customers, and the disqualifiers."""

from icpkit.discovery.attributes import attribute_columns, condition_table
from icpkit.discovery.evidence import SegmentEvidence
from icpkit.discovery.icp import DiscoveryResult, IcpDiscovery, choose_criteria, discover, find_icp
from icpkit.discovery.quality import BinomialZ, MeanShift, Quality, WRAcc, quality_named
from icpkit.discovery.search import DepthFirstSearch, SearchResult, SearchTask

__all__ = [
    "BinomialZ",
    "DepthFirstSearch",
    "DiscoveryResult",
    "IcpDiscovery",
    "MeanShift",
    "Quality",
    "SearchResult",
    "SearchTask",
    "SegmentEvidence",
    "WRAcc",
    "attribute_columns",
    "choose_criteria",
    "condition_table",
    "discover",
    "find_icp",
    "quality_named",
]
