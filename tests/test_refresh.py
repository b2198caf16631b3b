"""`icpkit refresh`: sync → check → candidate → gate → rescore → push → alerts, with exit codes."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import polars as pl
import pytest
import tomli_w
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.datasets import SyntheticCrm, make_crm
from icpkit.errors import IcpError
from icpkit.lifecycle.alerts import ENV_URLS
from icpkit.lifecycle.audit import read, verify
from icpkit.lifecycle.store import fingerprint
from icpkit.pipeline import Workspace
from icpkit.refresh.run import EXIT_CODES, changed_rows, refresh
from icpkit.scoring.spec import spec_to_profile
from webhook import webhook_receiver

SPEC = {"criteria": [{"rule": "industry = 'Software'", "points": 40}]}


def _workspace(tmp_path: Path, n: int = 150, seed: int = 2, **refresh: object) -> SyntheticCrm:
    crm = make_crm(n, seed=seed)
    config_path = crm.write_workspace(tmp_path, fmt="parquet")
    if refresh:
        config = tomllib_load(config_path)
        config["refresh"] = refresh
        config_path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return crm


def tomllib_load(path: Path) -> dict:
    import tomllib

    return tomllib.loads(path.read_text(encoding="utf-8"))


def _live_from_these_files(tmp_path: Path) -> int:
    """Save a version in use built 'from' the workspace's current files (fast: a spec profile)."""
    ws = Workspace.open(tmp_path)
    return ws.store.save(
        spec_to_profile(SPEC).to_json(), config_hash=ws.config.content_hash(),
        fingerprint=fingerprint(ws.load()), validation=None,
    )  # fmt: skip


def _no_pii(texts: list[str], crm: SyntheticCrm) -> None:
    joined = "\n".join(texts)
    for value in [*crm.contacts["email"].to_list()[:200], *crm.contacts["name"].to_list()[:200]]:
        assert value not in joined


@pytest.fixture
def fake_sync(monkeypatch: pytest.MonkeyPatch):
    """A stand-in for icpkit.sync (built by another issue's work; wired at merge)."""
    calls: list[tuple] = []
    module = types.ModuleType("icpkit.sync")

    class Result:
        def to_dict(self) -> dict:
            return {"records": 150, "api_calls": 3}

    def sync_workspace(root, source, *, full=False, base_url=None, include_notes=False):
        calls.append((Path(root), source, full, base_url, include_notes))
        if source == "salesforce":
            raise IcpError("Salesforce refused the token for ops@example.com (401)")
        return Result()

    module.sync_workspace = sync_workspace  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "icpkit.sync", module)
    return calls


def test_nothing_to_do_after_a_sync_exits_0(tmp_path: Path, fake_sync: list) -> None:
    _workspace(tmp_path, source="hubspot", full_sync=True)
    _live_from_these_files(tmp_path)
    result = refresh(tmp_path, who="scheduler")
    assert (result.status, result.exit_code) == ("nothing_to_do", 0)
    assert fake_sync == [(tmp_path, "hubspot", True, None, False)]
    assert [s.name for s in result.steps][:3] == ["sync", "check", "build"]
    events = read(tmp_path)
    assert [e.event for e in events] == ["sync", "refresh"]
    assert events[0].who == "scheduler" and "records 150" in events[0].what
    assert verify(tmp_path).ok


