"""Keep batch-sized buffers in the process's heap while bulk scoring runs (glibc only).

Bulk scoring allocates and frees the same few batch-sized numpy arrays (codes, points, gather
indices: 0.5–10 MB each) for every batch of a file. glibc's malloc serves a block above its
``mmap`` threshold (128 kB until the first such block is freed, then raised step by step up to
32 MB) from a fresh mapping, and gives the top of its heap back to the kernel once more than
twice that threshold lies free there: either way the next batch's arrays land on pages the
kernel must fault in and zero again. On a 10M-row file that was 85–100k page faults and
0.5–1.2 s of system time, a third of the CPU time of score + tier (bench/RESULTS.md, bulk2).

:func:`steady_heap` sets both limits at once to where glibc's own rule ends up in any process
that has freed a 32 MB block (mmap above 32 MB, trim beyond 64 MB free), so batch buffers are
reused from the heap from the first batch on. It holds at most 64 MB more free memory per arena
than the kernel would otherwise get back. Other C libraries (musl, macOS) are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # glibc's own rule: trim at twice the mmap threshold
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


@functools.cache
def steady_heap() -> bool:
    """Fix glibc's mmap and trim thresholds at their steady values (once per process).

    Returns True when they were set (glibc), False elsewhere."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
