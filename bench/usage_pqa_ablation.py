"""Where the PQA model's lift comes from (issue 28): the held-out check of bench/usage_pqa_seeds.py
with the model restricted to the planted observables — first value within 1/3/7/14 days,
breadth so far, users, integrations, trial age and fit — i.e. without the per-event decayed rates
and breadth per day. If this lands on the planted-effects oracle (usage_pqa_seeds.py, second
table) and the full model above it, the difference is the model reading activity rates.

    PYTHONPATH=src python bench/usage_pqa_ablation.py 10000 1 2 3 4 5
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import timedelta

import polars as pl

import icpkit.usage.pqa as pqa
from icpkit.config import UsageConfig
from icpkit.datasets.synthetic.usage import USAGE_SETTINGS, make_usage_crm
from icpkit.usage.mapping import map_accounts

full_features = pqa._features


def planted_only(snap, settings, names, tau):  # type: ignore[no-untyped-def]
    frame, columns = full_features(snap, settings, [], tau)
    columns = [c for c in columns if c != "breadth_per_log_day"]
    return frame.select("account_id", *columns), columns


pqa._features = planted_only  # type: ignore[assignment]
pqa.DECAYS = (float("inf"),)  # no event rates: the decay has nothing to act on
settings = UsageConfig.model_validate(USAGE_SETTINGS)
n = int(sys.argv[1])
print("| seed | top 30% share | top 10% ÷ low [95%] | top 1% ÷ low | bands (converted/accounts) |")
print("|---|---|---|---|---|")
for seed in [int(x) for x in sys.argv[2:]]:
    s = make_usage_crm(n, seed=seed)
    crm = s.to_crm_data()
    crm = dataclasses.replace(crm, usage=map_accounts(crm.usage, crm.accounts, crm.contacts))
    fit = crm.accounts.select(
        "account_id", (0.3 + 0.3 * (pl.col("industry") == "Software")).alias("fit_probability")
    )
    c = pqa.pqa_check(crm, settings, s.as_of - timedelta(days=90), fit)
    ci = c.top_vs_bottom_pqa_ci or (float("nan"), float("nan"))
    print(
        f"| {seed} | {c.top30_share_pqa:.0%} | {c.top_vs_bottom_pqa or float('nan'):.1f}× "
        f"[{ci[0]:.1f}, {ci[1]:.0f}] | {c.very_high_vs_low_pqa or float('nan'):.1f}× | "
        + ", ".join(f"{b.conversions}/{b.accounts}" for b in c.bands)
        + " |",
        flush=True,
    )
