"""The reference run for bench_discovery.py, executed inside .bench-venv (pysubgroup pins numpy<2).

Usage: .bench-venv/bin/python bench/pysubgroup_ref.py DATA.csv OUT.json [ALGORITHMS]
Reads the accounts with a boolean ``target`` column, builds pysubgroup's own selectors
(create_selectors, nbins=5: equal-frequency intervals and one equality per level), runs WRAcc
(StandardQF a=1) top-10 at depth 3 with each algorithm, and writes selectors, top-10 and times.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import pandas as pd
import pysubgroup as ps


def selector_record(sel: object) -> dict[str, object]:
    if isinstance(sel, ps.IntervalSelector):
        return {
            "attr": sel.attribute_name,
            "op": "range",
            "lo": float(sel.lower_bound),
            "hi": float(sel.upper_bound),
        }
    return {"attr": sel.attribute_name, "op": "eq", "value": sel.attribute_value}


def main() -> None:
    data = pd.read_csv(sys.argv[1])
    names = sys.argv[3].split(",") if len(sys.argv) > 3 else ["DFS", "Apriori", "BestFirstSearch"]
    target = ps.BinaryTarget("target", True)
    selectors = ps.create_selectors(data, nbins=5, ignore=["target"])
    runs = {}
    for name in names:
        task = ps.SubgroupDiscoveryTask(
            data, target, selectors, result_set_size=10, depth=3, qf=ps.StandardQF(1.0)
        )
        start, cpu = time.perf_counter(), time.process_time()
        result = getattr(ps, name)().execute(task)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        top = [
            {"quality": float(q), "segment": [selector_record(s) for s in sg.selectors]}
            for q, sg, *_ in result.results
        ]
        runs[name] = {"seconds": seconds, "cpu": cpu, "top": top}
    out = {
        "selectors": [selector_record(s) for s in selectors],
        "runs": runs,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
