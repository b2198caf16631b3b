"""PQA held-out check on the synthetic product-led CRM over several seeds (issue 28): the share of
later conversions held by the top 30 % by PQA (MadKudu: ≥ 60 %) and the top band ÷ low band
conversion rate (MadKudu: ≥ 10×), beside fit alone (0.6 Software / 0.3 otherwise, the planted
firmographic effect) and usage alone (fit = 1). Cut: 90 days before the data end, horizon 60 days.

    PYTHONPATH=src python bench/usage_pqa_seeds.py 10000 1 2 3 4 5
"""

from __future__ import annotations

import dataclasses
import sys
import time
from datetime import timedelta

import polars as pl

from icpkit.config import UsageConfig
from icpkit.datasets.synthetic.usage import USAGE_SETTINGS, make_usage_crm
from icpkit.usage.mapping import map_accounts
from icpkit.usage.pqa import pqa_check

n = int(sys.argv[1])
for seed in [int(x) for x in sys.argv[2:]]:
    t = time.perf_counter()
    s = make_usage_crm(n, seed=seed)
    crm = s.to_crm_data()
    crm = dataclasses.replace(crm, usage=map_accounts(crm.usage, crm.accounts, crm.contacts))
    fit = crm.accounts.select(
        "account_id", (0.3 + 0.3 * (pl.col("industry") == "Software")).alias("fit_probability")
    )
    settings = UsageConfig.model_validate(USAGE_SETTINGS)
    c = pqa_check(crm, settings, s.as_of - timedelta(days=90), fit)
    one = crm.accounts.select("account_id", pl.lit(1.0).alias("fit_probability"))
    u = pqa_check(crm, settings, s.as_of - timedelta(days=90), one)
    print(
        f"| {seed} | {c.accounts} | {c.conversions} | {c.top30_share_pqa:.0%} / {c.top30_share_fit:.0%} | {c.top_vs_bottom_pqa or float('nan'):.1f}× / {c.top_vs_bottom_fit or float('nan'):.1f}× | usage alone {u.top30_share_pqa:.0%}, {u.top_vs_bottom_pqa or float('nan'):.1f}× | {time.perf_counter() - t:.0f}s",
        flush=True,
    )
