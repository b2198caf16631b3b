"""The version store: numbering, lookup, errors, atomicity under SIGKILL and concurrent saves."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from icpkit.data.model import CrmData
from icpkit.errors import StoreError
from icpkit.lifecycle.store import Store, fingerprint
from icpkit.profile import IcpProfile, RuleEvidence

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _profile(name: str = "icp", rule: str = "industry = 'Software'") -> str:
    crit = RuleEvidence(
        rule=rule, support=40, coverage=0.5, precision=0.6, lift=2.0, lift_ci=(1.5, 2.5)
    )
    return IcpProfile(name=name, criteria=[crit], statement="Software firms").to_json()


def _crm(n: int = 5) -> CrmData:
    accounts = pl.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "employees": [float(i * 10) for i in range(n)],
            "tech_stack": [["x", "y"]] * n,
        }
    )
    return CrmData(accounts=accounts)


def _save(store: Store, note: str = "", profile: str | None = None) -> int:
    return store.save(
        profile or _profile(),
        config_hash="abc",
        fingerprint=fingerprint(_crm()),
        validation={"auc": 0.7},
        note=note,
    )


def test_versions_are_numbered_and_read_back(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert [_save(store, "first"), _save(store, "second"), _save(store, "third")] == [1, 2, 3]
    infos = store.list()
    assert [i.version for i in infos] == [1, 2, 3]
    assert infos[0].note == "first" and infos[0].rows == {"accounts": 5}
    assert "v1" in infos[0].summary_line()
    got = store.get(2)
    assert got.note == "second" and got.validation == {"auc": 0.7}
    assert got.profile().criteria[0].rule == "industry = 'Software'"
    assert json.dumps(got.to_dict())  # JSON-safe
    assert store.to_frame().height == 3
    assert (tmp_path / ".icpkit" / "versions.sqlite").exists()


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("latest", 3), ("previous", 2), (1, 1), ("v3", 3), ("2", 2), (" V1 ", 1)],
)
def test_version_references(tmp_path: Path, ref: int | str, expected: int) -> None:
    store = Store(tmp_path)
    for _ in range(3):
        _save(store)
    assert store.get(ref).version == expected
    assert store.latest().version == 3


@pytest.mark.parametrize(
    "ref", [7, "v9", "nope", 0, "²", "v¹"]
)  # unicode digits: isdigit() but not int()
def test_unknown_version_lists_the_existing_ones(tmp_path: Path, ref: int | str) -> None:
    store = Store(tmp_path)
    _save(store)
    _save(store)
    with pytest.raises(StoreError, match=r"v1, v2"):
        store.get(ref)


def test_missing_store_is_a_store_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for call in (store.list, store.latest):
        with pytest.raises(StoreError, match="icpkit build"):
            call()
    assert not (tmp_path / ".icpkit").exists()  # reading never creates the store


def test_previous_needs_two_versions(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _save(store)
    with pytest.raises(StoreError, match="no previous"):
        store.get("previous")


def test_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / ".icpkit" / "versions.sqlite"
    path.parent.mkdir()
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot be read"):
        Store(tmp_path).list()


def test_invalid_profile_is_refused_before_writing(tmp_path: Path) -> None:
    from icpkit.errors import ConfigError

    with pytest.raises(ConfigError):
        Store(tmp_path).save("{not json", config_hash="x", fingerprint={}, validation=None)
    with pytest.raises(StoreError):
        Store(tmp_path).list()


def test_fingerprint_sees_content_changes() -> None:
    a, b = _crm(), _crm()
    assert fingerprint(a) == fingerprint(b)
    b.accounts = b.accounts.with_columns(pl.col("employees") + 1)
    fa, fb = fingerprint(a), fingerprint(b)
    assert fa["accounts"]["rows"] == fb["accounts"]["rows"] == 5
    assert fa["accounts"]["hash"] != fb["accounts"]["hash"]


_SAVER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {src!r})
    from pathlib import Path
    from icpkit.profile import IcpProfile
    from icpkit.lifecycle.store import Store
    store = Store(Path({ws!r}))
    # A large profile makes each save take long enough for a kill to land inside one.
    big = IcpProfile(name="big", statement="x" * {size}).to_json()
    for i in range({count}):
        store.save(big, config_hash="h", fingerprint={{"accounts": {{"rows": i}}}},
                   validation=None, note="{tag}-" + str(i))
        print(i, flush=True)
    Path({done!r}).write_text("done")
    """
)
# Only a safety net against a hung child: the tests assert on the store's state, never on time.
# A loaded 2-core runner took 91 s for what a quiet one does in 10.
HUNG_AFTER_S = 1800.0


def _marker(ws: Path, tag: str) -> Path:
    return ws / f"saver-{tag}.done"


def _spawn(ws: Path, *, tag: str, count: int, size: int) -> subprocess.Popen[str]:
    code = _SAVER.format(
        src=SRC, ws=str(ws), tag=tag, count=count, size=size, done=str(_marker(ws, tag))
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def _wait_until_done(ws: Path, procs: dict[str, subprocess.Popen[str]]) -> None:
    """Poll for each saver's marker file; fail at once when a saver dies without writing it."""
    deadline = time.monotonic() + HUNG_AFTER_S
    pending = dict(procs)
    while pending:
        for tag, proc in list(pending.items()):
            if _marker(ws, tag).exists():
                proc.communicate()  # reap it (it is done: nothing to wait for)
                assert proc.returncode == 0
                del pending[tag]
            elif proc.poll() is not None:
                pytest.fail(f"saver {tag!r} exited with code {proc.returncode} before finishing")
        if pending and time.monotonic() > deadline:
            saved = len(Store(ws).list()) if (ws / ".icpkit").exists() else 0
            for proc in pending.values():
                proc.kill()
            pytest.fail(f"savers {sorted(pending)} hung: {saved} versions saved so far")
        time.sleep(0.1)


def _check_intact(ws: Path) -> list[int]:
    path = ws / ".icpkit" / "versions.sqlite"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = Store(ws)
    numbers = [i.version for i in store.list()]
    assert numbers == list(range(1, len(numbers) + 1))
    for n in numbers:
        assert store.get(n).profile().name in {"big", "icp"}
    return numbers


def test_kill_mid_save_leaves_previous_versions_intact(tmp_path: Path) -> None:
    before = 0
    for round_no, delay in enumerate((0.05, 0.23, 0.41)):
        proc = _spawn(tmp_path, tag=f"r{round_no}", count=10_000, size=4_000_000)
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one save finished in this round
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        numbers = _check_intact(tmp_path)
        assert len(numbers) > before
        before = len(numbers)
    # The store still accepts saves after the kills, and numbering continues without a gap.
    assert _save(Store(tmp_path)) == before + 1


def test_two_concurrent_builds_get_unique_gap_free_versions(tmp_path: Path) -> None:
    procs = {t: _spawn(tmp_path, tag=t, count=25, size=20_000) for t in ("a", "b")}
    _wait_until_done(tmp_path, procs)
    assert _check_intact(tmp_path) == list(range(1, 51))
    notes = {i.note for i in Store(tmp_path).list()}
    assert notes == {f"{t}-{i}" for t in ("a", "b") for i in range(25)}
