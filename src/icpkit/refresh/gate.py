"""The promotion gate: is a candidate ICP at least as good as the one in use (the champion)?

Both are measured on the **same out-of-time cut**: the deals created on or after it, with the
outcome they have now. The candidate is represented by the ICP its own build procedure makes from
the data before the cut (exactly what its held-out verdict measures); the champion by its stored
profile, scored on today's accounts. The cut is the candidate's held-out cut
(``validation.cut_date`` or the last ``validation.holdout_share`` of closed deals), moved forward
to the day after the champion's data ended when the champion was built later than that cut and
enough closed deals remain after it, so the champion is not judged on deals it learned from.
When too few remain, the candidate's cut is kept and the decision says how many held-out deals
the champion had already seen: that favours the champion, so the gate then errs toward keeping it.

The candidate is promoted only when it is **not worse**:

- held-out AUC: the paired bootstrap interval (resampling accounts) of candidate − champion does
  not lie wholly below ``-refresh.auc_tolerance``;
- Tier 1 vs rest lift (Tier 1's win rate over the rest's): likewise, with ``lift_tolerance``;
- no new failure on page 1: no test of the held-out verdict (better than chance, Tier 1 above the
  rest, tiers in order beyond their intervals, too good to be true) fails for the candidate while
  it passes for the champion (``new_failures_block``).

Otherwise the champion stays, and the decision says why in words. ``always_promote`` promotes
regardless (the comparison is still computed and recorded). Without a champion the candidate is
promoted ("first version"); with fewer than ``min_closed`` held-out closed deals the gate cannot
judge and keeps the champion.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import polars as pl

from icpkit.config import RefreshConfig, WorkspaceConfig
from icpkit.data.model import CrmData
from icpkit.errors import IcpError, InsufficientDataError
from icpkit.evaluation.backtest import default_cut_date, split_at
from icpkit.evaluation.validation import evaluate
from icpkit.pipeline import build_icp
from icpkit.profile import IcpProfile, ValidationSection
from icpkit.scoring import score_frame

Decision = Literal["promote", "reject", "insufficient", "first", "always"]

FAILURES = {
    "chance": "does not rank held-out deals better than chance",
    "tier1_untested": "Tier 1 has no held-out closed deal",
    "tier1_not_better": "Tier 1 does not win more often than the rest",
    "tiers_inverted": "a higher tier converts below a lower one beyond their intervals",
    "too_good": "the held-out AUC is too good to be true (leakage)",
}


@dataclass(frozen=True)
class Interval:
    """A paired difference (candidate − champion) with its bootstrap interval."""

    candidate: float | None
    champion: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def worse(self, tolerance: float) -> bool:
        """True when the whole interval lies below ``-tolerance``."""
        return self.ci_high is not None and self.ci_high < -tolerance


@dataclass(frozen=True)
class GateDecision:
    """What the gate decided, on which evidence, and why in words."""

    decision: Decision
    promote: bool
    candidate: int
    champion: int | None
    reasons: list[str]
    cut: str | None = None
    n_closed: int = 0
    champion_seen_share: float | None = None
    auc: Interval | None = None
    lift: Interval | None = None
    new_failures: list[str] = field(default_factory=list)
    candidate_verdict: str | None = None
    champion_verdict: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One sentence: the decision and its main reason."""
        head = {
            "promote": f"v{self.candidate} promoted: not worse than v{self.champion}",
            "first": f"v{self.candidate} promoted: the first version",
            "always": f"v{self.candidate} promoted (refresh.always_promote)",
            "reject": f"v{self.candidate} rejected; v{self.champion} stays in use",
            "insufficient": f"v{self.candidate} not judged; v{self.champion} stays in use",
        }[self.decision]
        return f"{head} ({self.reasons[0]})" if self.reasons else head

    def lines(self) -> list[str]:
        """The decision and every reason and figure, in words, for the CLI and the audit log."""
        out = [self.summary()]
        if self.cut is not None:
            out.append(f"same out-of-time cut for both: deals created from {self.cut} on, "
                       f"{self.n_closed} closed")  # fmt: skip
        for name, iv in (("held-out AUC", self.auc), ("Tier 1 vs rest lift", self.lift)):
            if iv is not None and iv.diff is not None:
                out.append(
                    f"{name}: candidate {iv.candidate:.3f} vs champion {iv.champion:.3f}, "
                    f"difference {iv.diff:+.3f} (interval {iv.ci_low:+.3f} to {iv.ci_high:+.3f})"
                )
        out += [f"- {r}" for r in self.reasons[1:]]
        return out


