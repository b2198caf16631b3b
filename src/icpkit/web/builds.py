"""Builds started from the web: one at a time, in a separate process, with the pipeline's stages
as progress. A second start while one runs is refused (:class:`BuildBusy`, HTTP 409).

The build runs in its own Python process (``python -m icpkit.web.builds``), so its CPU-bound
work never holds the server's GIL: the API keeps answering while a build runs. "One at a time"
holds across server workers (``icpkit serve --workers N``) and restarts: the build process
holds an exclusive lock on ``.icpkit/web/builds/running.lock`` (``flock``, released by the
kernel when the process ends, however it ends).

Each build's status is kept in ``.icpkit/web/builds/<id>.json`` (written atomically by the
build process on every change) and read from there, so every worker and a restarted server
answer ``GET /v1/builds/<id>`` for the last :data:`KEEP` builds; one that was running when its
process stopped reads as failed, saying so."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from icpkit import pipeline
from icpkit.atomic import write_text_atomic
from icpkit.errors import IcpError

log = logging.getLogger("icpkit.web")
KEEP = 20  # finished builds remembered for GET /v1/builds/{id}
FOLDER = (".icpkit", "web", "builds")
LOCK = "running.lock"
JOB_ID = re.compile(r"^[0-9a-f]{16}$")
STOPPED = "the server stopped before this build finished; start it again"


class BuildBusy(IcpError):
    """A build is running already."""

    kind = "conflict"


class NoSuchBuild(IcpError):
    """No build with that id among the last ones kept."""

    kind = "not_found"


@dataclass(frozen=True)
class BuildJob:
    """One build: status running | done | failed, the stage it is at and the share done."""

    id: str
    status: str
    stage: str
    progress: float
    started_at: str
    by_key: str
    finished_at: str | None = None
    version: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read(path: Path) -> BuildJob | None:
    try:
        return BuildJob(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        log.warning("build status %s is damaged; skipped", path.name)
        return None


def _write(folder: Path, job: BuildJob) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / f"{job.id}.json", json.dumps(job.to_dict()))
    except OSError as exc:  # a read-only workspace: the build still runs, unkept
        log.warning("build %s: status not kept (%s)", job.id, type(exc).__name__)


def _lock(folder: Path) -> int | None:
    """The build lock's file descriptor, held exclusively; None when a build holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class Builds:
    """The builds of one workspace started from the web (by any worker of the server).

    ``separate_process`` False runs the build in a thread of this process instead (tests that
    replace :func:`icpkit.pipeline.build_and_save` in this process use it).
    """

    separate_process = True

    def __init__(
        self,
        root: Path,
        on_done: Callable[[int], None] | None = None,
        public: Callable[[str], str] = str,
    ) -> None:
        self.root = root
        self.on_done = on_done
        self.public = public
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.folder = root.joinpath(*FOLDER)
        self._load()

    def _load(self) -> None:
        """Builds left running by a process that has stopped did not finish: say so."""
        if not self.folder.is_dir():
            return
        fd = _lock(self.folder)
        if fd is None:  # a build process is alive (another worker's): its job is running
            return
        try:
            for job in self._jobs():
                if job.status == "running":
                    _write(self.folder, replace(job, status="failed", error=STOPPED,
                                                finished_at=_now()))  # fmt: skip
        finally:
            os.close(fd)

    def _jobs(self) -> list[BuildJob]:
        """The kept builds, oldest first."""
        if not self.folder.is_dir():
            return []
        jobs = [
            job
            for path in self.folder.glob("*.json")
            if JOB_ID.match(path.stem) and (job := _read(path)) is not None
        ]
        return sorted(jobs, key=lambda j: (j.started_at, j.id))

    def start(self, by_key: str, note: str = "") -> BuildJob:
        """Start a build in a separate process, or raise BuildBusy while one runs."""
        with self._lock:
            fd = _lock(self.folder)
            if fd is None:
                running = self.running()
                what = f"build {running.id} is running ({running.stage})" if running else (
                    "a build is running")  # fmt: skip
                raise BuildBusy(f"{what}; wait for it to finish")
            job = BuildJob(
                id=secrets.token_hex(8),
                status="running",
                stage="queued",
                progress=0.0,
                started_at=_now(),
                by_key=by_key,
            )
            _write(self.folder, job)
            for old in self._jobs()[:-KEEP]:
                (self.folder / f"{old.id}.json").unlink(missing_ok=True)
            run = self._watch if self.separate_process else self._in_thread
            self._thread = threading.Thread(
                target=run, args=(job.id, note, fd), name=f"icpkit-build-{job.id}", daemon=True
            )
            self._thread.start()
            return job

    def _watch(self, job_id: str, note: str, fd: int) -> None:
        """Run the build process (it inherits the lock) and wait for it."""
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "icpkit.web.builds", str(self.root), job_id, note],
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            os.close(fd)
            self._finish(job_id, error=f"the build process could not start ({exc.strerror})")
            return
        os.close(fd)  # the child's copy of the descriptor holds the lock now
        code = child.wait()
        job = _read(self.folder / f"{job_id}.json")
        if job is not None and job.status == "running":  # killed before it could say why
            log.error("build %s: its process ended with code %s", job_id, code)
            self._finish(job_id, error="the build process stopped; the server log has the code")
        elif job is not None and job.version is not None and self.on_done is not None:
            self.on_done(job.version)

    def _in_thread(self, job_id: str, note: str, fd: int) -> None:
        try:
            version = run_build(self.root, job_id, note, self.public)
        finally:
            os.close(fd)
        if version is not None and self.on_done is not None:
            self.on_done(version)

    def _finish(self, job_id: str, error: str) -> None:
        job = _read(self.folder / f"{job_id}.json")
        if job is not None:
            _write(self.folder, replace(job, status="failed", error=error, finished_at=_now()))

    def get(self, job_id: str) -> BuildJob:
        job = _read(self.folder / f"{job_id}.json") if JOB_ID.match(job_id) else None
        if job is None:
            raise NoSuchBuild(f"no build with id {job_id[:40]!r} among the last {KEEP} builds")
        return job

    def latest(self) -> BuildJob | None:
        jobs = self._jobs()
        return jobs[-1] if jobs else None

    def running(self) -> BuildJob | None:
        latest = self.latest()
        return latest if latest is not None and latest.status == "running" else None

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the build started by this server (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


def run_build(root: Path, job_id: str, note: str, public: Callable[[str], str] = str) -> int | None:
    """Build the workspace, writing the job's stage and result to its status file."""
    folder = root.joinpath(*FOLDER)
    path = folder / f"{job_id}.json"
    stages = pipeline.BUILD_STAGES

    def update(**changes: Any) -> None:
        job = _read(path)
        if job is not None:
            _write(folder, replace(job, **changes))

    def progress(stage: str) -> None:
        done = stages.index(stage) / len(stages) if stage in stages else 0.0
        update(stage=stage, progress=round(done, 3))

    job = _read(path)
    by_key = job.by_key if job is not None else "-"
    try:
        workspace = pipeline.Workspace.open(root)
        version, _ = pipeline.build_and_save(
            workspace, note=note or "built from the web app", progress=progress,
            who=f"key {by_key}",
        )  # fmt: skip
    except IcpError as exc:
        update(status="failed", error=public(exc.message), finished_at=_now())
        return None
    except Exception as exc:  # report, never die silently
        log.error("build %s failed: %s", job_id, type(exc).__name__)
        update(
            status="failed", error="internal error; the server log has the cause",
            finished_at=_now(),
        )  # fmt: skip
        return None
    update(status="done", stage="done", progress=1.0, version=version, finished_at=_now())
    return version


def lower_priority(increment: int) -> None:
    """Lower this process's CPU priority by ``increment`` (nice), every thread of it.

    On Linux a priority belongs to a thread, and the libraries imported before this call
    (OpenBLAS) have started theirs already: each task under /proc/self/task is lowered; threads
    started later inherit the main thread's. Elsewhere, ``os.nice`` where it exists."""
    if increment <= 0:
        return
    tasks = Path("/proc/self/task")
    if hasattr(os, "setpriority") and tasks.is_dir():
        for task in tasks.iterdir():
            with contextlib.suppress(OSError, ValueError):
                tid = int(task.name)
                now = os.getpriority(os.PRIO_PROCESS, tid)
                os.setpriority(os.PRIO_PROCESS, tid, min(19, now + increment))
    elif hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(increment)


def _main(argv: list[str]) -> int:
    """``python -m icpkit.web.builds ROOT JOB_ID NOTE``: the build process."""
    from icpkit.config import load_config
    from icpkit.web.messages import public_message

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    root, job_id, note = Path(argv[0]), argv[1], argv[2]
    if not JOB_ID.match(job_id):
        return 2
    with contextlib.suppress(IcpError):  # a broken config fails the build itself, with its message
        lower_priority(load_config(root).web.build_nice)
    version = run_build(root, job_id, note, lambda m: public_message(m, root.resolve()))
    return 0 if version is not None else 1


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
