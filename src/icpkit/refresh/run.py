"""`icpkit refresh`: one command a scheduler runs, with an exit code it can act on.

Steps: sync (when ``[refresh] source`` names a CRM) → check → build a candidate → promotion gate
(:mod:`icpkit.refresh.gate`) → rescore with the version in use → push only the rows whose tier or
fit score changed (``[refresh] push``) → alerts (``[alerts]``) → one audit line per step.

Exit codes (:data:`EXIT_CODES`, docs/operations.md): 0 promoted or nothing to do; 10 candidate
rejected (the champion stays); 11 the gate could not judge (too few held-out deals; the champion
stays); 20 the data check failed; 21 the sync failed; 22 the build failed; 30 the push was partly
or wholly refused. Scores of the previous run are kept in ``.icpkit/refresh/scores.parquet`` to
find the rows that changed.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.atomic import atomic_path, write_text_atomic
from icpkit.config import WorkspaceConfig
from icpkit.errors import IcpError
from icpkit.lifecycle import alerts as alerting
from icpkit.lifecycle.alerts import Alert, AlertDelivery
from icpkit.lifecycle.audit import record as audit_record
from icpkit.lifecycle.store import fingerprint
from icpkit.pipeline import Workspace, build_and_save, prioritize_accounts
from icpkit.refresh.gate import GateDecision, decide
from icpkit.scoring import score_frame

EXIT_CODES: dict[str, int] = {
    "promoted": 0,
    "nothing_to_do": 0,
    "rejected": 10,
    "undecided": 11,
    "check_failed": 20,
    "sync_failed": 21,
    "build_failed": 22,
    "push_refused": 30,
}
STATE_DIR = Path(".icpkit") / "refresh"
SCORES_FILE = "scores.parquet"
STATE_FILE = "state.json"


@dataclass(frozen=True)
class Step:
    """One step of a refresh: its name, 'ok', 'skipped' or 'failed', and what it did in words."""

    name: str
    status: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did, the exit code a scheduler gets, and the gate's decision."""

    status: str
    exit_code: int
    steps: list[Step]
    live_before: int | None = None
    live_after: int | None = None
    candidate: int | None = None
    gate: GateDecision | None = None
    changed_rows: int = 0
    moved_into_tier1: int = 0
    moved_into_work_now: int = 0
    push: dict[str, Any] | None = None
    drift: str | None = None
    alerts: list[Alert] = field(default_factory=list)
    delivery: AlertDelivery | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["gate"] = None if self.gate is None else self.gate.to_dict()
        return out

    def lines(self) -> list[str]:
        """The refresh in words, step by step, for the CLI."""
        out = [f"{s.name:<8} {s.status:<8} {s.detail}".rstrip() for s in self.steps]
        if self.gate is not None:
            out += ["", *self.gate.lines()]
        out.append("")
        out.append(f"refresh: {self.status.replace('_', ' ')} (exit code {self.exit_code})")
        return out


class _Run:
    """The state of one refresh while it runs (steps, alerts) and how it ends."""

    def __init__(self, workspace: Workspace, who: str | None) -> None:
        self.ws = workspace
        self.who = who
        self.steps: list[Step] = []
        self.alerts: list[Alert] = []
        self.facts: dict[str, Any] = {}

    def step(self, name: str, status: str, detail: str = "") -> None:
        self.steps.append(Step(name, status, detail))

    def finish(self, status: str) -> RefreshResult:
        code = EXIT_CODES[status]
        urls = alerting.alert_urls(self.ws.config.alerts.urls)
        delivery = alerting.send(self.alerts, urls, workspace_name=self.ws.config.name)
        if self.alerts:
            if not urls:
                self.step("alerts", "skipped", f"{len(self.alerts)} alert(s); no URL configured")
            else:
                state = "failed" if delivery.failed else "ok"
                self.step(
                    "alerts", state, f"{delivery.sent} of {len(self.alerts)} alert(s) sent to "
                    f"{delivery.destinations} destination(s) ({', '.join(delivery.schemes)})",
                )  # fmt: skip
        result = RefreshResult(
            status=status, exit_code=code, steps=self.steps, alerts=self.alerts,
            delivery=delivery, **self.facts,
        )  # fmt: skip
        audit_record(
            self.ws.root, "refresh", f"refresh ended: {status.replace('_', ' ')} (exit {code})",
            version=result.live_after, who=self.who,
            details={"exit_code": code, "candidate": result.candidate,
                     "changed_rows": result.changed_rows, "alerts": len(self.alerts)},
        )  # fmt: skip
        return result


