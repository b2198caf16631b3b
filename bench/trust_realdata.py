"""The leakage guard and page 1's verdict on every real export in ../shared/datasets, with icpkit's
held-out AUC beside LightGBM and logistic regression on the same split and the same columns.

Each dataset is loaded the way a user's export would be (no columns dropped by hand except the
outcome itself and identifiers that carry personal data), so the guard has to find the leaks on
its own:

- crunchbase-startup-success: one row per startup, acquired = won, closed = lost (a lead list);
  ``labels`` (a copy of the outcome), ``closed_at`` and the row index stay in.
- aws-saas-sales: order lines collapsed to customers (docs/examples config); best = top 20% by won
  profit.
- bg-telecom-b2b-churn: one row per business customer, retained = won, churned = lost; the
  key-account manager (KA_name) stays in. PID is dropped (personal numbers of sole traders).
- uci-bank-marketing-additional: one row per called client, subscribed = won; the call
  ``duration`` (known only after the call) stays in.
- maven-crm-sales-opportunities: accounts and deals (the maven preset); best = top 20% by won
  revenue (every account has a win).
- crunchbase-2015-acquisitions: acquirers as accounts (firmographics of their first row), each
  acquisition a won deal; best = the top 20% by number of acquisitions.

Per dataset: every column the guard excludes (high risk) or keeps with a warning (medium), the
held-out AUC of icpkit's fit score, LightGBM and logistic regression (same folds — a hash of the
account id — and the same columns icpkit chose on the training folds), LightGBM on every column
(what the excluded columns would have given), the expected calibration error of icpkit's
``fit_probability`` and of the logistic regression (10 equal-width bins), the share of accounts
and of conversions in Tier 1+2 on the held-out rows, and what page 1 of a full build says.

    PYTHONPATH=src .venv/bin/python bench/trust_realdata.py [--folds 3] [DATASET ...]
"""

from __future__ import annotations

import argparse
import hashlib
import html as html_text
import re
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import icpkit
from icpkit.config import WorkspaceConfig, config_from_dict, load_config
from icpkit.data import crm_from_frames
from icpkit.data.guard import screen_attributes
from icpkit.data.model import CrmData
from icpkit.outcomes import compute_outcomes
from icpkit.pipeline import Workspace, build_icp
from icpkit.report import ReportInput, render_html
from icpkit.scoring import score_frame

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
if not DATA.exists():
    DATA = Path("/work/shared/datasets")
