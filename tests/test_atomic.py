"""Atomic output: a failure leaves the old file; a success has the permissions a user expects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from icpkit.atomic import atomic_path, write_text_atomic


def test_failure_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "report.html", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = write_text_atomic(tmp_path / "icp.md", "x")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644
