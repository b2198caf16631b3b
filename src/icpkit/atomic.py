"""Atomic file output: write to a temporary name in the target folder, rename on success.

A failed or killed run never leaves a half-written file under the real name. A temporary file
carries the writer's process id (``.NAME.<pid>.<random>.part``); the next write to the same target
removes the ones whose process is gone (a run killed by SIGKILL or a power cut cannot clean up after
itself), so a killed bulk score does not strand gigabytes of hidden files.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import sys
import tempfile
import threading
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
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent
        )
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(target)) from None
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


# Permission errors: a read-only folder (mount, share, chmod) or a file the user may not read.
PERMISSION_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def _may(path: Path, mode: int) -> bool:
    """os.access by the effective user (the one the kernel checks a write against)."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def folder_writable(folder: Path) -> bool:
    """Whether this process may create files in ``folder`` (a read-only mount counts as not)."""
    return _may(folder, os.W_OK | os.X_OK)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def shown_path(path: Path, workspace: Path | None = None) -> str:
    """A path as messages show it: relative to the workspace when inside it, else its last two
    parts (a message never carries the server's absolute paths)."""
    path = Path(path)
    if workspace is not None and _inside(path, Path(workspace)):
        return path.resolve().relative_to(Path(workspace).resolve()).as_posix()
    return Path(*path.parts[-2:]).as_posix() if len(path.parts) > 1 else path.name


def permission_message(exc: OSError, workspace: Path | None = None) -> str | None:
    """One sentence for a permission error (None for any other OSError).

    A failed write in a folder this process may not write to is the folder being read-only (the
    usual case: a workspace on a read-only share or mount); a file that exists but may not be
    read says so. Paths are shown relative to the workspace.
    """
    if exc.errno not in PERMISSION_ERRNOS:
        return None
    if not exc.filename:
        return f"permission denied ({exc.strerror}); nothing was changed."
    target = Path(exc.filename)
    name = shown_path(target, workspace)
    outside = workspace is not None and not _inside(target, Path(workspace))
    where = "the output folder" if outside else "the workspace folder"
    if exc.errno == errno.EROFS or (target.parent.exists() and not folder_writable(target.parent)):
        return (
            f"{where} is read-only: {name} cannot be written. Make the folder writable (or "
            "copy the workspace to a writable one) and run again; nothing was changed."
        )
    if target.exists() and not _may(target, os.R_OK):
        return f"{name} cannot be read: permission denied. Give this user read access to it."
    return f"{name}: permission denied ({exc.strerror}); nothing was changed."


# An exclusive, non-blocking lock on an open file (one push log, one sync at a time): raises
# OSError when another process holds it.
if sys.platform == "win32":  # pragma: no cover
    import msvcrt

    def lock_nonblocking(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def lock_nonblocking(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def locked_beside(path: Path, thread_lock: threading.Lock) -> Iterator[None]:
    """Hold ``thread_lock`` and an exclusive (waiting) lock on ``<path>.lock``: one writer at a
    time across threads and processes (the feedback log, the audit log). Where flock does not
    exist the thread lock alone serialises one server's writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with thread_lock, open(path.with_suffix(".lock"), "a") as handle:
        if sys.platform != "win32":
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if sys.platform != "win32":
                fcntl.flock(handle, fcntl.LOCK_UN)
