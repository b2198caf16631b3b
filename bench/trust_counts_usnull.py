"""(usnull, issue 28) Run bench/trust_realdata.py's page-1 build only, printing criteria and significant single-trait attributes."""

import runpy
import sys

sys.argv = ["trust_realdata.py", "--folds", "2"]
import icpkit.pipeline as P  # noqa: E402

orig = P.build_icp


def spy(crm, config, **kw):
    built = orig(crm, config, **kw)
    if kw.get("validate", True) is not False:  # the page-1 build
        p = built.profile
        sig = sorted(
            {t.attribute for t in p.single_traits or [] if t.q_best is not None and t.q_best < 0.05}
        )
        rows = sum(1 for t in p.single_traits or [] if t.q_best is not None and t.q_best < 0.05)
        print(
            f"  COUNTS criteria {len(p.criteria)} disqualifiers {len(p.disqualifiers)} "
            f"significant trait rows {rows} attributes {len(sig)}",
            flush=True,
        )
    return built


P.build_icp = spy
runpy.run_path("bench/trust_realdata.py", run_name="__main__")
