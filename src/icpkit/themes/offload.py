"""Pain themes found in a second process while the build goes on (``[build] workers = 2``).

:func:`find_themes` needs only the notes, the outcomes, the contacts' names and the ``[themes]``
settings, all known once outcomes are computed, and nothing of discovery, the scorecard,
validation or signals. :class:`ThemesInBackground` writes those inputs as Arrow IPC files into a
private temporary folder and starts ``python -m icpkit.themes.offload FOLDER``, a new interpreter
that reads them back and writes the :class:`~icpkit.themes.analysis.ThemeAnalysis` there as a
pickle (themes, tests and one small ``(note_row, theme)`` frame); the build collects it when it
reaches its themes step. A new interpreter rather than ``multiprocessing``: nothing of the
caller's ``__main__`` is imported again (a script without an ``if __name__ == "__main__"`` guard
would otherwise run twice), and forking a process that runs polars' threads can hang.

The result is the same as :func:`find_themes` in the build's own process: same inputs (Arrow
round-trips every value and type), same code, and no randomness but the seeded clustering
sample. An :class:`~icpkit.errors.IcpError` raised in the second process is raised again in the
build, unchanged (``InsufficientDataError`` still becomes the profile's "No themes" caveat); a
second process that dies (killed, out of memory) becomes one clear ``IcpError``.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from icpkit.config import ThemesConfig
from icpkit.errors import IcpError
from icpkit.themes.analysis import ThemeAnalysis, find_themes

RESULT, FAILURE = "result.pickle", "error.pickle"


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


def find_themes_in(folder: Path) -> BackgroundThemes:
    """The second process's work: read the inputs back from ``folder`` and find the themes."""
    started = time.perf_counter()
    notes = pl.read_ipc(folder / "notes.arrow")
    outcomes = pl.read_ipc(folder / "outcomes.arrow")
    names_path = folder / "names.arrow"
    names = pl.read_ipc(names_path)["name"].to_list() if names_path.exists() else None
    config = ThemesConfig.model_validate_json((folder / "config.json").read_text("utf-8"))
    analysis = find_themes(notes, outcomes, names, config)
    return BackgroundThemes(analysis, time.perf_counter() - started, _peak_rss_mb())


def _write(folder: Path, name: str, value: object) -> None:
    """Pickle ``value`` into ``folder/name`` whole or not at all (renamed into place)."""
    part = folder / (name + ".part")
    part.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    part.replace(folder / name)


def main(folder: str) -> int:
    """``python -m icpkit.themes.offload FOLDER``: the result or the error, pickled in FOLDER."""
    root = Path(folder)
    try:
        _write(root, RESULT, find_themes_in(root))
    except Exception as exc:  # every error goes back to the build, which raises it as it was
        try:
            _write(root, FAILURE, exc)
        except Exception:  # an exception that cannot be pickled: its kind, in an IcpError
            _write(
                root,
                FAILURE,
                IcpError(f"themes failed in the second process: {type(exc).__name__}"),
            )
        return 1
    return 0


class ThemesInBackground:
    """:func:`find_themes` running in a second process; :meth:`result` waits for it.

    Always :meth:`close` it (the build does, in a ``finally``): that ends the process if the
    build stopped before collecting the result, and removes the temporary files.
    """

    def __init__(
        self,
        notes: pl.DataFrame,
        outcomes: pl.DataFrame,
        contact_names: list[str] | None,
        config: ThemesConfig,
    ) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="icpkit-themes-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.done: BackgroundThemes | None = None  # once :meth:`result` returned
        try:
            notes.write_ipc(self._folder / "notes.arrow")
            outcomes.write_ipc(self._folder / "outcomes.arrow")
            if contact_names is not None:
                pl.DataFrame({"name": contact_names}, schema={"name": pl.Utf8}).write_ipc(
                    self._folder / "names.arrow"
                )
            (self._folder / "config.json").write_text(config.model_dump_json(), "utf-8")
            # the child imports this very icpkit, however the caller found it
            package_root = str(Path(__file__).resolve().parents[2])
            path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
            self._process = subprocess.Popen(
                [sys.executable, "-m", "icpkit.themes.offload", str(self._folder)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
            )
        except BaseException:
            self.close()
            raise

    def result(self) -> BackgroundThemes:
        """The second process's themes; its ``IcpError`` (or bug) is raised here as it was."""
        assert self._process is not None
        try:
            code = self._process.wait()
            if (self._folder / RESULT).exists():
                self.done = pickle.loads((self._folder / RESULT).read_bytes())
                assert self.done is not None
                return self.done
            if (self._folder / FAILURE).exists():
                raise pickle.loads((self._folder / FAILURE).read_bytes())
            raise IcpError(
                f"themes: the second build process stopped before it finished (exit code {code}: "
                "killed, or out of memory?); set [build] workers = 1 in icpkit.toml to find the "
                "themes in the build's own process"
            )
        finally:
            self.close()

    def close(self) -> None:
        """End the process if it is still running and remove the files (idempotent)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:  # the build stopped early
            process.kill()
            process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)


if __name__ == "__main__":
    # through the module's own name, so the pickled result names icpkit.themes.offload's classes
    from icpkit.themes.offload import main as _main

    sys.exit(_main(sys.argv[1]))
