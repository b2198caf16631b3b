"""(usnull, issue 28) Capture find_icp inputs for seeds 100-109 (3000 accounts), and the outcome-independence of the null."""

import os
import pickle
import resource
import sys
import time

import numpy as np
from scipy import stats

import icpkit.pipeline as P
from icpkit.config import WorkspaceConfig
from icpkit.datasets.synthetic.usage import USAGE_SETTINGS, make_usage_crm

seeds = [int(s) for s in sys.argv[1:]] or list(range(100, 110))
orig = P.find_icp
for seed in seeds:
    cap = {}

    def spy(accounts, labels, settings, value=None, cap=cap):
        cap.update(accounts=accounts, labels=labels, settings=settings, value=value)
        r = orig(accounts, labels, settings, value=value)
        cap["result"] = r
        return r

    P.find_icp = spy
    t = time.time()
    syn = make_usage_crm(3000, seed=seed)
    cfg = WorkspaceConfig.model_validate({"usage": USAGE_SETTINGS})
    built = P.build_icp(syn.to_crm_data(), cfg, validate=False, as_of=syn.as_of, themes=False)
    r = cap.pop("result")
    acc, lab = cap["accounts"], cap["labels"]
    null = acc["usage_count_theme_changes"].to_numpy()
    ranked = lab != "unranked"
    best = lab == "best"
    mw = stats.mannwhitneyu(null[ranked & best], null[ranked & ~best]).pvalue
    used = [c.rule for c in r.criteria] + [d.rule for d in r.disqualifiers]
    rows = [
        (t.rule, t.kind, round(t.p_best, 5), round(t.q_best, 4))
        for t in r.single_traits
        if t.attribute == "usage_count_theme_changes"
    ]
    print(
        seed,
        f"{time.time() - t:.1f}s",
        "MW p(best vs other ranked)",
        round(mw, 3),
        "labels",
        dict(zip(*np.unique(lab, return_counts=True), strict=True)),
    )
    print("  criteria/disq:", used)
    print("  null rows sig:", [x for x in rows if x[3] < 0.05])
    with open(os.environ.get("CAPTURE_DIR", "/tmp/usnull") + f"/cap{seed}.pkl", "wb") as out:
        pickle.dump(cap, out)
    P.find_icp = orig
print("cpu", resource.getrusage(resource.RUSAGE_SELF).ru_utime)
