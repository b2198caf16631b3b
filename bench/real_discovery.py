"""The ICP icpkit finds on two real datasets, with its evidence (figures for bench/RESULTS.md).

Run: ``uv run --frozen python bench/real_discovery.py [DATASETS_DIR]`` (default ../shared/datasets).

- Maven CRM (85 accounts, 8,800 opportunities): success = won revenue and shrunk win rate, through
  icpkit.outcomes.compute_outcomes on the canonical tables built here.
- AWS SaaS sales (order lines): one customer per Customer ID with its Industry, Segment and most
  frequent Region/Country; success = total profit (top 20 % best, bottom 20 % worst).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig, SuccessConfig
from icpkit.data.model import CrmData
from icpkit.discovery import find_icp
from icpkit.outcomes import compute_outcomes

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
STAGES = {"Won": "won", "Lost": "lost", "Engaging": "open", "Prospecting": "open"}


def maven_crm(root: Path) -> tuple[pl.DataFrame, np.ndarray]:
    folder = root / "maven-crm-sales-opportunities"
    raw = pl.read_csv(folder / "accounts.csv")
    accounts = raw.select(
        pl.col("account").alias("account_id"),
        pl.col("sector").alias("industry"),
        pl.col("employees").cast(pl.Float64),
        (pl.col("revenue") * 1e6).alias("annual_revenue"),  # the file gives millions
        pl.col("year_established").alias("founded_year"),
        pl.col("office_location").alias("country"),
        pl.col("subsidiary_of"),
    )
    deals = (
        pl.read_csv(folder / "sales_pipeline.csv", try_parse_dates=True)
        .select(
            pl.col("opportunity_id").alias("deal_id"),
            pl.col("account").alias("account_id"),
            pl.col("engage_date").alias("created_at"),
            pl.col("close_date").alias("closed_at"),
            pl.col("deal_stage").replace_strict(STAGES).alias("stage"),
            pl.col("close_value").cast(pl.Float64).alias("amount"),
            pl.col("product"),
        )
        .filter(pl.col("account_id").is_not_null())
    )
    outcomes = compute_outcomes(CrmData(accounts=accounts, deals=deals), SuccessConfig())
    return accounts, outcomes.labels_for(accounts)


def saas_sales(root: Path) -> tuple[pl.DataFrame, np.ndarray]:
    lines = pl.read_csv(root / "aws-saas-sales" / "SaaS-Sales.csv")

    def most_frequent(name: str) -> pl.Expr:
        return pl.col(name).mode().first().alias(name.lower())

    accounts = (
        lines.group_by("Customer ID")
        .agg(
            pl.col("Industry").first().alias("industry"),
            pl.col("Segment").first().alias("segment"),
            most_frequent("Region"),
            most_frequent("Country"),
            pl.col("Profit").sum().alias("profit"),
        )
        .sort("Customer ID")
        .rename({"Customer ID": "account_id"})
    )
    profit = accounts["profit"].to_numpy()
    hi, lo = np.quantile(profit, [0.8, 0.2])
    labels = np.where(profit >= hi, "best", np.where(profit <= lo, "worst", "rest"))
    return accounts.drop("profit").with_columns(pl.col("account_id").cast(pl.Utf8)), labels


def show(title: str, accounts: pl.DataFrame, labels: np.ndarray) -> None:
    found = find_icp(accounts, labels, DiscoveryConfig.model_validate({}))
    counts = dict(zip(*np.unique(labels, return_counts=True), strict=True))
    print(f"## {title}: {accounts.height} accounts, labels {counts}")
    print(found.statement)
    for kind, rules in (("criterion", found.criteria), ("disqualifier", found.disqualifiers)):
        for r in rules:
            print(
                f"- {kind}: {r.rule} | support {r.support}, coverage {r.coverage:.2f}, "
                f"precision {r.precision:.2f}, lift {r.lift:.2f} [{r.lift_ci[0]:.2f}, "
                f"{r.lift_ci[1]:.2f}], holdout lift {r.holdout_lift}, q {r.q_value:.3f}, "
                f"evidence {r.evidence}"
            )
    for c in found.caveats:
        print(f"  caveat: {c}")
    print("  top single traits (best vs rest):")
    for t in found.single_traits[:3]:
        print(
            f"   {t['rule']}: share of best {t['share_best']:.2f} vs {t['share_not_best']:.2f}, "
            f"lift {t['lift_best']:.2f}, q {t['q_best']:.3f}"
        )
    print()


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    show("Maven CRM", *maven_crm(root))
    show("AWS SaaS sales", *saas_sales(root))


if __name__ == "__main__":
    main()