def test_sync_failure_exits_21_and_alerts_without_pii(
    tmp_path: Path, fake_sync: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = _workspace(tmp_path, source="salesforce")
    with webhook_receiver() as hook:
        monkeypatch.setenv(ENV_URLS, hook.url)
        result = refresh(tmp_path)
    assert (result.status, result.exit_code) == ("sync_failed", EXIT_CODES["sync_failed"]) == (
        "sync_failed", 21,
    )  # fmt: skip
    assert len(hook.posts) == 1 and "sync from salesforce failed" in hook.posts[0]["title"]
    text = hook.texts()[0] + json.dumps(result.to_dict(), default=str)
    assert "ops@example.com" not in text  # scrubbed from the step, the alert and the audit
    assert "ops@example.com" not in (tmp_path / ".icpkit" / "audit.jsonl").read_text()
    _no_pii(hook.texts(), crm)


def test_missing_sync_module_is_a_sync_failure(tmp_path: Path, monkeypatch) -> None:
    _workspace(tmp_path, source="hubspot")
    monkeypatch.setitem(sys.modules, "icpkit.sync", None)  # import raises ImportError
    result = refresh(tmp_path)
    assert result.exit_code == 21 and "icpkit.sync is missing" in result.steps[0].detail


def test_failed_check_exits_20_and_builds_nothing(tmp_path: Path) -> None:
    _workspace(tmp_path)
    accounts = pl.read_parquet(tmp_path / "accounts.parquet").drop("account_id")
    accounts.write_parquet(tmp_path / "accounts.parquet")
    result = refresh(tmp_path)
    assert (result.status, result.exit_code) == ("check_failed", 20)
    assert not (tmp_path / ".icpkit" / "versions.sqlite").exists()
    assert [e.event for e in read(tmp_path)] == ["check", "refresh"]


def test_cli_exit_code_is_the_refresh_status(tmp_path: Path, fake_sync: list) -> None:
    _workspace(tmp_path, source="salesforce")
    out = CliRunner().invoke(app, ["refresh", "-w", str(tmp_path), "--json"])
    assert out.exit_code == 21
    assert json.loads(out.output)["status"] == "sync_failed"


def test_changed_rows_counts_moves_into_tier1_and_work_now() -> None:
    old = pl.DataFrame({
        "account_id": ["a", "b", "c", "d"], "fit_score": [80.0, 50.0, 30.0, 10.0],
        "tier": ["Tier 1", "Tier 2", "Tier 3", "Non-fit"],
        "priority": ["work now", "nurture", "watch", "do not chase"],
    })  # fmt: skip
    new = pl.DataFrame({
        "account_id": ["a", "b", "c", "d", "e"], "fit_score": [80.4, 75.0, 33.0, 10.0, 90.0],
        "tier": ["Tier 1", "Tier 1", "Tier 3", "Non-fit", "Tier 1"],
        "priority": ["work now", "work now", "watch", "do not chase", "work this week"],
    })  # fmt: skip
    changed, into_t1, into_now = changed_rows(new, old, 1.0)
    assert changed["account_id"].to_list() == ["b", "c", "e"]  # a moved 0.4 points only
    assert (into_t1, into_now) == (2, 1)


@pytest.mark.slow
def test_refresh_end_to_end_promotes_pushes_changes_and_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = _workspace(
        tmp_path, n=500, seed=4, push="salesforce", min_closed=20, id_property="Icp_Key__c"
    )
    first = _live_from_these_files(tmp_path)  # a weak hand-written champion
    with webhook_receiver() as hook:
        monkeypatch.setenv(ENV_URLS, hook.url)
        result = refresh(tmp_path, force=True, dry_run=True)
    assert result.gate is not None
    assert result.status == "promoted", result.lines()
    assert result.live_after == result.candidate == first + 1
    assert result.push is not None and result.push["dry_run"]
    assert 0 < result.changed_rows == result.push["rows"]
    assert any(p["title"].endswith(f"v{result.candidate} is now in use") for p in hook.posts)
    _no_pii(hook.texts(), crm)
    ws = Workspace.open(tmp_path)
    assert ws.store.get("latest").version == result.candidate
    # again with no new data: nothing to do
    assert refresh(tmp_path).status == "nothing_to_do"
    # rollback: scores are the old version's again
    out = CliRunner().invoke(app, ["rollback", "-w", str(tmp_path)])
    assert out.exit_code == 0
    assert ws.store.get("latest").version == first
    events = [e.event for e in read(tmp_path)]
    assert {"build", "promote", "refresh", "rollback"} <= set(events) and verify(tmp_path).ok
