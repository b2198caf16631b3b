"""Outcomes: metrics per account, the composite success score, and best/worst/rest labels."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from icpkit.config import SuccessConfig, SuccessMetric
from icpkit.data.model import CrmData
from icpkit.errors import ConfigError, InsufficientDataError
from icpkit.outcomes import compute_outcomes


def _deals(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "deal_id": [str(i) for i in range(len(rows))],
            "account_id": [r[0] for r in rows],
            "stage": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
            "created_at": [date(2023, 1, 1)] * len(rows),
            "closed_at": [date(2023, 2, 1)] * len(rows),
        }
    )


def _accounts(ids: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"account_id": ids, "industry": ["x"] * len(ids)})


def test_shrunk_win_rate_ranks_forty_of_fifty_above_one_of_one() -> None:
    rows = [("one", "won", 10.0)] + [("many", "won" if i < 40 else "lost", 10.0) for i in range(50)]
    rows += [("other", "lost", 10.0)] * 30 + [("other", "won", 10.0)] * 5
    out = compute_outcomes(
        CrmData(accounts=_accounts(["one", "many", "other"]), deals=_deals(rows))
    )
    shrunk = dict(out.to_frame().select("account_id", "win_rate_shrunk").iter_rows())
    raw = dict(out.to_frame().select("account_id", "win_rate").iter_rows())
    assert raw["one"] == 1.0 > raw["many"]
    assert shrunk["many"] > shrunk["one"]


def test_lost_only_and_churned_are_worst_and_prospects_unranked() -> None:
    accounts = _accounts(["won_big", "lost_only", "churner", "prospect", "mid"])
    deals = _deals(
        [
            ("won_big", "won", 900.0),
            ("lost_only", "lost", 5.0),
            ("lost_only", "lost", 5.0),
            ("churner", "won", 800.0),
            ("mid", "won", 100.0),
            ("prospect", "open", 50.0),
        ]
    )
    subs = pl.DataFrame(
        {
            "account_id": ["won_big", "churner", "mid"],
            "start": [date(2023, 2, 1)] * 3,
            "end": [None, date(2023, 5, 1), None],
            "mrr": [100.0, 100.0, 10.0],
        }
    )
    out = compute_outcomes(
        CrmData(accounts=accounts, deals=deals, subscriptions=subs), as_of=date(2024, 1, 1)
    )
    labels = dict(out.to_frame().select("account_id", "label").iter_rows())
    reasons = dict(out.to_frame().select("account_id", "reason").iter_rows())
    assert labels == {
        "won_big": "best",
        "lost_only": "worst",
        "churner": "worst",
        "prospect": "unranked",
        "mid": "rest",
    }
    assert reasons["churner"].startswith("churned")
    assert "lost all 2 closed deals" in reasons["lost_only"]
    assert "won revenue 900 (top" in reasons["won_big"]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(950.0, "950"), (1234.0, "1.2k"), (182522.0, "183k"), (1.26e6, "1.3M"), (3.4e9, "3.4B")],
)
def test_amounts_in_reasons_read_like_a_person_writes_them(amount: float, text: str) -> None:
    out = compute_outcomes(
        CrmData(
            accounts=_accounts(["a", "b"]), deals=_deals([("a", "won", amount), ("b", "lost", 1.0)])
        )
    )
    reason = out.to_frame().filter(pl.col("account_id") == "a")["reason"].item()
    assert f"won revenue {text} (" in reason


def test_a_single_lost_deal_is_ranked_not_forced_worst() -> None:
    ids = [f"a{i}" for i in range(10)]
    rows = [(acc, "won", 100.0 * (i + 1)) for i, acc in enumerate(ids[:9])] + [("a9", "lost", 5.0)]
    out = compute_outcomes(
        CrmData(accounts=_accounts(ids), deals=_deals(rows)),
        SuccessConfig(worst_share=0.1, lost_only_min_deals=2),
    )
    frame = out.to_frame().filter(pl.col("account_id") == "a9")
    assert frame["label"].item() == "worst"  # bottom of the ranking, not forced
    assert "rank 10 of 10" in frame["reason"].item()
    assert "top 10%" in out.to_frame().filter(pl.col("account_id") == "a8")["reason"].item()
    out = compute_outcomes(
        CrmData(accounts=_accounts(ids), deals=_deals(rows)),
        SuccessConfig(worst_share=0.1, lost_only_min_deals=1),
    )
    assert (
        out.to_frame()
        .filter(pl.col("account_id") == "a9")["reason"]
        .item()
        .startswith("lost its only")
    )


def test_every_account_won_still_separates_best_from_worst() -> None:
    """Maven-like data: every account has a win, so 'ever won' cannot be the success definition."""
    rng = np.random.default_rng(0)
    ids = [f"a{i}" for i in range(40)]
    rows = []
    for i, acc in enumerate(ids):
        rows.append((acc, "won", float(100 + i * 50)))
        rows += [(acc, "won" if rng.random() < 0.5 else "lost", float(i * 10)) for _ in range(8)]
    out = compute_outcomes(CrmData(accounts=_accounts(ids), deals=_deals(rows)))
    counts = out.counts()
    assert counts["best"] == 8 and counts["worst"] == 8 and counts["unranked"] == 0
    assert {m.name for m in out.metrics} == {"won_revenue", "win_rate_shrunk"}
    best = out.group("best")["won_revenue"].mean()
    worst = out.group("worst")["won_revenue"].mean()
    assert best > worst


def test_direction_lower_is_better_flips_the_ranking() -> None:
    accounts = _accounts(["fast", "slow"])
    deals = pl.DataFrame(
        {
            "deal_id": ["1", "2"],
            "account_id": ["fast", "slow"],
            "stage": ["won", "won"],
            "amount": [1.0, 1.0],
            "created_at": [date(2023, 1, 1)] * 2,
            "closed_at": [date(2023, 1, 11), date(2023, 6, 1)],
        }
    )
    cfg = SuccessConfig(
        metrics=[SuccessMetric(name="sales_cycle_days", direction="lower")],
        best_share=0.4,
        worst_share=0.4,
    )
    out = compute_outcomes(CrmData(accounts=accounts, deals=deals), cfg)
    assert dict(out.to_frame().select("account_id", "label").iter_rows()) == {
        "fast": "best",
        "slow": "worst",
    }


def test_account_column_can_be_the_success_metric() -> None:
    accounts = pl.DataFrame(
        {"account_id": list("abcdefghij"), "profit": [float(i) for i in range(10)]}
    )
    cfg = SuccessConfig(metrics=[SuccessMetric(name="profit")])
    out = compute_outcomes(CrmData(accounts=accounts), cfg)
    assert out.group("best")["account_id"].to_list() == ["j", "i"]
    assert set(out.group("worst")["account_id"].to_list()) == {"a", "b"}


def test_no_outcome_data_is_a_clear_error() -> None:
    with pytest.raises(InsufficientDataError, match="no outcome data"):
        compute_outcomes(CrmData(accounts=_accounts(["a"])))


def test_unknown_metric_lists_what_is_available() -> None:
    cfg = SuccessConfig(metrics=[SuccessMetric(name="nps_score")])
    deals = _deals([("a", "won", 1.0)])
    with pytest.raises(ConfigError, match=r"nps_score.*won_revenue"):
        compute_outcomes(CrmData(accounts=_accounts(["a"]), deals=deals), cfg)


def test_labels_align_with_any_account_order() -> None:
    accounts = _accounts(["a", "b", "c"])
    deals = _deals([("a", "won", 100.0), ("b", "lost", 1.0), ("c", "won", 5.0)])
    out = compute_outcomes(
        CrmData(accounts=accounts, deals=deals), SuccessConfig(best_share=0.34, worst_share=0.34)
    )
    shuffled = accounts.select(pl.col("account_id").reverse()).vstack(
        pl.DataFrame({"account_id": ["zz"]})
    )
    assert out.labels_for(shuffled).tolist() == ["rest", "worst", "best", "unranked"]