def refresh(
    workspace_dir: Path | str,
    *,
    who: str | None = None,
    push: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    today: date | None = None,
) -> RefreshResult:
    """Run one refresh of a workspace (module docstring); never raises for a failed step.

    Parameters
    ----------
    workspace_dir : Path or str
        The workspace folder.
    who : str, optional
        Who runs it, for the audit log (default: the OS user).
    push : str, optional
        'hubspot', 'salesforce' or 'none': overrides ``[refresh] push``.
    dry_run : bool
        Push: write the requests instead of sending them.
    force : bool
        Build a candidate even when the data and config are those of the version in use.
    today : date, optional
        The day the drift check measures age against (tests and simulations).
    """
    ws = Workspace.open(workspace_dir)
    run = _Run(ws, who)
    settings = ws.config.refresh

    # -- sync ---------------------------------------------------------------------------------
    if settings.source is not None:
        failure = _sync(ws, run)
        if failure is not None:
            run.alerts.append(
                Alert("sync_failed", f"sync from {settings.source} failed", failure, "failure")
            )
            return run.finish("sync_failed")
        ws = Workspace.open(workspace_dir)
    else:
        run.step(
            "sync", "skipped", "no [refresh] source: the workspace's files are read as they are"
        )

    # -- check --------------------------------------------------------------------------------
    report = ws.check()
    if not report.ok:
        fatal = report.fatal
        detail = f"{len(fatal)} problem(s); first: {fatal[0].message}" if fatal else "failed"
        run.step("check", "failed", detail)
        audit_record(ws.root, "check", f"data check failed: {len(fatal)} problem(s)", who=who)
        run.alerts.append(
            Alert("check_failed", "data check failed; nothing was built",
                  f"{len(fatal)} problem(s) in the data; run `icpkit check` to see them.",
                  "failure")
        )  # fmt: skip
        return run.finish("check_failed")
    crm = ws.load()
    run.step("check", "ok", f"{crm.accounts.height} accounts")
    store = ws.store
    live = store.live()
    run.facts["live_before"] = run.facts["live_after"] = live

    # -- nothing new? -------------------------------------------------------------------------
    if live is not None and not force:
        seen = _already_judged(ws, crm, live)
        if seen is not None:
            run.step("build", "skipped", seen)
            return run.finish("nothing_to_do")

    # -- candidate ----------------------------------------------------------------------------
    try:
        candidate, _ = build_and_save(ws, note="refresh candidate", candidate=True, who=who)
    except IcpError as exc:
        run.step("build", "failed", exc.message)
        run.alerts.append(
            Alert("build_failed", "the candidate build failed; the version in use stays",
                  "The build stopped with an error; run `icpkit build --candidate` to see it.",
                  "failure")
        )  # fmt: skip
        return run.finish("build_failed")
    run.facts["candidate"] = candidate
    run.step("build", "ok", f"candidate v{candidate}")

    # -- gate ---------------------------------------------------------------------------------
    champion_profile = store.get(live).profile() if live is not None else None
    state = store.state(live) if live is not None else {}
    until = state.get("data_until")
    decision = decide(
        crm, ws.config, candidate=candidate, champion=live, champion_profile=champion_profile,
        champion_until=date.fromisoformat(until) if until else None,
        champion_config=_stored_config(state.get("config")),
    )  # fmt: skip
    run.facts["gate"] = decision
    if decision.promote:
        store.set_live(candidate, action="promote", who=who or "")
        store.mark(candidate, "promoted", decision.summary(), decision.to_dict())
        audit_record(
            ws.root, "promote", decision.summary(), version=candidate, who=who,
            details={"from": live, "decision": decision.decision},
        )  # fmt: skip
        run.facts["live_after"] = candidate
        run.step("gate", "ok", decision.summary())
        run.alerts.append(Alert("promoted", f"v{candidate} is now in use", _gate_body(decision),
                                "success"))  # fmt: skip
    else:
        store.mark(candidate, "rejected", decision.summary(), decision.to_dict())
        audit_record(
            ws.root, "gate", decision.summary(), version=candidate, who=who,
            details={"champion": live, "decision": decision.decision},
        )  # fmt: skip
        run.step("gate", "failed", decision.summary())
        run.alerts.append(Alert("rejected", f"candidate v{candidate} not promoted",
                                _gate_body(decision), "warning"))  # fmt: skip

    # -- rescore, diff, push ------------------------------------------------------------------
    push_failed = _rescore_and_push(ws, run, push, dry_run)
    _drift(ws, run, today)
    if push_failed:
        return run.finish("push_refused")
    if decision.promote:
        return run.finish("promoted")
    return run.finish("rejected" if decision.decision == "reject" else "undecided")


def _stored_config(raw: dict[str, Any] | None) -> WorkspaceConfig | None:
    """The champion's settings as stored with it, or None (absent, or no longer valid)."""
    if raw is None:
        return None
    try:
        return WorkspaceConfig.model_validate(raw)
    except ValueError:  # a setting this icpkit no longer knows: judge the stored profile
        return None


