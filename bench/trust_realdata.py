"""Held-out AUC of icpkit's whole pipeline next to LightGBM and logistic regression, and what the
one-pager says about it, on two real exports (issue 11's before/after figures).

- Crunchbase startups as a lead list: one row per company, one closed "deal" per company (acquired
  = won, closed = lost), all on one date, so no out-of-time split exists.
- AWS SaaS sales order lines (docs/examples/aws-saas-sales): customers collapsed from order lines,
  every order won; "best" = top 20% by won profit.

For each, the same 5 folds (fixed by a hash of the account id) are used for every model: icpkit
is built with ``build_icp`` on the other folds' accounts and their deals and scores the held-out
accounts; LightGBM and logistic regression learn the same outcome from the same attributes. The
held-out target is the outcome (acquired) for Crunchbase and the full-data "best" label for AWS.
Then one full build is rendered and the one-pager's held-out banner (or its absence) is printed.
The script only uses APIs present before and after the issue-11 changes, so the same file measures
both:

    uv run --frozen python bench/trust_realdata.py [crunchbase] [aws]
    PYTHONPATH=/tmp/main-895eaa7/src .venv/bin/python bench/trust_realdata.py   # main at 895eaa7
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
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
from icpkit.config import config_from_dict, load_config
from icpkit.data.model import CrmData
from icpkit.outcomes import compute_outcomes
from icpkit.pipeline import Workspace, build_icp
from icpkit.report import ReportInput, render_html
from icpkit.scoring import score_frame

DATA = Path("/work/shared/datasets")
CRUNCHBASE = DATA / "crunchbase-startup-success" / "startup_data.csv"
AWS = DATA / "aws-saas-sales" / "SaaS-Sales.csv"
AWS_CONFIG = Path(__file__).resolve().parents[1] / "docs" / "examples" / "aws-saas-sales"
FOLDS = 5
DROP = ["Unnamed: 0", "Unnamed: 6", "id", "object_id", "name", "closed_at", "status"]
DROP += ["state_code.1", "zip_code", "labels"]


def folds_of(ids: list[str], y: np.ndarray, k: int = FOLDS) -> np.ndarray:
    """Stratified folds fixed by a hash of the id (independent of icpkit's version)."""
    fold = np.empty(len(ids), dtype=int)
    for cls in (0, 1):
        rows = [i for i in range(len(ids)) if y[i] == cls]
        rows.sort(key=lambda i: hashlib.sha256(ids[i].encode()).hexdigest())
        for j, i in enumerate(rows):
            fold[i] = j % k
    return fold


def baselines(train: pd.DataFrame, y: np.ndarray, test: pd.DataFrame) -> dict[str, np.ndarray]:
    empty = [c for c in train.columns if train[c].isna().all()]
    train, test = train.drop(columns=empty), test.drop(columns=empty)
    cats = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    nums = [c for c in train.columns if c not in cats]
    tr, te = train.copy(), test.copy()
    for c in cats:
        tr[c] = tr[c].astype("category")
        te[c] = pd.Categorical(te[c].where(te[c].isin(tr[c].cat.categories)), tr[c].cat.categories)
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
    logit = make_pipeline(pre, LogisticRegression(C=1.0, max_iter=2000)).fit(train, y)
    return {"lightgbm": gbm.predict_proba(te)[:, 1], "logistic": logit.predict_proba(test)[:, 1]}


def crunchbase() -> tuple[CrmData, np.ndarray, Any]:
    raw = pl.read_csv(CRUNCHBASE, infer_schema_length=None)
    y = (raw["status"] == "acquired").to_numpy().astype(int)
    frame = raw.drop([c for c in DROP if c in raw.columns])
    years = [c for c in ("founded_at", "first_funding_at", "last_funding_at") if c in frame.columns]
    frame = frame.with_columns(
        pl.col(c).str.strptime(pl.Date, "%m/%d/%Y", strict=False).dt.year().alias(c) for c in years
    )
    ids = [f"c{i:04d}" for i in range(raw.height)]
    accounts = frame.with_columns(pl.Series("account_id", ids)).select("account_id", *frame.columns)
    deals = pl.DataFrame(
        {
            "deal_id": ids,
            "account_id": ids,
            "stage": np.where(y == 1, "won", "lost"),
            "created_at": [date(2020, 1, 1)] * len(ids),
        }
    )
    return CrmData(accounts=accounts, deals=deals), y, config_from_dict({"name": "crunchbase"})


def aws() -> tuple[CrmData, np.ndarray, Any]:
    raw = load_config(AWS_CONFIG).model_dump(mode="json")
    for source in raw["sources"].values():
        source["path"] = str(AWS)
    config = config_from_dict(raw)
    crm = Workspace(root=AWS_CONFIG, config=config).load()
    labels = compute_outcomes(crm, config.success).labels_for(crm.accounts)
    return crm, (labels == "best").astype(int), config


def cross_validated(crm: CrmData, y: np.ndarray, config: Any) -> dict[str, float]:
    ids = crm.accounts["account_id"].cast(pl.Utf8).to_list()
    fold = folds_of(ids, y)
    attrs = [c for c in crm.accounts.columns if c not in ("account_id", "name")]
    table = crm.accounts.select(attrs).to_pandas()
    preds: dict[str, np.ndarray] = {}
    for f in range(FOLDS):
        held = pl.DataFrame({"account_id": [i for i, g in zip(ids, fold, strict=True) if g == f]})
        frames = {
            n: fr.join(held, on="account_id", how="anti") if "account_id" in fr.columns else fr
            for n, fr in crm.frames().items()
        }
        built = build_icp(CrmData(**frames), config, validate=False)
        test = fold == f
        scored = score_frame(built.profile, crm.accounts.filter(pl.Series(test)), reasons=False)
        preds.setdefault("icpkit", np.empty(len(y)))[test] = scored["fit_score"].to_numpy()
        for name, p in baselines(table[~test], y[~test], table[test]).items():
            preds.setdefault(name, np.empty(len(y)))[test] = p
    return {name: roc_auc_score(y, p) for name, p in preds.items()}


def one_pager(crm: CrmData, config: Any) -> list[str]:
    """What page 1 says about held-out evidence, and the evidence badges it shows."""
    profile = build_icp(crm, config).profile
    html = render_html(ReportInput(profile=profile), onepager_only=True)
    banner = re.search(r'<section id="held-out"[^>]*>(.*?)</section>', html, re.S)
    lines = []
    if banner:
        lines += [re.sub(r"<[^>]+>", "", p).strip() for p in re.findall(r"<p>(.*?)</p>", banner[1])]
    else:
        lines.append("(no held-out banner; page 1 shows no held-out result)")
    badges = re.findall(r'class="ev ev-(\w+)"', html)
    lines.append(
        "badges on page 1: "
        + (", ".join(f"{badges.count(b)} {b}" for b in sorted(set(badges))) or "none")
    )
    v = profile.validation
    lines.append(
        "stored validation: none"
        if v is None
        else f"stored validation: method {v.get('method', 'out-of-time')}, AUC "
        f"{(v.get('auc') or {}).get('value')}"
    )
    return lines


def main() -> None:
    print(f"icpkit from {Path(icpkit.__file__).parent}; {time.strftime('%Y-%m-%d %H:%M')} UTC")
    sets = {
        "crunchbase": ("Crunchbase (acquired vs closed, lead-list shape)", crunchbase),
        "aws": ("AWS SaaS sales (best by won profit)", aws),
    }
    for name, loader in (sets[k] for k in (sys.argv[1:] or list(sets))):
        start = time.perf_counter()
        crm, y, config = loader()
        aucs = cross_validated(crm, y, config)
        print(f"\n{name}: {crm.accounts.height} accounts, positive rate {y.mean():.3f}")
        ref = aucs["lightgbm"]
        for model, auc in aucs.items():
            print(f"  {model:10s} held-out AUC {auc:.4f}  ({auc - ref:+.4f} vs LightGBM)")
        for line in one_pager(crm, config):
            print(f"  one-pager: {line}")
        print(f"  ({time.perf_counter() - start:.0f} s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
