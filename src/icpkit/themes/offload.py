"""Pain themes found in a second process while the build goes on (``[build] workers = 2``).

:func:`find_themes` needs only the notes, the outcomes, the contacts' names and the ``[themes]``
settings, all known once outcomes are computed, and nothing of discovery, the scorecard,
validation or signals. :class:`ThemesInBackground` writes those inputs as Arrow IPC files into a
private temporary folder and starts one spawned process that reads them back and returns the
:class:`~icpkit.themes.analysis.ThemeAnalysis`; the build collects it when it reaches its themes
step. The inputs cross as files (not pickles of the frames), the result — themes, tests and one
small ``(note_row, theme)`` frame — as a pickle.

The result is the same as :func:`find_themes` in the build's own process: same inputs (Arrow
round-trips every value and type), same code, and no randomness but the seeded clustering
sample. An :class:`~icpkit.errors.IcpError` raised in the second process is raised again in the
build, unchanged (``InsufficientDataError`` still becomes the profile's "No themes" caveat); a
second process that dies (killed, out of memory) becomes one clear ``IcpError``.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from icpkit.config import ThemesConfig
from icpkit.errors import IcpError
from icpkit.themes.analysis import ThemeAnalysis, find_themes


@dataclass(frozen=True)
class BackgroundThemes:
    """What the second process returns: the analysis, its wall seconds and its peak RSS."""

    analysis: ThemeAnalysis
    seconds: float
    peak_rss_mb: float | None


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the platform says, else the count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on macOS or Windows
        return os.cpu_count() or 1


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _find_themes_job(folder: str, config_json: str) -> BackgroundThemes:
    """The second process's work: read the inputs back and find the themes."""
    started = time.perf_counter()
    root = Path(folder)
    notes = pl.read_ipc(root / "notes.arrow")
    outcomes = pl.read_ipc(root / "outcomes.arrow")
    names_path = root / "names.arrow"
    names = pl.read_ipc(names_path)["name"].to_list() if names_path.exists() else None
    config = ThemesConfig.model_validate_json(config_json)
    analysis = find_themes(notes, outcomes, names, config)
    return BackgroundThemes(analysis, time.perf_counter() - started, _peak_rss_mb())


class ThemesInBackground:
    """:func:`find_themes` running in a spawned process; :meth:`result` waits for it.

    Always :meth:`close` it (the build does, in a ``finally``): that ends the process if the
    build stopped before collecting the result, and removes the temporary input files.
    """

    def __init__(
        self,
        notes: pl.DataFrame,
        outcomes: pl.DataFrame,
        contact_names: list[str] | None,
        config: ThemesConfig,
    ) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="icpkit-themes-"))
        self._executor: ProcessPoolExecutor | None = None
        self._future: Future[BackgroundThemes] | None = None
        self.done: BackgroundThemes | None = None  # once :meth:`result` returned
        try:
            notes.write_ipc(self._folder / "notes.arrow")
            outcomes.write_ipc(self._folder / "outcomes.arrow")
            if contact_names is not None:
                pl.DataFrame({"name": contact_names}, schema={"name": pl.Utf8}).write_ipc(
                    self._folder / "names.arrow"
                )
            # spawn: a fresh interpreter (forking a process that runs polars' threads can hang)
            self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            self._future = self._executor.submit(
                _find_themes_job, str(self._folder), config.model_dump_json()
            )
        except BaseException:
            self.close()
            raise

    def result(self) -> BackgroundThemes:
        """The second process's themes; its ``IcpError`` (or bug) is raised here as it was."""
        assert self._future is not None
        try:
            self.done = self._future.result()
            return self.done
        except BrokenProcessPool:
            raise IcpError(
                "themes: the second build process stopped before it finished (killed, or out of "
                "memory?); set [build] workers = 1 in icpkit.toml to find the themes in the "
                "build's own process"
            ) from None
        finally:
            self.close()

    def close(self) -> None:
        """End the process if it is still running and remove the input files (idempotent)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            running = self._future is not None and not self._future.done()
            if running:  # the build stopped early: do not wait for themes nobody will read
                for process in list(getattr(executor, "_processes", {}).values()):
                    process.terminate()
            executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self._folder, ignore_errors=True)
