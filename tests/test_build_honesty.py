"""A build says out loud what it could not do: a dropped backtest, no usable attribute, tier
shares that cannot hold."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from icpkit.config import config_from_dict
from icpkit.data.model import CrmData
from icpkit.datasets import make_crm
from icpkit.errors import ConfigError, InsufficientDataError
from icpkit.pipeline import build_icp


def test_all_attribute_columns_empty_is_insufficient_data_not_a_traceback() -> None:
    n = 60
    ids = [f"a{i}" for i in range(n)]
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "industry": pl.Series([None] * n, dtype=pl.Utf8),
            "employees": pl.Series([None] * n, dtype=pl.Float64),
        }
    )
    deals = pl.DataFrame(
        {
            "deal_id": ids,
            "account_id": ids,
            "stage": ["won" if i % 3 == 0 else "lost" for i in range(n)],
            "created_at": [date(2024, 1, 1 + i % 28) for i in range(n)],
        }
    )
    with pytest.raises(InsufficientDataError, match="every attribute column is empty"):
        build_icp(CrmData(accounts=accounts, deals=deals), config_from_dict({}))


def test_a_cut_date_after_every_deal_is_a_dropped_backtest_said_out_loud() -> None:
    crm = make_crm(300, seed=2).to_crm_data()
    config = config_from_dict(
        {
            "validation": {"cut_date": "2026-06-30", "cv_folds": 0},
            "scoring": {"regularization_grid": []},
        }
    )
    profile = build_icp(crm, config).profile
    assert profile.validation is None
    dropped = [c for c in profile.caveats if c.startswith("out-of-time backtest dropped")]
    assert dropped and "after the cut" in dropped[0]
    assert any(c.startswith("no held-out test") for c in profile.caveats)


def test_tier_shares_that_cannot_hold_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"sum to 2\.7"):
        config_from_dict({"tiers": {"tier1_share": 0.9, "tier2_share": 0.9, "tier3_share": 0.9}})
    config_from_dict({"tiers": {"tier1_share": 0.2, "tier2_share": 0.3, "tier3_share": 0.5}})
