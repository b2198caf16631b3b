"""Scorecard quality on real data, next to LightGBM and plain logistic regression in the same run.

- Maven CRM: deal-level won vs lost from the account's attributes (sector, size, revenue, age,
  office location, parent), trained on deals closed before a time cut (70% of closed deals) and
  measured on the deals closed after it.
- Crunchbase startup success: acquired vs closed from the company's attributes, with the leaky
  columns (closed_at, status, ids, names) dropped; 5-fold stratified cross-validation.

For each: AUC, log-loss, Brier score and expected calibration error (10 equal-width bins), and the
MadKudu bar on the held-out rows (share in Tier 1+2, share of successes they hold, Tier 1 ÷ Non-fit
success rate). icpkit's calibration variants (Platt on out-of-fold scores, isotonic, in-sample) are
measured side by side.

    uv run --frozen python bench/real_scoring.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from icpkit.config import DiscoveryConfig, ScoringConfig, TierConfig
from icpkit.discovery import find_icp
from icpkit.profile import IcpProfile
from icpkit.scoring import FitScorer, fit_scorecard_and_tiers, score_frame

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
MAVEN = DATA / "maven-crm-sales-opportunities"
CRUNCHBASE = DATA / "crunchbase-startup-success" / "startup_data.csv"
CRUNCHBASE_DROP = [
    "Unnamed: 0",
    "Unnamed: 6",
    "id",
    "object_id",
    "name",
    "closed_at",
    "status",
    "state_code.1",
    "zip_code",
]


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: mean |observed − predicted| over equal-width bins, weighted."""
    edges = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = edges == b
        if inside.any():
            total += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return total / len(y)


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "auc": roc_auc_score(y, p),
        "log_loss": log_loss(y, p),
        "brier": brier_score_loss(y, p),
        "ece": ece(y, p),
    }


def bar(tier: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    """The MadKudu bar on held-out rows: Tier 1+2 share, their share of successes, T1 ÷ Non-fit."""
    top = np.isin(tier, ["Tier 1", "Tier 2"])
    t1, nonfit = y[tier == "Tier 1"], y[tier == "Non-fit"]
    ratio = t1.mean() / nonfit.mean() if len(t1) and len(nonfit) and nonfit.mean() > 0 else None
    return {
        "tier12_share": top.mean(),
        "tier12_success_share": y[top].sum() / max(y.sum(), 1),
        "tier1_rate": t1.mean() if len(t1) else None,
        "nonfit_rate": nonfit.mean() if len(nonfit) else None,
        "tier1_over_nonfit": ratio,
    }


def baselines(
    train: pd.DataFrame, y_train: np.ndarray, test: pd.DataFrame
) -> dict[str, np.ndarray]:
    """LightGBM and one-hot logistic regression on the same attributes."""
    cats = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    nums = [c for c in train.columns if c not in cats]
    tr, te = train.copy(), test.copy()
    for c in cats:
        tr[c] = tr[c].astype("category")
        known = te[c].where(te[c].isin(tr[c].cat.categories))  # unseen levels → missing
        te[c] = pd.Categorical(known, categories=tr[c].cat.categories)
    gbm = lgb.LGBMClassifier(
        n_estimators=300,
        learning_rate=0.03,
        num_leaves=15,
        min_child_samples=20,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        verbose=-1,
        random_state=0,
    )
    gbm.fit(tr, y_train)
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=5),
                ),
                cats,
            ),
        ]
    )
    logit = make_pipeline(pre, LogisticRegression(C=1.0, max_iter=2000))
    logit.fit(train, y_train)
    return {"lightgbm": gbm.predict_proba(te)[:, 1], "logistic": logit.predict_proba(test)[:, 1]}


def icpkit_variants(
    train: pl.DataFrame, y: np.ndarray, test: pl.DataFrame
) -> dict[str, np.ndarray]:
    """Calibration variants of the default scorer, and the previous default (one-hot, C = 1)."""
    out = {}
    grid = tuple(ScoringConfig().regularization_grid)
    for calibration in ("sigmoid", "isotonic", "none"):
        scorer = FitScorer(
            random_state=0, calibration=calibration, numeric_encoding="steps", Cs=grid
        )
        out[f"icpkit ({calibration})"] = scorer.fit(train, y).predict_proba(test)[:, 1]
    old = FitScorer(random_state=0).fit(train, y)
    out["icpkit (onehot, C=1)"] = old.predict_proba(test)[:, 1]
    return out


def with_interactions(
    train: pl.DataFrame, y: np.ndarray, test: pl.DataFrame, k: int = 10
) -> np.ndarray:
    """The pipeline with discovered segments (found on the training rows only) as interactions."""
    found = find_icp(train, np.where(y == 1, "best", "worst"), DiscoveryConfig())
    rules = [s["rule"] for s in found.segments.to_dict()["segments"]]
    rules += [s["rule"] for s in found.disqualifier_segments.to_dict()["segments"]]
    labels = np.where(y == 1, "best", "rest")
    card, tiers = fit_scorecard_and_tiers(
        train, labels, [], [], ScoringConfig(interaction_segments=k), TierConfig(), segments=rules
    )
    return score_frame(IcpProfile(scorecard=card, tiers=tiers), test)["fit_probability"].to_numpy()


# ---------------------------------------------------------------------------------------------
# Maven CRM