def _already_judged(ws: Workspace, crm: Any, live: int) -> str | None:
    """Why no candidate is needed (the live version, or the newest rejected candidate, was built
    from this very data and config), or None."""
    now = json.loads(json.dumps(fingerprint(crm), sort_keys=True, default=str))
    config = ws.config.content_hash()
    newest = ws.store.get("newest").version
    for number in dict.fromkeys((live, newest)):
        stored = ws.store.get(number)
        if stored.fingerprint != now or stored.config_hash != config:
            continue
        if number == live:
            return f"data and config are those of v{live} (in use): nothing to do"
        if ws.store.state(number)["stored_status"] == "rejected":
            return f"v{number} was built from this data and config and rejected: nothing new"
    return None


def _sync(ws: Workspace, run: _Run) -> str | None:
    """Run the CRM sync; None when it worked, else what failed in words (no secrets)."""
    settings = ws.config.refresh
    try:
        module = importlib.import_module("icpkit.sync")
        result = module.sync_workspace(
            ws.root, settings.source, full=settings.full_sync, base_url=settings.base_url,
            include_notes=settings.include_notes,
        )  # fmt: skip
    except ImportError:
        why = "this icpkit has no CRM sync (icpkit.sync is missing)"
    except IcpError as exc:
        why = exc.message
    except OSError as exc:
        why = f"{type(exc).__name__}: {exc.strerror or 'I/O error'}"
    else:
        summary = result.to_dict() if hasattr(result, "to_dict") else {}
        counts = {k: v for k, v in summary.items() if isinstance(v, int | float)}
        detail = ", ".join(f"{k} {v}" for k, v in counts.items()) or "done"
        run.step("sync", "ok", f"{settings.source}: {detail}")
        audit_record(ws.root, "sync", f"synced from {settings.source}: {detail}", who=run.who,
                     details=counts)  # fmt: skip
        return None
    why = alerting.scrub(why)
    run.step("sync", "failed", why)
    audit_record(ws.root, "sync", f"sync from {settings.source} failed: {why}", who=run.who)
    return why


def _gate_body(decision: GateDecision) -> str:
    return "\n".join(decision.lines())


def _state_dir(ws: Workspace) -> Path:
    folder = ws.root / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def current_scores(ws: Workspace) -> pl.DataFrame:
    """account_id, fit_score, tier and priority ('work now' …) by the version in use."""
    try:
        frame = prioritize_accounts(ws).frame
        return frame.select(
            pl.col("account_id").cast(pl.Utf8), "fit_score", pl.col("tier").cast(pl.Utf8),
            pl.col("priority").cast(pl.Utf8),
        )  # fmt: skip
    except IcpError:
        scored = score_frame(ws.store.get("latest").profile(), ws.load().accounts, reasons=False)
        return scored.select(
            pl.col("account_id").cast(pl.Utf8), "fit_score", pl.col("tier").cast(pl.Utf8),
            pl.lit(None, pl.Utf8).alias("priority"),
        )  # fmt: skip


def changed_rows(
    new: pl.DataFrame, old: pl.DataFrame | None, min_change: float
) -> tuple[pl.DataFrame, int, int]:
    """Rows whose tier changed or whose score moved by ``min_change`` or more (new rows too), and
    how many moved into Tier 1 and into 'work now'."""
    if old is None:
        t1 = new.filter(pl.col("tier") == "Tier 1").height
        return new, t1, new.filter(pl.col("priority") == "work now").height
    joined = new.join(
        old.select("account_id", pl.col("fit_score").alias("_s"), pl.col("tier").alias("_t"),
                   pl.col("priority").alias("_p")),
        on="account_id", how="left",
    )  # fmt: skip
    moved = (
        pl.col("_t").is_null()
        | (pl.col("tier") != pl.col("_t"))
        | ((pl.col("fit_score") - pl.col("_s")).abs() >= min_change)
    )
    changed = joined.filter(moved)
    into_t1 = joined.filter(
        (pl.col("tier") == "Tier 1") & (pl.col("_t").is_null() | (pl.col("_t") != "Tier 1"))
    ).height
    into_now = joined.filter(
        (pl.col("priority") == "work now") & (pl.col("_p").is_null() | (pl.col("_p") != "work now"))
    ).height
    return changed.select(new.columns), into_t1, into_now