def failure_kinds(validation: ValidationSection) -> set[str]:
    """Which tests of page 1's held-out verdict fail (keys of :data:`FAILURES`)."""
    verdict = validation.verdict
    kinds: set[str] = set()
    if verdict is None:
        return kinds
    auc = verdict.auc
    if auc is None or auc.value is None or auc.ci_low is None or auc.ci_low <= 0.5:
        kinds.add("chance")
    if verdict.tier1 is not None and verdict.tier1.n == 0:
        kinds.add("tier1_untested")
    elif (
        verdict.tier1 is not None
        and verdict.rest is not None
        and verdict.tier1.rate is not None
        and verdict.rest.rate is not None
        and verdict.tier1.rate <= verdict.rest.rate
    ):
        kinds.add("tier1_not_better")
    checks = validation.checks
    if checks is not None:
        if any(i.distinct for i in checks.tier_order.inversions):
            kinds.add("tiers_inverted")
        if checks.too_good is not None:
            kinds.add("too_good")
    return kinds


def gate_cut(
    crm: CrmData, config: WorkspaceConfig, champion_until: date | None, min_closed: int
) -> tuple[date, float | None]:
    """The shared cut and the share of its held-out closed deals the champion had seen."""
    if config.validation.cut_date:
        cut = date.fromisoformat(config.validation.cut_date)
    else:
        cut = default_cut_date(crm.deals, config.validation.holdout_share)
    if champion_until is None or champion_until < cut:
        return cut, None
    later = champion_until + timedelta(days=1)
    closed = _closed_after(crm, cut)
    fresh = closed.filter(pl.col("created_at") >= later).height
    if fresh >= min_closed:
        return later, 0.0
    seen = closed.filter(pl.col("created_at") < later).height
    return cut, (seen / closed.height) if closed.height else None


def _closed_after(crm: CrmData, cut: date) -> pl.DataFrame:
    deals = crm.deals
    if deals is None or "created_at" not in deals.columns:
        return pl.DataFrame({"created_at": []}, schema={"created_at": pl.Date})
    stage = pl.col("stage").cast(pl.Utf8).str.to_lowercase()
    return deals.filter(stage.is_in(("won", "lost")) & (pl.col("created_at") >= cut)).select(
        pl.col("created_at").cast(pl.Date)
    )


def _pairs(crm_after: CrmData, cand: pl.DataFrame, champ: pl.DataFrame) -> pl.DataFrame:
    """Held-out closed deals with both ICPs' fit score and tier."""
    deals = crm_after.deals
    assert deals is not None
    stage = pl.col("stage").cast(pl.Utf8).str.to_lowercase()
    closed = deals.filter(stage.is_in(("won", "lost"))).select(
        "account_id", (stage == "won").alias("won")
    )
    both = cand.select(
        "account_id", pl.col("fit_score").alias("s_cand"), pl.col("tier").alias("t_cand")
    ).join(
        champ.select(
            "account_id", pl.col("fit_score").alias("s_champ"), pl.col("tier").alias("t_champ")
        ),
        on="account_id",
    )
    return closed.join(both, on="account_id", how="inner")