def maven() -> dict[str, Any]:
    accounts = pl.read_csv(MAVEN / "accounts.csv").rename({"account": "account_id"})
    deals = (
        pl.read_csv(MAVEN / "sales_pipeline.csv", try_parse_dates=True)
        .filter(pl.col("deal_stage").is_in(["Won", "Lost"]) & pl.col("account").is_not_null())
        .select(
            pl.col("account").alias("account_id"),
            pl.col("deal_stage").str.to_lowercase().alias("stage"),
            "close_date",
        )
        .sort("close_date")
    )
    cut = deals["close_date"].quantile(0.7, "nearest")
    train_deals = deals.filter(pl.col("close_date") <= cut)
    test_deals = deals.filter(pl.col("close_date") > cut)
    attrs = [c for c in accounts.columns if c != "account_id"]
    rows_tr = train_deals.join(accounts, on="account_id")
    rows_te = test_deals.join(accounts, on="account_id")
    y_tr = (rows_tr["stage"] == "won").to_numpy().astype(int)
    y_te = (rows_te["stage"] == "won").to_numpy().astype(int)
    start = time.perf_counter()
    labels = np.array(["rest"] * accounts.height)
    card, tiers = fit_scorecard_and_tiers(
        accounts, labels, [], [], ScoringConfig(target="won"), TierConfig(), deals=train_deals
    )
    fit_seconds = time.perf_counter() - start
    profile = IcpProfile(scorecard=card, tiers=tiers)
    scored = score_frame(profile, rows_te.select("account_id", *attrs))
    preds = {"icpkit (pipeline)": scored["fit_probability"].to_numpy()}
    preds |= icpkit_variants(rows_tr.select(attrs), y_tr, rows_te.select(attrs))
    preds |= baselines(rows_tr.select(attrs).to_pandas(), y_tr, rows_te.select(attrs).to_pandas())
    return {
        "name": f"Maven CRM: won vs lost per deal, time split at {cut} "
        f"({len(y_tr)} train / {len(y_te)} test deals, {accounts.height} accounts, "
        f"test win rate {y_te.mean():.3f})",
        "metrics": {k: metrics(y_te, p) for k, p in preds.items()},
        "bar": bar(scored["tier"].to_numpy(), y_te),
        "fit_seconds": fit_seconds,
    }


# ---------------------------------------------------------------------------------------------
# Crunchbase


def crunchbase_frame() -> tuple[pl.DataFrame, np.ndarray]:
    raw = pl.read_csv(CRUNCHBASE, infer_schema_length=None)
    y = (raw["status"] == "acquired").to_numpy().astype(int)
    frame = raw.drop([c for c in CRUNCHBASE_DROP if c in raw.columns])
    years = [c for c in ("founded_at", "first_funding_at", "last_funding_at") if c in frame.columns]
    frame = frame.with_columns(
        pl.col(c).str.strptime(pl.Date, "%m/%d/%Y", strict=False).dt.year().alias(c) for c in years
    )
    return frame, y


def crunchbase(folds: int) -> dict[str, Any]:
    frame, y = crunchbase_frame()
    preds: dict[str, np.ndarray] = {}
    tiers = np.empty(len(y), dtype=object)
    split = StratifiedKFold(folds, shuffle=True, random_state=0)
    for train, test in split.split(np.zeros(len(y)), y):
        tr, te = frame[train], frame[test]
        labels = np.where(y[train] == 1, "best", "rest")
        card, tier_dict = fit_scorecard_and_tiers(tr, labels, [], [], ScoringConfig(), TierConfig())
        scored = score_frame(IcpProfile(scorecard=card, tiers=tier_dict), te)
        tiers[test] = scored["tier"].to_numpy()
        fold = {"icpkit (pipeline)": scored["fit_probability"].to_numpy()}
        fold |= icpkit_variants(tr, y[train], te)
        fold["icpkit (+10 segments)"] = with_interactions(tr, y[train], te)
        fold |= baselines(tr.to_pandas(), y[train], te.to_pandas())
        for k, p in fold.items():
            preds.setdefault(k, np.empty(len(y)))[test] = p
    return {
        "name": f"Crunchbase startups: acquired vs closed ({len(y)} companies, {folds}-fold CV, "
        f"{frame.width} attributes, acquired rate {y.mean():.3f})",
        "metrics": {k: metrics(y, p) for k, p in preds.items()},
        "bar": bar(tiers.astype(str), y),
    }


def show(result: dict[str, Any]) -> None:
    print(f"\n{result['name']}")
    print(f"  {'model':24s} {'AUC':>7s} {'logloss':>8s} {'Brier':>7s} {'ECE':>7s}")
    for name, m in result["metrics"].items():
        print(
            f"  {name:24s} {m['auc']:7.4f} {m['log_loss']:8.4f} {m['brier']:7.4f} {m['ece']:7.4f}"
        )
    gap = result["metrics"]["lightgbm"]["auc"] - result["metrics"]["icpkit (pipeline)"]["auc"]
    print(f"  AUC gap to LightGBM: {gap:+.4f} (goal ≤ 0.02)")
    b = result["bar"]
    ratio = "n/a" if b["tier1_over_nonfit"] is None else f"{b['tier1_over_nonfit']:.1f}×"
    print(
        f"  MadKudu bar: Tier 1+2 hold {b['tier12_share']:.1%} of rows and "
        f"{b['tier12_success_share']:.1%} of successes (goal ≥ 60%); Tier 1 ÷ Non-fit success "
        f"rate {ratio} (Tier 1 {b['tier1_rate']}, Non-fit {b['nonfit_rate']}; goal ≥ 10×)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 folds on Crunchbase")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} not found: the real datasets are needed")
    show(maven())
    show(crunchbase(3 if args.quick else 5))


if __name__ == "__main__":
    main()