def _rescore_and_push(ws: Workspace, run: _Run, push: str | None, dry_run: bool) -> bool:
    """Rescore with the version in use, diff against the last refresh, push the changed rows;
    True when the push was refused (wholly or partly)."""
    folder = _state_dir(ws)
    previous_path = folder / SCORES_FILE
    new = current_scores(ws)
    if previous_path.exists():
        old: pl.DataFrame | None = pl.read_parquet(previous_path)
    elif run.facts.get("live_before") is not None:
        before = ws.store.get(run.facts["live_before"]).profile()
        old = score_frame(before, ws.load().accounts, reasons=False).select(
            pl.col("account_id").cast(pl.Utf8), "fit_score", pl.col("tier").cast(pl.Utf8),
            pl.lit(None, pl.Utf8).alias("priority"),
        )  # fmt: skip
    else:
        old = None
    changed, into_t1, into_now = changed_rows(new, old, ws.config.refresh.score_change)
    run.facts.update(
        changed_rows=changed.height, moved_into_tier1=into_t1, moved_into_work_now=into_now
    )
    run.step("rescore", "ok", f"{changed.height} rows changed tier or score; "
             f"{into_t1} moved into Tier 1, {into_now} into 'work now'")  # fmt: skip
    threshold = ws.config.alerts.tier1_moves
    if into_t1 >= threshold or into_now >= threshold:
        run.alerts.append(
            Alert("tier1_moves", f"{into_t1} accounts moved into Tier 1",
                  f"{into_t1} accounts moved into Tier 1 and {into_now} into 'work now' "
                  f"(v{run.facts.get('live_after')}); {changed.height} rows changed in all.")
        )  # fmt: skip
    target = push or ws.config.refresh.push
    refused = False
    if target != "none" and changed.height:
        refused = _push(ws, run, target, changed["account_id"].to_list(), dry_run)
    elif target != "none":
        run.step("push", "skipped", "no row changed")
    if not refused:  # a refused push is retried next time: the old scores stay the baseline
        with atomic_path(previous_path) as tmp:
            new.write_parquet(tmp)
    return refused


def _push(ws: Workspace, run: _Run, target: str, ids: list[str], dry_run: bool) -> bool:
    from icpkit import pipeline

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = ws.root / ws.config.refresh.push_folder / f"{stamp}-v{run.facts.get('live_after')}"
    settings = ws.config.refresh
    try:
        if target == "hubspot":
            summary = pipeline.push_hubspot(
                ws, folder, token=os.environ.get("HUBSPOT_TOKEN"), dry_run=dry_run,
                id_property=settings.id_property,
                base_url=os.environ.get("HUBSPOT_API_BASE") or None, only=ids, who=run.who,
            )  # fmt: skip
        else:
            summary = pipeline.push_salesforce(
                ws, folder, token=os.environ.get("SALESFORCE_ACCESS_TOKEN"),
                instance_url=os.environ.get("SALESFORCE_INSTANCE_URL"), dry_run=dry_run,
                external_id=settings.id_property, only=ids, who=run.who,
            )  # fmt: skip
    except IcpError as exc:
        why = alerting.scrub(exc.message)
        run.step("push", "failed", why)
        run.alerts.append(Alert("push_refused", f"push to {target} failed",
                                f"{len(ids)} changed rows were not pushed.", "failure"))  # fmt: skip
        return True
    failed = len(summary.get("failed") or [])
    run.facts["push"] = {k: v for k, v in summary.items() if k in ("rows", "sent", "batches")} | {
        "refused": failed, "crm": target, "dry_run": dry_run,
    }  # fmt: skip
    if failed:
        run.step("push", "failed", f"{summary['rows']} rows; {failed} records refused by {target}")
        run.alerts.append(Alert("push_refused", f"{failed} records refused by {target}",
                                f"{failed} of {summary['rows']} changed rows were refused; see "
                                "push-log.jsonl in the refresh push folder.", "warning"))  # fmt: skip
        return True
    verb = "written as requests" if dry_run else "pushed"
    run.step("push", "ok", f"{summary['rows']} changed rows {verb} ({target})")
    return False


def _drift(ws: Workspace, run: _Run, today: date | None) -> None:
    """The drift verdict of the version in use; an alert when it differs from the last run's."""
    from icpkit.pipeline import drift_check

    state_path = _state_dir(ws) / STATE_FILE
    try:
        state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    except json.JSONDecodeError:
        state = {}
    try:
        verdict = str(drift_check(ws, now=today).verdict)
    except IcpError as exc:
        run.step("drift", "skipped", exc.message)
        return
    run.facts["drift"] = verdict
    before = state.get("drift")
    run.step("drift", "ok", f"verdict {verdict}" + (f" (was {before})" if before else ""))
    if before is not None and before != verdict:
        run.alerts.append(
            Alert("drift_changed", f"drift verdict changed: {before} → {verdict}",
                  f"The drift check of v{run.facts.get('live_after')} now says {verdict} "
                  f"(was {before}); run `icpkit drift` for the reasons.", "warning")
        )  # fmt: skip
    state["drift"] = verdict
    write_text_atomic(state_path, json.dumps(state) + "\n")
