"""A provisional ICP from a seed list, for a CRM too thin to learn from (a few dozen customers).

The seeds (names and/or domains, optionally with firmographics) are linked to the universe
(:mod:`icpkit.enrich.link`) so each gets the universe's attributes. Every attribute value
(industry, country, size band, founding decade) is then compared between the seeds and the whole
universe, **shrunk toward the universe's base rate**: with k of n seeds having the value and a
share p of the universe, the seed share is (k + α·p) / (n + α) — α pseudo-seeds drawn from the
universe — so a value held by 2 of 3 seeds does not become a rule. A value whose shrunk lift is
≥ 1.5 and whose 90% Beta interval of the seed share lies above p is a provisional trait. Each
universe company's score is the sum of log shrunk lifts of its values (a naive-Bayes odds), so
lookalikes rank by how much they share what sets the seeds apart. The result is labelled
PROVISIONAL: it describes who the seeds are, not who wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from icpkit.enrich.link import best_matches, linkage_frame, one_per_company, predict_pairs

PRIOR_SEEDS = 20.0  # α: pseudo-seeds drawn from the universe's base rates
MIN_LIFT = 1.5


@dataclass(frozen=True)
class SeedTrait:
    attribute: str
    value: str
    seeds_with: int
    seeds: int
    universe_share: float
    shrunk_share: float
    lift: float
    low: float  # 5th percentile of the seed share's Beta posterior

    def text(self) -> str:
        return (
            f"{self.attribute} = {self.value}: {self.seeds_with} of {self.seeds} seeds vs "
            f"{self.universe_share:.1%} of the universe (shrunk lift {self.lift:.1f}×)"
        )


@dataclass(frozen=True)
class ProvisionalIcp:
    """Traits of the seeds against the universe, and the universe ranked by them."""

    seeds: int
    matched: int
    traits: list[SeedTrait]
    ranked: pl.DataFrame
    label: str = "PROVISIONAL ICP"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label, "seeds": self.seeds, "matched": self.matched,
            "prior_seeds": PRIOR_SEEDS, "traits": [t.__dict__ for t in self.traits],
            "notes": self.notes,
        }  # fmt: skip

    def lines(self) -> list[str]:
        head = (
            f"{self.label} — from {self.seeds} seed accounts ({self.matched} found in the "
            f"universe), not from won/lost outcomes; shrunk toward the universe's base rates "
            f"(α = {PRIOR_SEEDS:.0f} pseudo-seeds). Rebuild with `icpkit build` once the CRM has outcomes."
        )
        traits = [f"  {t.text()}" for t in self.traits] or ["  no value sets the seeds apart yet"]
        return [head, *traits, *self.notes]


def attribute_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The categorical attributes compared: industry, country, size band, founding decade."""

    def col(name: str, dtype: Any = pl.Utf8) -> pl.Series:
        if name in frame.columns:
            return frame[name].cast(dtype, strict=False)
        return pl.repeat(None, frame.height, dtype=dtype, eager=True)

    employees = col("employees", pl.Float64)
    size = pl.select(
        pl.when(employees.is_null())
        .then(None)
        .when(employees >= 5000)
        .then(pl.lit("5000+"))
        .when(employees >= 1000)
        .then(pl.lit("1000-4999"))
        .when(employees >= 200)
        .then(pl.lit("200-999"))
        .when(employees >= 50)
        .then(pl.lit("50-199"))
        .when(employees >= 10)
        .then(pl.lit("10-49"))
        .otherwise(pl.lit("1-9"))
    ).to_series()
    decade = (col("founded_year", pl.Int64) // 10 * 10).cast(pl.Utf8) + "s"
    return pl.DataFrame(
        {"industry": col("industry"), "country": col("country"), "size": size, "founded": decade}
    )


def provisional_icp(
    seeds: pl.DataFrame, universe: pl.DataFrame, *, threshold: float, top: int = 500
) -> ProvisionalIcp:
    """Link the seeds to the universe (``record_id`` ids), compare, and rank the universe."""
    companies = one_per_company(universe)
    seeds = seeds.with_columns(pl.col("account_id").cast(pl.Utf8))
    pairs, _ = predict_pairs(
        linkage_frame(seeds, "account_id", "crm"), linkage_frame(companies, "record_id", "universe")
    )
    found = best_matches(pairs, threshold)
    matched_ids = found["id_r"].to_list()
    seed_rows = companies.filter(pl.col("record_id").is_in(matched_ids))
    notes = []
    if found.height < seeds.height:
        notes.append(
            f"{seeds.height - found.height} seed(s) not found in the universe are left out"
        )
    uni = attribute_frame(companies)
    own = attribute_frame(seed_rows)
    n = own.height
    traits: list[SeedTrait] = []
    score = np.zeros(companies.height)
    for attribute in uni.columns:
        shares = uni[attribute].value_counts(normalize=True, name="share").drop_nulls(attribute)
        counts = dict(own[attribute].drop_nulls().value_counts().iter_rows())
        lifts: dict[str, float] = {}
        for value, p in shares.iter_rows():
            k = int(counts.get(value, 0))
            shrunk = (k + PRIOR_SEEDS * p) / (n + PRIOR_SEEDS)
            lift = shrunk / p
            lifts[value] = math.log(lift)
            low = float(stats.beta.ppf(0.05, k + PRIOR_SEEDS * p, n - k + PRIOR_SEEDS * (1 - p)))
            if lift >= MIN_LIFT and low > p:
                traits.append(SeedTrait(attribute, str(value), k, n, p, shrunk, lift, low))
        score += (
            uni[attribute].replace_strict(lifts, default=0.0, return_dtype=pl.Float64).to_numpy()
        )
    traits.sort(key=lambda t: -t.lift)
    ranked = (
        companies.with_columns(pl.Series("seed_score", np.round(score, 4)))
        .filter(~pl.col("record_id").is_in(matched_ids))
        .sort(["seed_score", "record_id"], descending=[True, False])
        .head(top)
        .with_columns(pl.lit("provisional").alias("icp_status"))
    )
    return ProvisionalIcp(seeds=seeds.height, matched=n, traits=traits, ranked=ranked, notes=notes)
