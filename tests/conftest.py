"""Shared fixtures: the seeded synthetic CRM every module's tests can use.

``synthetic_crm`` is ``make_crm(2000, seed=7)`` with the "default" planted ICP (see
icpkit.datasets.synthetic.spec); it is generated once per test session and must not be mutated
(polars frames are immutable; use ``.clone()`` before writing into numpy views).
"""

from __future__ import annotations

import pytest

from icpkit.data.model import CrmData
from icpkit.datasets import SyntheticCrm, make_crm


@pytest.fixture(scope="session")
def synthetic_crm() -> SyntheticCrm:
    """2,000 accounts with the default planted ICP (seed 7): tables plus ``truth``."""
    return make_crm(2000, seed=7)


@pytest.fixture(scope="session")
def synthetic_crm_data(synthetic_crm: SyntheticCrm) -> CrmData:
    """The same CRM as a ``CrmData``, as the pipeline receives it."""
    return synthetic_crm.to_crm_data()
