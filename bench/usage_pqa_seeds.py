"""PQA held-out check on the synthetic product-led CRM over several seeds (issue 28).

Per seed: the accounts open at the cut (90 days before the data end, ≥ 14 days old), scored on
what was known then, and their conversions in the next 60 days. Printed for the PQA model, fit
alone (0.6 Software / 0.3 otherwise: the planted firmographic effect) and usage alone (no fit):

- the share of later conversions held by the top 30 % (MadKudu: ≥ 60 %);
- the conversion rate of the top 10 % (very high + high) ÷ the low band (MadKudu: ≥ 10×), and of
  the published top band alone (very high, top 1 %) ÷ low, each with its 95 % interval;
- the **oracle**: the same accounts ranked by their true probability of converting after the cut
  (the generator's hidden conversion probability and window, updated on still being open:
  ``conversion_posterior``) — the best ranking any model could make. Its realised ratio, its
  expected ratio (Σq per band), and over 2,000 redraws of the outcomes from q the median ratio
  and the share of redraws ≥ 10×: whether 10× is attainable on this generator at all.

Last: band sizes and conversions of each seed, CPU seconds (getrusage) per seed, and the band
ratios of every seed's accounts pooled (one interval from all of them).

    PYTHONPATH=src python bench/usage_pqa_seeds.py 10000 1 2 3 4 5
"""

from __future__ import annotations

import dataclasses
import resource
import sys
import time
from datetime import timedelta

import numpy as np
import polars as pl

from icpkit.config import UsageConfig
from icpkit.datasets.synthetic.usage import (
    USAGE_SETTINGS,
    conversion_posterior,
    make_usage_crm,
)
from icpkit.usage.mapping import map_accounts
from icpkit.usage.pqa import conversions, open_accounts, pqa_check, ratio_interval

DRAWS = 2000


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def fmt(ratio: float | None, ci: tuple[float, float] | None) -> str:
    r = "n/a" if ratio is None else f"{ratio:.1f}×"
    if ci is None:
        return r
    return f"{r} [{ci[0]:.1f}, {'∞' if ci[1] == float('inf') else f'{ci[1]:.0f}'}]"


def band_ratio(converted: np.ndarray, top: int, low_from: int) -> np.ndarray:
    """Per draw (rows): rate of the first ``top`` ranks ÷ rate from rank ``low_from`` on."""
    hi = converted[:, :top].mean(axis=1)
    lo = converted[:, low_from:].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lo > 0, hi / lo, np.inf)


n = int(sys.argv[1])
rows, oracle_rows, band_rows = [], [], []
pooled = np.zeros((4, 2), dtype=np.int64)  # per band: conversions, accounts (all seeds)
settings = UsageConfig.model_validate(USAGE_SETTINGS)
for seed in [int(x) for x in sys.argv[2:]]:
    t, c0 = time.perf_counter(), cpu()
    s = make_usage_crm(n, seed=seed)
    crm = s.to_crm_data()
    crm = dataclasses.replace(crm, usage=map_accounts(crm.usage, crm.accounts, crm.contacts))
    fit = crm.accounts.select(
        "account_id", (0.3 + 0.3 * (pl.col("industry") == "Software")).alias("fit_probability")
    )
    cut = s.as_of - timedelta(days=90)
    c = pqa_check(crm, settings, cut, fit)
    u = pqa_check(crm, settings, cut, None)
    rows.append(
        f"| {seed} | {c.accounts} | {c.conversions} "
        f"| {c.top30_share_pqa:.0%} / {c.top30_share_fit:.0%} / {u.top30_share_pqa:.0%} "
        f"| {fmt(c.top_vs_bottom_pqa, c.top_vs_bottom_pqa_ci)} "
        f"| {fmt(c.top_vs_bottom_fit, c.top_vs_bottom_fit_ci)} "
        f"| {fmt(u.top_vs_bottom_pqa, u.top_vs_bottom_pqa_ci)} "
        f"| {fmt(c.very_high_vs_low_pqa, c.very_high_vs_low_pqa_ci)} "
        f"| {fmt(c.very_high_vs_low_fit, c.very_high_vs_low_fit_ci)} |"
    )
    pooled += [[b.conversions, b.accounts] for b in c.bands]
    band_rows.append(
        f"| {seed} | "
        + " | ".join(f"{b.conversions}/{b.accounts} ({b.rate:.0%})" for b in c.bands)
        + f" | {cpu() - c0:.0f} s CPU, {time.perf_counter() - t:.0f} s wall |"
    )
    # the oracle on the same population
    ids = open_accounts(crm, cut)["account_id"]  # the population pqa_check scored
    truth = conversion_posterior(s, cut, ids)
    won = set(conversions(crm, cut, 60)["account_id"].to_list())
    order = truth.with_columns(pl.col("account_id").hash(seed=28).alias("_tie")).sort(
        ["q", "_tie"], descending=[True, False]
    )
    q = order["q"].to_numpy()
    real = np.array([a in won for a in order["account_id"]], dtype=float)[None, :]
    m = len(q)
    top1, top10, top30 = (int(np.floor(m * f)) for f in (0.01, 0.10, 0.30))
    draws = (np.random.default_rng(seed).random((DRAWS, m)) < q).astype(float)
    r10, r1 = band_ratio(draws, top10, top30), band_ratio(draws, top1, top30)
    oracle_rows.append(
        f"| {seed} | {real[0, :top30].sum() / max(real.sum(), 1):.0%} "
        f"| {band_ratio(real, top10, top30)[0]:.1f}× "
        f"| {q[:top10].mean() / q[top30:].mean():.1f}× "
        f"| {np.median(r10):.1f}× ({np.mean(r10 >= 10):.0%} ≥ 10×) "
        f"| {band_ratio(real, top1, top30)[0]:.1f}× "
        f"| {q[:top1].mean() / q[top30:].mean():.1f}× "
        f"| {np.median(r1):.1f}× ({np.mean(r1 >= 10):.0%} ≥ 10×) "
        f"| {q.sum():.0f} vs {int(real.sum())} |"
    )
    print(rows[-1], flush=True)

print(
    "\n| seed | open | conv. | top 30% share PQA / fit / usage | top 10% ÷ low PQA [95%] "
    "| fit alone | usage alone | top 1% ÷ low PQA [95%] | fit alone |"
)
print("|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
print(
    "\n| seed | oracle top 30% share | oracle top 10% ÷ low, realised | expected | median "
    "of redraws | oracle top 1% ÷ low, realised | expected | median of redraws "
    "| Σq vs conversions |"
)
print("|---|---|---|---|---|---|---|---|---|")
print("\n".join(oracle_rows))
print("\n| seed | very high | high | medium | low (PQA: converted/accounts) | cost |")
print("|---|---|---|---|---|---|")
print("\n".join(band_rows))
# every seed's bands summed: one ratio with the interval of all the accounts the seeds scored
(vh, n_vh), (top_h, n_h), _, (low, n_low) = pooled.tolist()
for name, a, n1 in (("very high (top 1 %)", vh, n_vh), ("top 10 %", vh + top_h, n_vh + n_h)):
    ci = ratio_interval(a, n1, low, n_low)
    print(
        f"\npooled over the seeds, {name} ÷ low: {a}/{n1} vs {low}/{n_low} = "
        f"{fmt((a / n1) / (low / n_low) if low else None, ci)}"
    )
