"""The version in use: candidates wait, promote and rollback move the live pointer in one step."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.errors import StoreError
from icpkit.lifecycle.audit import read, verify
from icpkit.lifecycle.store import Store
from icpkit.profile import IcpProfile, RuleEvidence
from icpkit.refresh.live import promote, rollback


def _profile(rule: str) -> str:
    crit = RuleEvidence(
        rule=rule, support=40, coverage=0.5, precision=0.6, lift=2.0, lift_ci=(1.5, 2.5)
    )
    return IcpProfile(name="icp", criteria=[crit], statement=rule).to_json()


def _save(store: Store, rule: str, *, candidate: bool = False) -> int:
    return store.save(
        _profile(rule), config_hash="abc", fingerprint={}, validation=None, candidate=candidate
    )


def test_plain_builds_go_live_and_candidates_wait(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.live() is None
    assert _save(store, "industry = 'A'") == 1
    assert store.live() == 1
    assert _save(store, "industry = 'B'", candidate=True) == 2
    assert store.live() == 1
    assert store.get("latest").version == 1  # every default (score, export, server) follows
    assert store.get("live").version == 1 and store.get("newest").version == 2
    assert [i.status for i in store.list()] == ["live", "candidate"]


def test_promote_and_rollback(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _save(store, "industry = 'A'")
    _save(store, "industry = 'B'", candidate=True)
    change = promote(tmp_path, "2", who="ops")
    assert (change.previous, change.live, change.status_before) == (1, 2, "candidate")
    assert change.seconds < 1.0  # one small SQLite write (issue: "< 1 s")
    assert store.get("latest").profile().statement == "industry = 'B'"
    assert store.get("previous").version == 1
    back = rollback(tmp_path)
    assert (back.previous, back.live) == (2, 1)
    assert store.get("latest").profile().statement == "industry = 'A'"
    assert len(store.list()) == 2  # nothing deleted
    assert [h["action"] for h in store.history()] == ["build", "promote", "rollback"]
    assert [e.event for e in read(tmp_path)] == ["promote", "rollback"]
    assert verify(tmp_path).ok


def test_promote_a_live_version_or_a_missing_one_says_so(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _save(store, "industry = 'A'")
    with pytest.raises(StoreError, match="already the version in use"):
        promote(tmp_path, 1)
    with pytest.raises(StoreError, match="no version 9"):
        promote(tmp_path, 9)


def test_rejected_candidates_are_kept_and_shown(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _save(store, "industry = 'A'")
    number = _save(store, "industry = 'B'", candidate=True)
    store.mark(number, "rejected", "its held-out AUC is worse", {"decision": "reject"})
    state = store.state(number)
    assert state["status"] == "rejected" and state["gate"] == {"decision": "reject"}
    assert "[rejected]" in store.list()[1].summary_line()
    # a plain build after a rejected candidate: previous is the version in use before, not v2
    _save(store, "industry = 'C'")
    assert store.get("previous").version == 1


def test_a_store_from_before_the_live_pointer_uses_the_newest(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _save(store, "industry = 'A'")
    _save(store, "industry = 'B'")
    with sqlite3.connect(store.path) as conn:  # as an older icpkit left it
        conn.execute("DELETE FROM meta WHERE key = 'live'")
        conn.execute("DROP TABLE version_state")
        conn.execute("DROP TABLE live_history")
    assert store.live() == 2 and store.get("latest").version == 2
    assert store.get("previous").version == 1
    promote(tmp_path, 1)  # the tables come back on the first write
    assert store.live() == 1


def test_cli_versions_promote_rollback(tmp_path: Path) -> None:
    (tmp_path / "icpkit.toml").write_text('name = "t"\n', encoding="utf-8")
    store = Store(tmp_path)
    _save(store, "industry = 'A'")
    _save(store, "industry = 'B'", candidate=True)
    runner = CliRunner()
    listed = runner.invoke(app, ["versions", "-w", str(tmp_path)])
    assert "[live]" in listed.output and "[candidate]" in listed.output
    done = runner.invoke(app, ["promote", "v2", "-w", str(tmp_path)])
    assert done.exit_code == 0 and "v2 is now the version in use" in done.output
    again = runner.invoke(app, ["rollback", "-w", str(tmp_path), "--json"])
    assert again.exit_code == 0 and '"live": 1' in again.output
    missing = runner.invoke(app, ["promote", "v7", "-w", str(tmp_path)])
    assert missing.exit_code != 0 and "no version 7" in missing.output


def test_the_server_follows_promote_and_rollback_and_shows_the_audit(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from icpkit.datasets import make_crm
    from icpkit.scoring.spec import spec_to_profile
    from icpkit.web.app import create_app
    from icpkit.web.keys import KeyStore

    make_crm(60, seed=1).write_workspace(tmp_path)
    store = Store(tmp_path)
    for rule, candidate in (("industry = 'Software'", False), ("region = 'EMEA'", True)):
        profile = spec_to_profile({"criteria": [{"rule": rule, "points": 40}]})
        store.save(profile.to_json(), config_hash="x", fingerprint={}, validation=None,
                   candidate=candidate)  # fmt: skip
    key = KeyStore(tmp_path).create("read", "revops")[0]
    client = TestClient(create_app(tmp_path), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {key}"}

    def served() -> int:
        return int(client.get("/v1/profile", headers=headers).json()["version"])

    assert served() == 1
    promote(tmp_path, 2, who="ops")
    assert served() == 2
    rollback(tmp_path)
    assert served() == 1
    page = client.get("/revops", headers=headers).text
    assert "Audit log" in page and "Version in use: <strong>v1</strong>" in page
    assert "rollback" in page and "hash chain is intact" in page
