"""Several ICPs side by side: what differs between partitions, what they share, with the evidence.

Each partition (a region, a product line, a value band …) has its own ranked accounts and its own
best / worst groups (the success score is ranked within the partition). Every rule that any
partition's ICP reports (criteria and disqualifiers) is measured in every partition: the accounts
it covers, its lift over that partition's base rate with a Wilson 95 % interval, and a chi-square
test (Fisher's exact test for two partitions with small counts) of whether the rule's target rate
is the same in every partition. The verdict:

- ``differs``: the rates differ (p < alpha) and the rule's lift interval lies above 1 in some
  partitions but not in others — a trait of one partition's ICP, not of the others';
- ``shared``: the lift interval lies above 1 in every partition with evidence;
- ``unclear``: neither can be shown with these counts.

Partitions with fewer than ``MIN_TARGET`` best (or worst) accounts take no part in the verdicts and
say so: their evidence is too thin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import stats

from icpkit.discovery.statistics import lift_interval
from icpkit.profile import (
    PartitionMeasure,
    PartitionProfile,
    PartitionRule,
    PartitionsSection,
    RuleEvidence,
)
from icpkit.rules import parse_segment

# A partition needs this many accounts in the target group for its rates to say anything (the
# count below which discovery calls its own evidence weak at best).
MIN_TARGET = 30


@dataclass(frozen=True)
class PartitionIcp:
    """One partition's ICP: its accounts and labels, and the rules its discovery reported."""

    name: str
    where: str
    accounts: pl.DataFrame
    labels: np.ndarray
    statement: str = ""
    criteria: list[RuleEvidence] = field(default_factory=list)
    disqualifiers: list[RuleEvidence] = field(default_factory=list)
    note: str = ""

    @property
    def counts(self) -> dict[str, int]:
        return {
            "n_accounts": self.accounts.height,
            "n_ranked": int(np.count_nonzero(self.labels != "unranked")),
            "n_best": int(np.count_nonzero(self.labels == "best")),
            "n_worst": int(np.count_nonzero(self.labels == "worst")),
        }

    def enough(self, target: str) -> bool:
        return not self.note and self.counts[f"n_{target}"] >= MIN_TARGET


def _measure(rule: str, part: PartitionIcp, target: str) -> PartitionMeasure:
    ranked = part.labels != "unranked"
    frame = part.accounts.filter(pl.Series(ranked))
    hit = part.labels[ranked] == target
    covered = parse_segment(rule).mask(frame) if frame.height else np.zeros(0, dtype=bool)
    n, k = int(covered.sum()), int((covered & hit).sum())
    base = float(hit.mean()) if hit.size else 0.0
    lo, hi = lift_interval(np.array([k]), np.array([n]), base)
    lift = (k / n) / base if n and base else None
    return PartitionMeasure(
        support=n,
        hits=k,
        lift=lift,
        lift_ci=(float(lo[0]), float(hi[0])) if n and base else None,
        evidence=part.enough(target),
    )


def _heterogeneity_p(cells: list[tuple[int, int]]) -> float:
    """p-value that the target rate inside a rule is the same in every partition."""
    table = np.array([[k, n - k] for k, n in cells if n > 0])
    if table.shape[0] < 2 or table.sum(axis=0).min() == 0:
        return 1.0
    if table.shape[0] == 2 and table.min() < 5:
        return float(stats.fisher_exact(table).pvalue)
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def compare_icps(parts: list[PartitionIcp], alpha: float = 0.05) -> PartitionsSection:
    """The comparison of several partitions' ICPs (stored in the profile).

    Per partition its name, rule, counts, statement, criteria, disqualifiers and note (e.g. too
    small for evidence); per rule its kind, the partitions whose ICP reported it, its measures in
    every partition, the heterogeneity p-value and the verdict (see the module docstring).
    """
    icps = []
    for part in parts:
        note = part.note
        if not note and not part.enough("best"):
            note = (
                f"too small for evidence: {part.counts['n_best']} best of "
                f"{part.counts['n_ranked']} ranked accounts (at least {MIN_TARGET} needed)"
            )
        icps.append(
            PartitionProfile(
                name=part.name,
                where=part.where,
                **part.counts,
                statement=part.statement,
                criteria=part.criteria,
                disqualifiers=part.disqualifiers,
                note=note,
            )
        )
    rules: dict[tuple[str, str], list[str]] = {}
    for part in parts:
        for kind, found in (("criterion", part.criteria), ("disqualifier", part.disqualifiers)):
            for r in found:
                if r.significant:
                    rules.setdefault((kind, r.rule), []).append(part.name)
    rows: list[PartitionRule] = []
    for (kind, rule), reported_by in rules.items():
        target = "best" if kind == "criterion" else "worst"
        per = {part.name: _measure(rule, part, target) for part in parts}
        usable = [per[p.name] for p in parts if per[p.name].evidence]
        above = [m.lift_ci is not None and m.lift_ci[0] > 1.0 for m in usable]
        p = _heterogeneity_p([(m.hits, m.support) for m in usable])
        if len(usable) >= 2 and any(above) and not all(above) and p < alpha:
            verdict = "differs"
        elif len(usable) >= 2 and all(above):
            verdict = "shared"
        else:
            verdict = "unclear"
        rows.append(
            PartitionRule.model_validate(
                {
                    "rule": rule,
                    "kind": kind,
                    "reported_by": reported_by,
                    "verdict": verdict,
                    "p_differs": p,
                    "per_icp": per,
                }
            )
        )
    order = {"differs": 0, "shared": 1, "unclear": 2}
    rows.sort(key=lambda r: (order[r.verdict], r.kind, r.p_differs))
    return PartitionsSection(icps=icps, rules=rows, alpha=alpha)
