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


@pytest.fixture(scope="session")
def lookalikes_world():
    """A CRM (3,000 accounts, seed 7), its profile and a planted universe (20,000 companies with a
    true win probability, disguised customers, duplicates and descriptions), built once."""
    from icpkit.config import WorkspaceConfig
    from icpkit.datasets import make_universe
    from icpkit.pipeline import build_icp

    crm = make_crm(3000, seed=7)
    profile = build_icp(crm.to_crm_data(), WorkspaceConfig(), validate=False).profile
    return crm, profile, make_universe(crm, 20_000, seed=3)
