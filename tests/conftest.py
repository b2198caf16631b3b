"""Shared fixtures: the seeded synthetic CRM every module's tests can use.

``synthetic_crm`` is ``make_crm(2000, seed=7)`` with the "default" planted ICP (see
icpkit.datasets.synthetic.spec); it is generated once per test session and must not be mutated
(polars frames are immutable; use ``.clone()`` before writing into numpy views).
"""

from __future__ import annotations

import os

import pytest

from icpkit.data.model import CrmData
from icpkit.datasets import SyntheticCrm, make_crm

# Hypothesis: derandomised in CI and in the default suite (a failure reproduces on the next run, and a
# run costs the same every time); the slow suite (`make test-slow`, ICPKIT_HYPOTHESIS=thorough) reruns
# the property tests with ten times as many examples (tests/budget.py), also derandomised.
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "default",
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(
        "thorough",
        derandomize=True,  # CI runs it: a random find must not decide whether a change lands
        max_examples=1000,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile(os.environ.get("ICPKIT_HYPOTHESIS", "default"))
except ImportError:  # hypothesis is a dev dependency; conftest must load without it
    pass


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Real-data tests belong to the slow suite: they read ../shared/datasets (minutes under load,
    e.g. the LightGBM comparison) and `make test` must stay within minutes on two cores."""
    thorough = os.environ.get("ICPKIT_HYPOTHESIS") == "thorough"
    for item in items:
        if item.get_closest_marker("realdata") is not None or (
            thorough and getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        ):
            item.add_marker(pytest.mark.slow)


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
