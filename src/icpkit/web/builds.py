"""Builds started from the web: one at a time, in a background thread, with the pipeline's stages
as progress. A second start while one runs is refused (:class:`BuildBusy`, HTTP 409).

Each build's status is kept in ``.icpkit/web/builds/<id>.json`` (written atomically on every
change), so a restarted server still answers ``GET /v1/builds/<id>`` for the last :data:`KEEP`
builds; one that was running when the server stopped reads as failed, saying so."""

from __future__ import annotations

import json
import logging
import re
import secrets
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


class Builds:
    """The builds of one workspace started by this server."""

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
        self._jobs: dict[str, BuildJob] = {}
        self._order: list[str] = []
        self._thread: threading.Thread | None = None
        self.folder = root.joinpath(*FOLDER)
        self._load()

    def _load(self) -> None:
        """The builds kept by earlier runs of the server; running ones did not finish."""
        if not self.folder.is_dir():
            return
        jobs = []
        for path in self.folder.glob("*.json"):
            if not JOB_ID.match(path.stem):
                continue
            try:
                job = BuildJob(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                log.warning("build status %s is damaged; skipped", path.name)
                continue
            if job.status == "running":
                job = replace(job, status="failed", error=STOPPED, finished_at=_now())
                self._write(job)
            jobs.append(job)
        for job in sorted(jobs, key=lambda j: (j.started_at, j.id))[-KEEP:]:
            self._order.append(job.id)
            self._jobs[job.id] = job

    def _write(self, job: BuildJob) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.folder / f"{job.id}.json", json.dumps(job.to_dict()))
        except OSError as exc:  # a read-only workspace: the build still runs, unkept
            log.warning("build %s: status not kept (%s)", job.id, type(exc).__name__)

    def start(self, by_key: str, note: str = "") -> BuildJob:
        """Start a build in a background thread, or raise BuildBusy while one runs."""
        with self._lock:
            running = self.running()
            if running is not None:
                raise BuildBusy(
                    f"build {running.id} is running ({running.stage}); wait for it to finish"
                )
            job = BuildJob(
                id=secrets.token_hex(8),
                status="running",
                stage="queued",
                progress=0.0,
                started_at=_now(),
                by_key=by_key,
            )
            self._store(job)
            self._thread = threading.Thread(
                target=self._run, args=(job.id, note), name=f"icpkit-build-{job.id}", daemon=True
            )
            self._thread.start()
            return job

    def get(self, job_id: str) -> BuildJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NoSuchBuild(f"no build with id {job_id[:40]!r} among the last {KEEP} builds")
        return job

    def latest(self) -> BuildJob | None:
        with self._lock:
            return self._jobs[self._order[-1]] if self._order else None

    def running(self) -> BuildJob | None:
        latest = self._jobs[self._order[-1]] if self._order else None
        return latest if latest is not None and latest.status == "running" else None

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running build's thread (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _store(self, job: BuildJob) -> None:
        if job.id not in self._jobs:
            self._order.append(job.id)
        self._jobs[job.id] = job
        self._write(job)
        for old in self._order[:-KEEP]:
            self._jobs.pop(old, None)
            (self.folder / f"{old}.json").unlink(missing_ok=True)
        self._order = self._order[-KEEP:]

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._store(replace(self._jobs[job_id], **changes))

    def _run(self, job_id: str, note: str) -> None:
        stages = pipeline.BUILD_STAGES

        def progress(stage: str) -> None:
            done = stages.index(stage) / len(stages) if stage in stages else 0.0
            self._update(job_id, stage=stage, progress=round(done, 3))

        try:
            workspace = pipeline.Workspace.open(self.root)
            version, _ = pipeline.build_and_save(
                workspace, note=note or "built from the web app", progress=progress,
                who=f"key {self._jobs[job_id].by_key}",
            )  # fmt: skip
        except IcpError as exc:
            self._update(
                job_id, status="failed", error=self.public(exc.message), finished_at=_now()
            )
            return
        except Exception as exc:  # a thread must report, never die silently
            log.error("build %s failed: %s", job_id, type(exc).__name__)
            self._update(
                job_id,
                status="failed",
                error="internal error; the server log has the cause",
                finished_at=_now(),
            )
            return
        if self.on_done is not None:
            self.on_done(version)
        self._update(
            job_id, status="done", stage="done", progress=1.0, version=version, finished_at=_now()
        )
