"""Lookalikes: rank a company universe by fit and by likeness to the best customers.

``icpkit.lookalikes(profile, universe, crm=crm)`` (the package is callable) or
``icpkit.lookalikes.find_lookalikes`` returns the ranked targets, existing customers and open deals
excluded by domain and fuzzy name matching, duplicate listings folded into one row.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from icpkit.lookalikes.match import CompanyIndex, name_key
from icpkit.lookalikes.rank import Lookalikes, customer_accounts, find_lookalikes, rank_universe

__all__ = [
    "CompanyIndex",
    "Lookalikes",
    "customer_accounts",
    "find_lookalikes",
    "name_key",
    "rank_universe",
]


class _CallableModule(types.ModuleType):
    """Lets ``icpkit.lookalikes(profile, universe, crm=…)`` be called like a function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return find_lookalikes(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
