"""Lookalikes on a planted universe: mean true win probability of the top k ÷ the universe mean.

The synthetic universe (``make_universe``) carries each company's true win probability, disguised
variants of the CRM's customers and duplicate listings. Prints the curve for k = 50 … 500, with and
without the description part, and how many customer variants were excluded.

    uv run --frozen python bench/lookalikes_precision.py [--crm-seed 7] [--universe-seed 3]
"""

from __future__ import annotations

import argparse

import polars as pl

from icpkit.config import WorkspaceConfig
from icpkit.datasets import make_crm, make_universe
from icpkit.lookalikes import rank_universe
from icpkit.pipeline import build_icp

KS = (50, 100, 250, 500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crm-seed", type=int, default=7)
    parser.add_argument("--universe-seed", type=int, default=3)
    parser.add_argument("--companies", type=int, default=20_000)
    args = parser.parse_args()
    crm = make_crm(3000, seed=args.crm_seed)
    profile = build_icp(crm.to_crm_data(), WorkspaceConfig(), validate=False).profile
    universe = make_universe(crm, args.companies, seed=args.universe_seed)
    others = universe.filter(pl.col("customer_variant_of").is_null())
    base = others["p_win_true"].mean()
    ceiling = others["p_win_true"].sort(descending=True).head(max(KS)).mean()
    variants = universe["customer_variant_of"].drop_nulls().len()
    print(
        f"universe {universe.height:,} companies, {variants} customer variants; mean p_win {base:.4f}"
    )
    for label, weight in (("with descriptions", 0.5), ("without descriptions", 0.0)):
        result = rank_universe(
            profile, universe, crm.to_crm_data(), top=max(KS), text_weight=weight
        )
        top = result.frame
        curve = ", ".join(f"k={k}: {top.head(k)['p_win_true'].mean() / base:.2f}×" for k in KS)
        print(
            f"  {label}: {curve} (ceiling at k=500: {ceiling / base:.2f}×); "
            f"{result.n_excluded} of {variants} variants excluded; "
            f"{top['customer_variant_of'].drop_nulls().len()} variants in the list"
        )


if __name__ == "__main__":
    main()
