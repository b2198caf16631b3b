"""(usnull, issue 28) Are the features with no planted effect independent of the outcomes in the
generator? Many seeds, direct from the tables: the count of one event per account (default the
null feature, theme_changed; pass integration_connected as a third argument for the other).

    PYTHONPATH=src python bench/usage_null_generator.py FIRST_SEED END_SEED [EVENT]
"""

import sys

import numpy as np
import polars as pl
from scipy import stats

from icpkit.datasets.synthetic.usage import make_usage_crm

EVENT = sys.argv[3] if len(sys.argv) > 3 else "theme_changed"
ps_won, ps_ren = [], []
for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    s = make_usage_crm(3000, seed=seed)
    theme = (
        s.events.filter(pl.col("event") == EVENT)
        .with_columns(pl.col("user_id").str.split("@").list.get(1).alias("domain"))
        .group_by("domain")
        .len()
    )
    acc = (
        s.accounts.select("account_id", "domain")
        .join(theme, on="domain", how="left")
        .with_columns(pl.col("len").fill_null(0))
    )
    won = (
        s.deals.filter(pl.col("stage").is_in(["won", "lost"]))
        .group_by("account_id")
        .agg((pl.col("stage") == "won").any().alias("won"))
    )
    ren = s.subscriptions.group_by("account_id").agg(pl.col("end").is_null().any().alias("ren"))
    f = acc.join(won, on="account_id").join(ren, on="account_id", how="left")
    x = f["len"].to_numpy()
    w = f["won"].to_numpy()
    ps_won.append(stats.mannwhitneyu(x[w], x[~w]).pvalue)
    g = f.filter(pl.col("ren").is_not_null())
    r = g["ren"].to_numpy()
    y = g["len"].to_numpy()
    ps_ren.append(stats.mannwhitneyu(y[r], y[~r]).pvalue)
    print(seed, round(ps_won[-1], 3), round(ps_ren[-1], 3), flush=True)
for name, ps in (("won", ps_won), ("renewed", ps_ren)):
    ps = np.array(ps)
    print(
        name,
        "n",
        ps.size,
        "share p<0.05",
        (ps < 0.05).mean(),
        "KS vs uniform p",
        stats.kstest(ps, "uniform").pvalue,
    )
