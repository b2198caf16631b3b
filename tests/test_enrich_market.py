"""Market size (issue 29): expected wins and revenue potential with 80% intervals that hold."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from icpkit.datasets import make_crm, make_universe
from icpkit.enrich.market import market_size
from icpkit.rules import parse_segment


def _tiers(
    frame: pl.DataFrame, segments: tuple[str, ...], disqualifiers: tuple[str, ...]
) -> pl.Series:
    """Tiers from the planted rules applied to the *observed* attributes (typos and blanks make
    them imperfect, so each tier mixes win probabilities, as a real scorecard's tiers do)."""
    fit = np.zeros(frame.height, dtype=bool)
    for rule in segments:
        fit |= parse_segment(rule).mask(frame)
    bad = np.zeros(frame.height, dtype=bool)
    for rule in disqualifiers:
        bad |= parse_segment(rule).mask(frame)
    tier = np.where(bad, "Non-fit", np.where(fit, "Tier 1", "Tier 3"))
    return pl.Series("tier", tier)


def _market(seed: int, n_crm: int = 600, n_universe: int = 3000) -> tuple[float, object]:
    crm = make_crm(n_crm, seed=seed)
    icp = crm.truth.icp
    universe = make_universe(crm, n_universe, seed=seed + 1000, customer_variants=0, duplicates=0)
    crm_tiers = crm.accounts.select("account_id").with_columns(
        _tiers(crm.accounts, icp.segments, icp.disqualifiers)
    )
    table = universe.select("country", "industry").with_columns(
        _tiers(universe, icp.segments, icp.disqualifiers), pl.lit(False).alias("is_customer")
    )
    result = market_size(
        table, crm_tiers, crm.deals, universe_name="synthetic", version=1, currency="USD",
        draws=1000, seed=seed,
    )  # fmt: skip
    return float(universe["p_win_true"].sum()), result


def test_the_market_adds_up_and_its_intervals_hold_the_mean() -> None:
    truth, result = _market(5)
    total = result.rows[0]
    assert total.by == "all" and total.companies == 3000
    tiers = [r for r in result.rows if r.by == "tier"]
    assert sum(r.companies for r in tiers) == total.companies
    assert sum(r.expected_wins.mean for r in tiers) == pytest.approx(total.expected_wins.mean)
    for row in result.rows:
        for est in (row.expected_wins, row.revenue_potential, row.win_rate):
            assert est is not None and est.low <= est.mean <= est.high
    t1 = next(r for r in tiers if r.value == "Tier 1")
    nf = next(r for r in tiers if r.value == "Non-fit")
    assert t1.win_rate.mean > nf.win_rate.mean  # the planted ICP wins more
    assert {"country", "industry"} <= {r.by for r in result.rows}
    assert truth > 0


def _known_market(seed: int, n_universe: int = 5000, n_crm: int = 400) -> tuple[float, object]:
    """A universe whose every company has a known win probability (heterogeneous within each
    tier), and a CRM drawn from the same population whose deals are won with exactly that
    probability (1–4 deals per account). ``make_crm``'s deals also depend on the buying
    committee, so its ``p_win_true`` is not the realised per-deal rate; here it is by design."""
    rng = np.random.default_rng(seed)
    tiers = np.array(["Tier 1", "Tier 2", "Tier 3", "Non-fit"])
    share, mean = np.array([0.1, 0.2, 0.4, 0.3]), np.array([0.55, 0.35, 0.2, 0.05])

    def population(n: int) -> tuple[np.ndarray, np.ndarray]:
        k = rng.choice(4, size=n, p=share)
        return k, rng.beta(mean[k] * 8, (1 - mean[k]) * 8)

    k_u, p_u = population(n_universe)
    k_c, p_c = population(n_crm)
    deals = rng.integers(1, 5, size=n_crm)
    ids = np.repeat(np.arange(n_crm), deals)
    won = rng.random(ids.size) < p_c[ids]
    crm_tiers = pl.DataFrame({"account_id": [f"A{i}" for i in range(n_crm)], "tier": tiers[k_c]})
    deal_frame = pl.DataFrame(
        {"account_id": [f"A{i}" for i in ids], "stage": np.where(won, "won", "lost"),
         "amount": rng.lognormal(10, 0.6, ids.size)}
    )  # fmt: skip
    table = pl.DataFrame({"tier": tiers[k_u], "is_customer": np.zeros(n_universe, dtype=bool)})
    result = market_size(
        table, crm_tiers, deal_frame, universe_name="known", version=1, currency="USD",
        draws=1000, seed=seed,
    )  # fmt: skip
    return float(p_u.sum()), result


@pytest.mark.slow
def test_the_80_percent_interval_of_expected_wins_covers_the_truth_about_80_percent() -> None:
    covered = 0
    for seed in range(100):
        truth, result = _known_market(seed)
        wins = result.rows[0].expected_wins
        covered += wins.low <= truth <= wins.high
    print(f"coverage of the 80% interval over 100 seeds: {covered}%")
    assert 70 <= covered <= 90
