"""glibc's malloc accepts the steady thresholds bulk scoring sets (``mallopt`` returns 0 when it
refuses a value); with any other C library nothing is touched."""

from __future__ import annotations

import platform

import pytest

from icpkit.scoring import heap


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_glibc_takes_the_steady_thresholds() -> None:
    assert heap.MMAP_THRESHOLD == 32 << 20 and heap.TRIM_THRESHOLD == 2 * heap.MMAP_THRESHOLD
    assert heap.steady_heap() is True
    assert heap.steady_heap() is True  # once per process, then cached


def test_other_c_libraries_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    steady = heap.steady_heap.__wrapped__  # the uncached function
    monkeypatch.setattr(platform, "libc_ver", lambda: ("musl", "1.2"))
    assert steady() is False