AWS_CONFIG = Path(__file__).resolve().parents[1] / "docs" / "examples" / "aws-saas-sales"
Loaded = tuple[CrmData, np.ndarray, WorkspaceConfig]


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: mean |observed − predicted| over equal-width bins, weighted."""
    edges = np.minimum((np.clip(p, 0, 1) * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        rows = edges == b
        if rows.any():
            total += rows.sum() * abs(float(y[rows].mean()) - float(p[rows].mean()))
    return total / len(y)


def folds_of(ids: list[str], y: np.ndarray, k: int) -> np.ndarray:
    """Stratified folds fixed by a hash of the id (independent of icpkit and of row order)."""
    fold = np.empty(len(ids), dtype=int)
    for cls in (0, 1):
        rows = [i for i in range(len(ids)) if y[i] == cls]
        rows.sort(key=lambda i: hashlib.sha256(ids[i].encode()).hexdigest())
        for j, i in enumerate(rows):
            fold[i] = j % k
    return fold


def baselines(
    train: pd.DataFrame, y: np.ndarray, test: pd.DataFrame, logistic: bool = True
) -> dict[str, np.ndarray]:
    empty = [c for c in train.columns if train[c].isna().all()]
    train, test = train.drop(columns=empty), test.drop(columns=empty)
    cats = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    nums = [c for c in train.columns if c not in cats]
    tr, te = train.copy(), test.copy()
    for c in cats:
        tr[c] = tr[c].astype(str).where(tr[c].notna()).astype("category")
        te[c] = pd.Categorical(
            te[c].astype(str).where(te[c].notna() & te[c].astype(str).isin(tr[c].cat.categories)),
            tr[c].cat.categories,
        )
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
    gbm.fit(tr, y)
    out = {"lightgbm": gbm.predict_proba(te)[:, 1]}
    if logistic:
        for c in cats:
            train[c], test[c] = train[c].astype(str), test[c].astype(str)
        pre = ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
                ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5), cats),
            ]
        )
        logit = make_pipeline(pre, LogisticRegression(C=1.0, max_iter=2000)).fit(train, y)
        out["logistic"] = logit.predict_proba(test)[:, 1]
    return out


def lead_list(accounts: pl.DataFrame, won: np.ndarray, name: str) -> Loaded:
    """A one-row-per-lead table with its outcome as one closed deal per row."""
    # ids without digits or order: the guard must not read a sequence into the bench's own ids
    ids = [
        "".join(chr(97 + b % 26) for b in hashlib.sha256(str(i).encode()).digest()[:10])
        for i in range(accounts.height)
    ]
    accounts = accounts.with_columns(pl.Series("account_id", ids)).select(
        "account_id", pl.exclude("account_id")
    )
    deals = pl.DataFrame(
        {
            "deal_id": ids,
            "account_id": ids,
            "stage": np.where(won, "won", "lost"),
            "created_at": [date(2020, 1, 1)] * len(ids),
        }
    )
    crm = crm_from_frames({"accounts": accounts, "deals": deals}, name=name)
    return crm, won.astype(int), config_from_dict({"name": name})


def crunchbase() -> Loaded:
    raw = pl.read_csv(
        DATA / "crunchbase-startup-success" / "startup_data.csv", infer_schema_length=None
    )
    won = (raw["status"] == "acquired").to_numpy()
    return lead_list(raw.drop("status"), won, "crunchbase-startup-success")


def telecom() -> Loaded:
    raw = pl.read_csv(
        DATA / "bg-telecom-b2b-churn" / "Baza_customer_Telecom_v2.csv", infer_schema_length=None
    )
    won = (raw["CHURN"] == "No").to_numpy()  # a retained customer is the success
    return lead_list(raw.drop("CHURN", "PID"), won, "bg-telecom-b2b-churn")


def bank() -> Loaded:
    path = DATA / "uci-bank-marketing-additional" / "bank-additional.csv"
    raw = pl.read_csv(path, separator=";", infer_schema_length=None)
    return lead_list(raw.drop("y"), (raw["y"] == "yes").to_numpy(), "uci-bank-marketing")


def _best(crm: CrmData, config: WorkspaceConfig) -> np.ndarray:
    labels = compute_outcomes(crm, config.success).labels_for(crm.accounts)
    return (np.asarray(labels) == "best").astype(int)


def aws() -> Loaded:
    raw = load_config(AWS_CONFIG).model_dump(mode="json")
    for source in raw["sources"].values():
        source["path"] = str(DATA / "aws-saas-sales" / "SaaS-Sales.csv")
    raw["data_dirs"] = [str(DATA / "aws-saas-sales")]
    config = config_from_dict(raw)
    crm = Workspace(root=AWS_CONFIG, config=config).load()
    return crm, _best(crm, config), config


def maven() -> Loaded:
    folder = DATA / "maven-crm-sales-opportunities"
    config = config_from_dict(
        {
            "name": "maven",
            "preset": "maven",
            "data_dirs": [str(folder)],
            "sources": {
                "accounts": {"path": str(folder / "accounts.csv")},
                "deals": {"path": str(folder / "sales_pipeline.csv")},
                "products": {"path": str(folder / "products.csv")},
            },
        }
    )
    crm = Workspace(root=folder, config=config).load()
    return crm, _best(crm, config), config


def acquisitions() -> Loaded:
    raw = pl.read_csv(
        DATA / "crunchbase-2015-acquisitions" / "acquisitions.csv", infer_schema_length=None
    ).filter(pl.col("acquirer_permalink").is_not_null())
    side = [c for c in raw.columns if c.startswith("acquirer_") and c != "acquirer_name"]
    accounts = (
        raw.select(side)
        .unique("acquirer_permalink", keep="first", maintain_order=True)
        .rename({"acquirer_permalink": "account_id"})
    )
    on = pl.col("acquired_at").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    deals = raw.select(
        pl.int_range(pl.len()).cast(pl.Utf8).alias("deal_id"),
        pl.col("acquirer_permalink").alias("account_id"),
        pl.lit("won").alias("stage"),
        on.alias("created_at"),
        on.alias("closed_at"),
        pl.col("price_amount").cast(pl.Float64, strict=False).fill_null(0.0).alias("amount"),
    ).filter(pl.col("created_at").is_not_null())
    crm = crm_from_frames({"accounts": accounts, "deals": deals}, name="acquisitions")
    config = config_from_dict({"name": "acquisitions", "success": {"metrics": [{"name": "n_won"}]}})
    return crm, _best(crm, config), config


SETS: dict[str, tuple[str, Callable[[], Loaded]]] = {
    "crunchbase": ("crunchbase-startup-success (acquired vs closed, lead list)", crunchbase),
    "telecom": ("bg-telecom-b2b-churn (retained vs churned)", telecom),
    "bank": ("uci-bank-marketing-additional (subscribed vs not, B2C)", bank),
    "aws": ("aws-saas-sales (best by won profit)", aws),
    "maven": ("maven-crm-sales-opportunities (best by won revenue)", maven),
    "acquisitions": (
        "crunchbase-2015-acquisitions (acquirers, best by acquisitions)",
        acquisitions,
    ),
}


def _train_frames(crm: CrmData, held: list[str]) -> CrmData:
    out = pl.DataFrame(
        {"account_id": held}, schema={"account_id": crm.accounts["account_id"].dtype}
    )
    frames = {
        n: fr.join(out, on="account_id", how="anti") if "account_id" in fr.columns else fr
        for n, fr in crm.frames().items()
    }
    return CrmData(**frames)


def cross_validated(crm: CrmData, y: np.ndarray, config: WorkspaceConfig, k: int) -> dict[str, Any]:
    ids = crm.accounts["account_id"].cast(pl.Utf8).to_list()
    fold = folds_of(ids, y, k)
    every = [c for c in crm.accounts.columns if c != "account_id"]
    table = crm.accounts.select(every).to_pandas()
    preds: dict[str, np.ndarray] = {}
    prob = np.full(len(y), np.nan)
    top = np.zeros(len(y), dtype=bool)
    for f in range(k):
        test = fold == f
        train = _train_frames(crm, [i for i, t in zip(ids, test, strict=True) if t])
        built = build_icp(train, config, validate=False, themes=False)
        labels = compute_outcomes(train, config.success).labels_for(train.accounts)
        chosen = list(
            screen_attributes(train.accounts, train.deals, labels, config.discovery).choice.columns
        )
        scored = score_frame(built.profile, crm.accounts.filter(pl.Series(test)), reasons=False)
        preds.setdefault("icpkit", np.empty(len(y)))[test] = scored["fit_score"].to_numpy()
        if "fit_probability" in scored.columns:
            prob[test] = scored["fit_probability"].cast(pl.Float64).to_numpy()
        top[test] = scored["tier"].cast(pl.Utf8).is_in(["Tier 1", "Tier 2"]).to_numpy()
        for name, p in baselines(
            table.loc[~test, chosen], y[~test], table.loc[test, chosen]
        ).items():
            preds.setdefault(name, np.empty(len(y)))[test] = p
        alone = baselines(table.loc[~test, every], y[~test], table.loc[test, every], logistic=False)
        preds.setdefault("lightgbm, every column", np.empty(len(y)))[test] = alone["lightgbm"]
    return {
        "auc": {name: roc_auc_score(y, p) for name, p in preds.items()},
        "ece": {
            "icpkit fit_probability": None if np.isnan(prob).any() else ece(y, prob),
            "logistic": ece(y, preds["logistic"]),
        },
        "tier12": (float(top.mean()), float(y[top].sum() / max(y.sum(), 1))),
    }


def one_pager(crm: CrmData, config: WorkspaceConfig) -> tuple[list[str], Any]:
    """What page 1 says about the held-out evidence (its verdict), and the profile."""
    profile = build_icp(crm, config, themes=False).profile
    html = render_html(ReportInput(profile=profile), onepager_only=True)
    banner = re.search(
        r'<section id="held-out"[^>]*data-status="([^"]*)"[^>]*>(.*?)</section>', html, re.S
    )
    if banner:
        lines = [f"status {banner[1]}"]
        lines += [
            html_text.unescape(re.sub(r"<[^>]+>", "", p)).strip()
            for p in re.findall(r"<p>(.*?)</p>", banner[2], re.S)
        ]
    else:
        lines = ["(no held-out banner: page 1 shows no held-out result)"]
    return lines, profile


def report(key: str, folds: int) -> None:
    title, loader = SETS[key]
    start = time.perf_counter()
    crm, y, config = loader()
    print(f"\n## {title}\n{crm.accounts.height} accounts, positive rate {y.mean():.3f}")
    labels = compute_outcomes(crm, config.success).labels_for(crm.accounts)
    screening = screen_attributes(crm.accounts, crm.deals, labels, config.discovery)
    for risk in screening.risks:
        if risk.level != "low":
            auc = "" if risk.auc is None else f" [AUC {risk.auc:.2f}]"
            print(f"  {risk.level:6s} {risk.column}{auc}: {risk.reason}")
    for e in screening.choice.excluded:
        if e.code == "pii":
            print(f"  pii    {e.column}: {e.reason}")
    print(f"  attributes used: {', '.join(screening.choice.columns)}")
    result = cross_validated(crm, y, config, folds)
    ref = result["auc"]["lightgbm"]
    for model, auc in result["auc"].items():
        print(f"  held-out AUC {model:24s} {auc:.3f}  ({auc - ref:+.3f} vs LightGBM)")
    for model, value in result["ece"].items():
        print(f"  ECE {model:24s} " + ("n/a" if value is None else f"{value:.3f}"))
    share, caught = result["tier12"]
    print(f"  Tier 1+2: {share:.0%} of held-out accounts, {caught:.0%} of their conversions")
    lines, profile = one_pager(crm, config)
    for line in lines:
        print(f"  page 1: {line}")
    ece_profile = getattr(profile, "calibration", None)
    if ece_profile is not None:
        print(f"  profile calibration: {ece_profile}")
    print(f"  ({time.perf_counter() - start:.0f} s, {folds} folds)")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", help=f"datasets (default: all): {', '.join(SETS)}")
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()
    print(f"icpkit from {Path(icpkit.__file__).parent}; {time.strftime('%Y-%m-%d %H:%M')} UTC")
    unknown = [s for s in args.sets if s not in SETS]
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; expected some of {list(SETS)}")
    for key in args.sets or list(SETS):
        try:
            report(key, args.folds)
        except Exception as exc:  # a bench keeps going: one dataset's failure is a finding
            print(f"  FAILED: {type(exc).__name__}: {str(exc)[:400]}")


if __name__ == "__main__":
    main()