def _auc(scores: np.ndarray, won: np.ndarray) -> float | None:
    from scipy.stats import rankdata

    n_pos, n_neg = int(won.sum()), int((~won).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[won].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _lift(tier1: np.ndarray, won: np.ndarray) -> float | None:
    n1, n0 = int(tier1.sum()), int((~tier1).sum())
    if n1 == 0 or n0 == 0:
        return None
    rest = won[~tier1].mean()
    if rest == 0:
        return None
    return float(won[tier1].mean() / rest)


def paired_bootstrap(
    pairs: pl.DataFrame, *, resamples: int, confidence: float, seed: int
) -> tuple[Interval | None, Interval | None]:
    """Candidate − champion AUC and lift with percentile intervals, resampling accounts."""
    if pairs.height == 0:
        return None, None
    won = pairs["won"].to_numpy().astype(bool)
    s_c, s_p = pairs["s_cand"].to_numpy().astype(float), pairs["s_champ"].to_numpy().astype(float)
    t_c = (pairs["t_cand"] == "Tier 1").to_numpy()
    t_p = (pairs["t_champ"] == "Tier 1").to_numpy()
    accounts = pairs["account_id"].cast(pl.Utf8).to_numpy()
    _, group = np.unique(accounts, return_inverse=True)
    members = [np.flatnonzero(group == g) for g in range(group.max() + 1)]
    rng = np.random.default_rng(seed)
    auc_d: list[float] = []
    lift_d: list[float] = []
    for _ in range(resamples):
        pick = rng.integers(0, len(members), len(members))
        rows = np.concatenate([members[g] for g in pick])
        w = won[rows]
        a, b = _auc(s_c[rows], w), _auc(s_p[rows], w)
        if a is not None and b is not None:
            auc_d.append(a - b)
        la, lb = _lift(t_c[rows], w), _lift(t_p[rows], w)
        if la is not None and lb is not None:
            lift_d.append(la - lb)
    tail = (1 - confidence) / 2 * 100

    def interval(cand: float | None, champ: float | None, draws: list[float]) -> Interval:
        if cand is None or champ is None or len(draws) < resamples // 2:
            return Interval(cand, champ, None, None, None)
        low, high = np.percentile(draws, [tail, 100 - tail])
        return Interval(cand, champ, cand - champ, float(low), float(high))

    return (
        interval(_auc(s_c, won), _auc(s_p, won), auc_d),
        interval(_lift(t_c, won), _lift(t_p, won), lift_d),
    )


def decide(
    crm: CrmData,
    config: WorkspaceConfig,
    *,
    candidate: int,
    champion: int | None,
    champion_profile: IcpProfile | None,
    champion_until: date | None,
    pre_cut_builder: Any = None,
    champion_config: WorkspaceConfig | None = None,
) -> GateDecision:
    """Compare a candidate with the champion on the same out-of-time cut (module docstring).

    Parameters
    ----------
    crm : CrmData
        Today's data (the data the candidate was built from).
    config : WorkspaceConfig
        The workspace's config: the candidate's build procedure and the ``[refresh]`` rules.
    candidate, champion : int, int or None
        Version numbers (champion None: no version in use yet).
    champion_profile : IcpProfile or None
        The champion's stored profile.
    champion_until : date or None
        The last day of data the champion saw (None: unknown).
    pre_cut_builder : callable, optional
        ``(crm_before, config) -> IcpProfile``: the candidate's procedure on the pre-cut data
        (default: ``pipeline.build_icp`` without validation or themes).
    champion_config : WorkspaceConfig, optional
        The settings the champion was built with. When the champion has seen some of the
        held-out deals (too few newer ones), its stored profile would be judged partly in-sample;
        with its settings known, its procedure is rebuilt from the same pre-cut data instead, so
        both sides are out-of-time on the same cut.
    """
    rules: RefreshConfig = config.refresh
    if champion is None or champion_profile is None:
        return GateDecision("first", True, candidate, None, ["no version was in use yet"])
    try:
        cut, seen = gate_cut(crm, config, champion_until, rules.min_closed)
    except InsufficientDataError as exc:
        return _undecided(rules, candidate, champion, f"no out-of-time cut: {exc.message}")
    before, after = split_at(crm, cut)
    build = pre_cut_builder or _build_before
    rebuilt = bool(seen) and champion_config is not None
    try:
        cand_profile = build(before, config)
        if rebuilt and champion_config is not None:
            champion_profile = build(before, champion_config)
        cand_scored = score_frame(cand_profile, crm.accounts, reasons=False)
        champ_scored = score_frame(champion_profile, crm.accounts, reasons=False)
        cand_val = evaluate(cand_scored, after, cut=cut, profile=cand_profile)
        champ_val = evaluate(champ_scored, after, cut=cut, profile=champion_profile)
    except IcpError as exc:
        return _undecided(rules, candidate, champion, f"the comparison failed: {exc.message}")
    pairs = _pairs(after, cand_scored, champ_scored)
    common: dict[str, Any] = {
        "cut": cut.isoformat(),
        "n_closed": pairs.height,
        "champion_seen_share": seen,
        "candidate_verdict": None if cand_val.verdict is None else cand_val.verdict.status,
        "champion_verdict": None if champ_val.verdict is None else champ_val.verdict.status,
    }
    if pairs.height < rules.min_closed:
        return _undecided(
            rules, candidate, champion,
            f"only {pairs.height} held-out closed deals after {cut} (refresh.min_closed is "
            f"{rules.min_closed}): too few to tell whether the candidate is worse",
            **common,
        )  # fmt: skip
    auc, lift = paired_bootstrap(
        pairs, resamples=rules.bootstrap, confidence=rules.confidence, seed=rules.seed
    )
    new = sorted(failure_kinds(cand_val) - failure_kinds(champ_val))
    worse: list[str] = []
    pct = f"{rules.confidence:.0%}"
    if auc is not None and auc.worse(rules.auc_tolerance):
        worse.append(
            f"its held-out AUC is worse: {auc.candidate:.3f} vs {auc.champion:.3f}, and the "
            f"{pct} interval of the difference ({auc.ci_low:+.3f} to {auc.ci_high:+.3f}) lies "
            f"below -{rules.auc_tolerance:g}"
        )
    if lift is not None and lift.worse(rules.lift_tolerance):
        worse.append(
            f"its Tier 1 vs rest lift is worse: {lift.candidate:.2f}x vs {lift.champion:.2f}x, "
            f"and the {pct} interval of the difference ({lift.ci_low:+.2f} to "
            f"{lift.ci_high:+.2f}) lies below -{rules.lift_tolerance:g}"
        )
    if rules.new_failures_block and new:
        worse.append(
            "its held-out verdict fails where the champion's passes: "
            + "; ".join(FAILURES[k] for k in new)
        )
    notes = []
    if rebuilt:
        notes.append(
            f"the champion had already seen {seen:.0%} of these held-out deals when it was built "
            "(too few newer ones), so its own settings were rebuilt from the same pre-cut data: "
            "both sides are out-of-time"
        )
    elif seen:
        notes.append(
            f"the champion had already seen {seen:.0%} of these held-out deals when it was built "
            "(too few newer ones), which favours the champion"
        )
    if worse and not rules.always_promote:
        return GateDecision(
            "reject", False, candidate, champion, worse + notes, auc=auc, lift=lift,
            new_failures=new, **common,
        )  # fmt: skip
    if rules.always_promote:
        why = ["refresh.always_promote is on", *(f"(the gate would have said: {w})" for w in worse)]
        return GateDecision(
            "always", True, candidate, champion, why + notes, auc=auc, lift=lift,
            new_failures=new, **common,
        )  # fmt: skip
    why = [
        "neither the held-out AUC nor the Tier 1 vs rest lift is worse beyond its interval, "
        "and no page-1 test newly fails"
    ]
    return GateDecision(
        "promote", True, candidate, champion, why + notes, auc=auc, lift=lift,
        new_failures=new, **common,
    )  # fmt: skip


def _undecided(
    rules: RefreshConfig, candidate: int, champion: int, why: str, **common: Any
) -> GateDecision:
    if rules.always_promote:
        return GateDecision(
            "always", True, candidate, champion, ["refresh.always_promote is on", why], **common
        )
    return GateDecision("insufficient", False, candidate, champion, [why], **common)


def _build_before(crm_before: CrmData, config: WorkspaceConfig) -> IcpProfile:
    return build_icp(crm_before, config, validate=False, themes=False).profile
