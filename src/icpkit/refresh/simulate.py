"""A year of monthly refreshes on a synthetic CRM whose ICP drifts half-way: does the gate promote
the better candidates, reject the worse ones, and never promote a worse one?

The CRM is :func:`icpkit.datasets.make_crm` with the default planted ICP until ``shift`` and the
"shifted" spec's segments after it. Month by month the workspace's files are replaced by the data
as it was known at the month's end (:func:`~icpkit.evaluation.backtest.split_at`), and
``icpkit refresh`` runs. In ``bad_months`` an operator's config change hides the attributes the
ICP rests on (``discovery.exclude``), the next month it is undone: those candidates are worse by
construction, the others are ordinary monthly rebuilds.

"Worse" is measured with the planted truth, never with the gate's own data: the **true AUC** of a
profile is the AUC its fit score would have, in expectation, on fresh accounts (a second CRM
drawn with another seed) whose deals are won with their true probabilities under the ICP in force
after the decision. A candidate is worse when its true AUC is below the champion's by more than
``tolerance``.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from icpkit.datasets import SPECS, SyntheticCrm, make_crm
from icpkit.evaluation.backtest import split_at
from icpkit.pipeline import Workspace, build_and_save, score_accounts
from icpkit.profile import IcpProfile
from icpkit.refresh.run import refresh
from icpkit.scoring import score_frame

DRIFT_TABLES = ("accounts", "deals", "subscriptions", "contacts")
HIDDEN = ["industry", "tech_stack", "region", "employees"]


def true_auc(scores: np.ndarray, p: np.ndarray) -> float:
    """Expected AUC of ``scores`` when each account is won with probability ``p`` (ties half).

    Over all ordered pairs (i, j), i ≠ j: P(i won, j lost) = p_i (1 − p_j); the AUC is the
    share of that mass where i scores higher, counting ties half.
    """
    order = np.argsort(scores, kind="stable")
    s, pos = scores[order], p[order]
    neg = 1.0 - pos
    _, starts = np.unique(s, return_index=True)
    ends = np.append(starts[1:], len(s))
    num = 0.0
    below = 0.0
    for a, b in zip(starts, ends, strict=True):
        pg, ng = pos[a:b].sum(), neg[a:b].sum()
        self_pairs = float((pos[a:b] * neg[a:b]).sum())
        num += pg * below + 0.5 * (pg * ng - self_pairs)
        below += ng
    total = pos.sum() * neg.sum() - float((pos * neg).sum())
    return float(num / total)


@dataclass(frozen=True)
class MonthResult:
    """One monthly refresh: what the gate did and how the candidate truly compares."""

    month: str
    bad_config: bool
    status: str
    exit_code: int
    candidate: int | None
    champion: int | None
    promoted: bool
    candidate_true_auc: float | None
    champion_true_auc: float | None
    worse: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SimulationResult:
    """The year: each month, the counts, and the rollback check."""

    months: list[MonthResult]
    promoted: int
    rejected: int
    undecided: int
    worse_candidates: int
    worse_promoted: int
    better_rejected: int
    rollback_restores_scores: bool
    alerts_sent: int
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"{'month':<8} {'config':<7} {'status':<14} cand  champ  true AUC cand/champ  worse"]
        for m in self.months:
            ta = "—" if m.candidate_true_auc is None else f"{m.candidate_true_auc:.3f}"
            tb = "—" if m.champion_true_auc is None else f"{m.champion_true_auc:.3f}"
            out.append(
                f"{m.month:<8} {'BAD' if m.bad_config else 'ok':<7} {m.status:<14} "
                f"{'v' + str(m.candidate) if m.candidate else '—':<5} "
                f"{'v' + str(m.champion) if m.champion else '—':<6} {ta} / {tb}"
                f"{'':<8}{'yes' if m.worse else 'no'}"
            )
        out += [
            "",
            f"promoted {self.promoted}, rejected {self.rejected}, not judged {self.undecided}",
            f"worse candidates {self.worse_candidates}, of which promoted {self.worse_promoted}; "
            f"better-or-equal candidates rejected {self.better_rejected}",
            f"rollback restores the old version's scores: {self.rollback_restores_scores}",
            f"alerts delivered: {self.alerts_sent}",
        ]
        return out


def _write_month(folder: Path, crm: SyntheticCrm, cut: date) -> None:
    before, _ = split_at(crm.to_crm_data(), cut)
    for name in DRIFT_TABLES:
        frame = getattr(before, name)
        frame.write_parquet(folder / f"{name}.parquet")


def _set_exclude(config_path: Path, hidden: list[str]) -> None:
    config = tomllib.loads(config_path.read_text(encoding="utf-8"))
    config.setdefault("discovery", {})["exclude"] = hidden
    config_path.write_text(tomli_w.dumps(config), encoding="utf-8")


def _month_starts(first: date, months: int) -> list[date]:
    out = []
    year, month = first.year, first.month
    for _ in range(months + 1):
        out.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def simulate(
    folder: Path,
    *,
    n_accounts: int = 1000,
    seed: int = 7,
    first_month: date = date(2025, 1, 1),
    months: int = 12,
    bad_months: tuple[int, ...] = (3, 9),
    tolerance: float = 0.01,
    fresh_accounts: int = 4000,
    alert_urls: str | None = None,
) -> SimulationResult:
    """Run the monthly refreshes in ``folder`` (a new workspace) and measure them.

    Parameters
    ----------
    folder : Path
        An empty folder for the workspace.
    n_accounts, seed : int
        Size and seed of the synthetic CRM (2023-01-01 to 2025-12-31).
    first_month : date
        The first refresh runs with the data known at the end of this month; the ICP shifts
        half-way through the months.
    months : int
        How many monthly refreshes.
    bad_months : tuple of int
        Months (1-based) whose config hides the ICP's attributes.
    tolerance : float
        A candidate is "worse" when its true AUC is below the champion's by more than this.
    fresh_accounts : int
        Accounts of the fresh CRM the true AUC is measured on.
    alert_urls : str, optional
        Sent to ``ICPKIT_ALERT_URLS`` for the refreshes (a local webhook in the tests).
    """
    import os

    starts = _month_starts(first_month, months)
    shift = starts[months // 2]
    spec = replace(
        SPECS["default"], shift_date=shift, shifted_segments=SPECS["shifted"].shifted_segments
    )
    crm = make_crm(n_accounts, seed=seed, icp=spec)
    fresh = make_crm(fresh_accounts, seed=seed + 1000, icp=spec)
    folder.mkdir(parents=True, exist_ok=True)
    config_path = crm.write_workspace(folder, fmt="parquet")
    config = tomllib.loads(config_path.read_text(encoding="utf-8"))
    config["sources"] = {k: v for k, v in config["sources"].items() if k in DRIFT_TABLES}
    for name in DRIFT_TABLES:
        config["sources"][name]["path"] = f"{name}.parquet"
    config["refresh"] = {"min_closed": 30, "bootstrap": 300}
    config_path.write_text(tomli_w.dumps(config), encoding="utf-8")
    for name in ("notes", "signals"):
        (folder / f"{name}.parquet").unlink(missing_ok=True)

    def truth(profile: IcpProfile, after_shift: bool) -> float:
        scored = score_frame(profile, fresh.accounts, reasons=False)
        p = fresh.truth.p_win_after_shift if after_shift else fresh.truth.p_win
        return true_auc(scored["fit_score"].to_numpy().astype(float), p)

    previous_env = os.environ.get("ICPKIT_ALERT_URLS")
    if alert_urls is not None:
        os.environ["ICPKIT_ALERT_URLS"] = alert_urls
    try:
        _write_month(folder, crm, starts[0])  # the champion: built from what was known then
        build_and_save(Workspace.open(folder), note="initial champion")
        results: list[MonthResult] = []
        alerts = 0
        for index in range(1, months + 1):
            cut = starts[index]
            _write_month(folder, crm, cut)
            bad = index in bad_months
            _set_exclude(config_path, HIDDEN if bad else [])
            ws = Workspace.open(folder)
            champion = ws.store.live()
            result = refresh(folder, who="simulation", today=cut)
            alerts += 0 if result.delivery is None else result.delivery.sent
            after = cut >= shift
            cand_auc = champ_auc = None
            worse = False
            if result.candidate is not None and champion is not None:
                cand_auc = truth(ws.store.get(result.candidate).profile(), after)
                champ_auc = truth(ws.store.get(champion).profile(), after)
                worse = cand_auc < champ_auc - tolerance
            gate = result.gate
            results.append(
                MonthResult(
                    month=starts[index - 1].isoformat()[:7],  # data known to this month's end
                    bad_config=bad,
                    status=result.status,
                    exit_code=result.exit_code,
                    candidate=result.candidate,
                    champion=champion,
                    promoted=bool(gate and gate.promote),
                    candidate_true_auc=cand_auc,
                    champion_true_auc=champ_auc,
                    worse=worse,
                    reason="" if gate is None else gate.summary(),
                )
            )
        restored = _rollback_restores(folder, crm)
    finally:
        if alert_urls is not None:
            if previous_env is None:
                os.environ.pop("ICPKIT_ALERT_URLS", None)
            else:
                os.environ["ICPKIT_ALERT_URLS"] = previous_env
    judged = [m for m in results if m.candidate is not None]
    return SimulationResult(
        months=results,
        promoted=sum(m.promoted for m in judged),
        rejected=sum(m.status == "rejected" for m in judged),
        undecided=sum(m.status == "undecided" for m in judged),
        worse_candidates=sum(m.worse for m in judged),
        worse_promoted=sum(m.worse and m.promoted for m in judged),
        better_rejected=sum((not m.worse) and not m.promoted for m in judged),
        rollback_restores_scores=restored,
        alerts_sent=alerts,
        settings={
            "n_accounts": n_accounts,
            "seed": seed,
            "shift": shift.isoformat(),
            "bad_months": list(bad_months),
            "tolerance": tolerance,
            "fresh_accounts": fresh_accounts,
        },
    )


def _rollback_restores(folder: Path, crm: SyntheticCrm) -> bool:
    """Roll back one step; scoring by default ('latest') must equal scoring by the old version."""
    from icpkit.refresh.live import rollback

    ws = Workspace.open(folder)
    if len(ws.store.history()) < 2:
        return False
    change = rollback(folder, who="simulation")
    default = score_accounts(ws.store.get("latest").profile(), crm.accounts, workspace=ws)
    old = score_accounts(ws.store.get(change.live).profile(), crm.accounts, workspace=ws)
    same = default.select("fit_score", "tier").equals(old.select("fit_score", "tier"))
    return bool(same and ws.store.live() == change.live)
