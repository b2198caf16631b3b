"""A provisional ICP from a few dozen seeds (issue 29): shrunk toward the universe, labelled."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from icpkit.enrich.seeds import provisional_icp


def _universe(n: int, rng: np.random.Generator) -> pl.DataFrame:
    industries = np.array(["Software", "Retail", "Energy", "Media", "Logistics"])
    countries = np.array(["US", "DE", "FR", "GB"])
    return pl.DataFrame(
        {
            "record_id": [f"U{i}" for i in range(n)],
            "name": [f"Company {i} Ltd" for i in range(n)],
            "domain": [f"company{i}.com" for i in range(n)],
            "industry": industries[rng.integers(0, 5, n)],
            "country": countries[rng.integers(0, 4, n)],
            "employees": np.round(rng.lognormal(4, 1.2, n)),
            "founded_year": rng.integers(1960, 2024, n),
        }
    )


@pytest.mark.slow  # splink on a 3,000-company universe
def test_thirty_software_seeds_give_a_provisional_software_icp_and_rank_software_first() -> None:
    rng = np.random.default_rng(0)
    universe = _universe(3000, rng)
    software = universe.filter(pl.col("industry") == "Software").head(27)
    other = universe.filter(pl.col("industry") != "Software").head(3)
    seeds = pl.concat([software, other]).select(
        pl.col("record_id").alias("account_id"), "name", "domain"
    )
    result = provisional_icp(seeds, universe, threshold=0.9, top=100)
    assert result.matched == 30
    assert "PROVISIONAL" in result.lines()[0]
    top = result.traits[0]
    assert (top.attribute, top.value) == ("industry", "Software")
    # shrinkage: 27/30 seeds would be a 4.5× lift raw; the shrunk lift is smaller
    assert 1.5 <= top.lift < (27 / 30) / top.universe_share
    assert (result.ranked.head(50)["industry"] == "Software").all()
    assert not set(result.ranked["record_id"]) & set(software["record_id"])  # seeds excluded


def test_three_seeds_do_not_make_rules() -> None:
    rng = np.random.default_rng(1)
    universe = _universe(2000, rng)
    seeds = universe.head(3).select(pl.col("record_id").alias("account_id"), "name", "domain")
    result = provisional_icp(seeds, universe, threshold=0.9)
    assert result.traits == []  # 3 seeds sharing a country is no evidence against the base rate
