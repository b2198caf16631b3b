"""(usnull, issue 28) Under a pure null: replace the null feature with a fresh independent draw, run find_icp, count
false positives. usage: nullsim.py REPS SEED... (traits-only if env TRAITS_ONLY=1)"""

import os
import pickle
import resource
import sys
import time

import numpy as np
import polars as pl
from scipy.stats import binomtest

from icpkit.discovery import find_icp
from icpkit.discovery.attributes import attribute_columns, condition_table
from icpkit.discovery.traits import single_traits

NULL = "usage_count_theme_changes"
reps = int(sys.argv[1])
seeds = [int(s) for s in sys.argv[2:]]
traits_only = os.environ.get("TRAITS_ONLY") == "1"
alpha = 0.05
n = crit = trait = 0
raw = []
t0 = time.time()
for seed in seeds:
    with open(os.environ.get("CAPTURE_DIR", "/tmp/usnull") + f"/cap{seed}.pkl", "rb") as source:
        cap = pickle.load(source)
    acc, lab, st, val = cap["accounts"], cap["labels"], cap["settings"], cap["value"]
    rng = np.random.default_rng([seed, 999])
    for _ in range(reps):
        fresh = acc.with_columns(pl.Series(NULL, rng.poisson(3, acc.height)).cast(acc.schema[NULL]))
        if traits_only:
            ranked = lab != "unranked"
            frame = fresh.filter(pl.Series(ranked))
            kept = lab[ranked]
            every = condition_table(frame, attribute_columns(frame, st), st)
            traits = single_traits(every, kept == "best", kept == "worst")
            used = ""
        else:
            res = find_icp(fresh, lab, st, value=val)
            traits = res.single_traits
            used = " ".join([c.rule for c in res.criteria] + [d.rule for d in res.disqualifiers])
        rows = [t for t in traits if t.attribute == NULL]
        n += 1
        crit += NULL in used
        trait += any(t.q_best < alpha for t in rows)
        raw.append(min([t.p_best for t in rows if t.kind == "threshold"], default=1.0))
raw = np.array(raw)


def ci(k):
    c = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return f"{k}/{n} = {k / n:.3f} [{c.low:.3f}, {c.high:.3f}]"


print(
    f"seeds {seeds} reps {reps}: null in a criterion/disqualifier {ci(crit)}; null trait row q<{alpha} {ci(trait)}; "
    f"best-threshold raw p<0.05 {ci(int((raw < 0.05).sum()))}; wall {time.time() - t0:.0f}s cpu {resource.getrusage(resource.RUSAGE_SELF).ru_utime:.0f}s"
)
