"""Atomic file output: write to a temporary name in the target folder, rename on success.

A failed or killed run never leaves a half-written file under the real name. A temporary file
carries the writer's process id (``.NAME.<pid>.<random>.part``); the next write to the same target
removes the ones whose process is gone (a run killed by SIGKILL or a power cut cannot clean up after
itself), so a killed bulk score does not strand gigabytes of hidden files.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    On an exception the temporary file is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); a report is meant to be shared like any file
        # the user writes, so give it the mode the umask allows.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale(target: Path) -> list[Path]:
    """Remove the temporary files of earlier writes to ``target`` whose process has died."""
    removed = []
    prefix = f".{target.name}."
    for tmp in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        pid = tmp.name[len(prefix) :].split(".", 1)[0]
        if not (pid.isascii() and pid.isdigit()) or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def write_text_atomic(target: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically and return ``target``."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)
