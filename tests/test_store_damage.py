"""A damaged store is never written into; damaged rows name their version; a full disk leaves the
store as it was and the next save works."""

from __future__ import annotations

import hashlib
import json
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.errors import StoreError
from icpkit.lifecycle.store import Store
from icpkit.profile import IcpProfile


def _save(store: Store, note: str = "") -> int:
    profile = IcpProfile(name="t", statement="x" * 2000)
    return store.save(
        profile.to_json(),
        config_hash="h",
        fingerprint={"accounts": {"rows": 3}},
        validation=None,
        note=note,
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    (tmp_path / "icpkit.toml").write_text('name = "t"\n', encoding="utf-8")
    s = Store(tmp_path)
    for i in range(3):
        _save(s, f"v{i}")
    with sqlite3.connect(s.path) as conn:  # fold the WAL into the file, so bytes are on disk
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return s


def test_flipped_bytes_refuse_a_write_and_leave_the_file_as_it_was(store: Store) -> None:
    data = bytearray(store.path.read_bytes())
    page = 4096
    for i in range(page + 16, len(data), 97):  # every page after the header page, scattered
        data[i] ^= 0xFF
    store.path.write_bytes(bytes(data))
    before = _digest(store.path)
    with pytest.raises(StoreError) as info:
        _save(store)
    assert "versions --export" in str(info.value)
    assert _digest(store.path) == before


def test_an_invalid_json_row_names_its_version_everywhere(store: Store, tmp_path: Path) -> None:
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE versions SET profile_json = '{not json' WHERE version = 2")
    listed = store.list()
    assert "DAMAGED" in listed[1].note and "DAMAGED" not in listed[0].note
    with pytest.raises(StoreError, match="version 2 is damaged"):
        store.get(2)
    with pytest.raises(StoreError, match="v2"):
        _save(store)
    written, skipped = store.export(tmp_path / "backup")
    assert sorted(p.name for p in written) == ["icp-v1.json", "icp-v3.json"]
    assert skipped and skipped[0].startswith("v2")
    assert json.loads(written[0].read_text(encoding="utf-8"))["name"] == "t"
    runner = CliRunner()
    result = runner.invoke(app, ["versions", "-w", str(tmp_path)])
    assert result.exit_code == 0 and "DAMAGED" in result.output
    result = runner.invoke(app, ["diff", "1", "2", "-w", str(tmp_path)])
    assert result.exit_code != 0 and "version 2 is damaged" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    result = runner.invoke(app, ["versions", "-w", str(tmp_path), "--export", str(tmp_path / "b2")])
    assert (tmp_path / "b2" / "icp-v3.json").exists() and result.exit_code == 1


_CHILD = """
import sys
from pathlib import Path
from icpkit.errors import StoreError
from icpkit.lifecycle.store import Store
from icpkit.profile import IcpProfile
store = Store(Path(sys.argv[1]))
try:
    store.save(IcpProfile(name="big", statement="y" * 400_000).to_json(), config_hash="h",
               fingerprint={}, validation=None)
except StoreError as exc:
    print("STORE_ERROR", exc)
    sys.exit(3)
"""


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = 200_000
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE as a full disk: Linux")
def test_a_full_disk_during_save_is_one_message_and_the_store_is_untouched(store: Store) -> None:
    before = [i.version for i in store.list()]
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(store.workspace_dir)],
        preexec_fn=_limited,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 3, run.stderr
    assert "disk is full" in run.stdout and "Traceback" not in run.stderr
    assert [i.version for i in store.list()] == before
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert _save(store) == before[-1] + 1  # the next save works: no "cannot rollback"
