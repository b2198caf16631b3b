"""The audit log: append-only JSON lines, hash-chained, and `icpkit audit --verify` finds edits."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.lifecycle.audit import (
    AuditError,
    audit_path,
    read,
    record,
    verify,
)


def _three(ws: Path) -> None:
    record(ws, "build", "built v1 (version in use) from 100 accounts", version=1, who="ops")
    record(ws, "promote", "promote: v1 → v2", version=2)
    record(ws, "push", "pushed 12 rows to HubSpot", version=2, details={"rows": 12})


def test_events_chain_and_verify(tmp_path: Path) -> None:
    _three(tmp_path)
    events = read(tmp_path)
    assert [e.event for e in events] == ["build", "promote", "push"]
    assert events[0].who == "ops" and events[1].who  # the OS user when not given
    assert events[1].prev == events[0].hash and events[2].prev == events[1].hash
    assert verify(tmp_path).ok
    assert read(tmp_path, limit=1)[0].event == "push"


def _lines(ws: Path) -> list[str]:
    return audit_path(ws).read_text(encoding="utf-8").splitlines()


def _write(ws: Path, lines: list[str]) -> None:
    audit_path(ws).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_edited_line_is_found(tmp_path: Path) -> None:
    _three(tmp_path)
    lines = _lines(tmp_path)
    data = json.loads(lines[1])
    data["what"] = "promote: v1 → v9"
    _write(tmp_path, [lines[0], json.dumps(data, sort_keys=True), lines[2]])
    found = verify(tmp_path)
    assert not found.ok
    assert any("line 2" in p and "edited" in p for p in found.problems)


def test_a_deleted_line_is_found(tmp_path: Path) -> None:
    _three(tmp_path)
    lines = _lines(tmp_path)
    _write(tmp_path, [lines[0], lines[2]])
    found = verify(tmp_path)
    assert not found.ok and any("line 2" in p for p in found.problems)


def test_a_line_cut_off_the_end_is_found(tmp_path: Path) -> None:
    _three(tmp_path)
    _write(tmp_path, _lines(tmp_path)[:2])
    found = verify(tmp_path)
    assert not found.ok and any("cut off the end" in p for p in found.problems)


def test_appends_from_threads_keep_one_chain(tmp_path: Path) -> None:
    def work(i: int) -> None:
        for j in range(10):
            record(tmp_path, "feedback", f"verdict {i}-{j}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert verify(tmp_path).ok and len(read(tmp_path)) == 40


def test_unknown_event_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="audit event must be one of"):
        record(tmp_path, "deleted_everything", "x")


def test_cli_prints_and_verifies(tmp_path: Path) -> None:
    _three(tmp_path)
    runner = CliRunner()
    shown = runner.invoke(app, ["audit", "-w", str(tmp_path)])
    assert shown.exit_code == 0 and "pushed 12 rows to HubSpot" in shown.output
    ok = runner.invoke(app, ["audit", "-w", str(tmp_path), "--verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    lines = _lines(tmp_path)
    _write(tmp_path, [lines[0], lines[1].replace("v2", "v7"), lines[2]])
    bad = runner.invoke(app, ["audit", "-w", str(tmp_path), "--verify"])
    assert bad.exit_code == 1 and "TAMPERED" in bad.output


def test_key_create_and_revoke_are_audited(tmp_path: Path) -> None:
    from icpkit.web.keys import KeyStore

    keys = KeyStore(tmp_path)
    secret, rec = keys.create("read", "revops")
    keys.revoke(rec.key_id)
    events = read(tmp_path)
    assert [e.event for e in events] == ["key_created", "key_revoked"]
    assert rec.key_id in events[0].what
    assert (
        "revops" not in events[0].what
    )  # a label may be a person's name: it stays in the key file
    assert secret not in audit_path(tmp_path).read_text(encoding="utf-8")  # never the key
