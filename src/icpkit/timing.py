"""Wall time of each step of a build, for the profile's ``timings`` section (issue 30).

:class:`StepClock` is started once per build; ``clock.step(name)`` ends the running step and
starts the next one (and tells the build's ``progress`` callback, so the web's progress bar and
the timings name the same stages); ``clock.section()`` ends the last step and returns the typed
:class:`~icpkit.profile.BuildTimings`, with the process's peak resident memory so far.

It imports nothing of icpkit but the profile types (layer 4, beside the analyses it times).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from icpkit.profile import BuildTimings, StepTiming


def peak_rss_mb() -> float | None:
    """The process's peak resident set size in MiB (None where the platform does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


class StepClock:
    """Times consecutive named steps; ``step`` also calls ``progress`` with the step's name."""

    def __init__(self, progress: Callable[[str], None] | None = None) -> None:
        self._progress = progress
        self._started = time.perf_counter()
        self._steps: list[tuple[str, float]] = []
        self._current: tuple[str, float] | None = None
        self._beside: list[tuple[str, float]] = []
        self._beside_rss: float | None = None

    def step(self, name: str) -> None:
        """End the running step (if any) and start ``name``."""
        now = time.perf_counter()
        self._close(now)
        self._current = (name, now)
        if self._progress is not None:
            self._progress(name)

    def beside(self, name: str, seconds: float, peak_rss_mb: float | None = None) -> None:
        """Record ``name``, run for ``seconds`` in a second process while the steps went on."""
        self._beside.append((name, seconds))
        if peak_rss_mb is not None:
            self._beside_rss = max(self._beside_rss or 0.0, peak_rss_mb)

    def _close(self, now: float) -> None:
        if self._current is not None:
            name, began = self._current
            self._steps.append((name, now - began))
            self._current = None

    def section(self, *, close: bool = True) -> BuildTimings:
        """Every ended step with its seconds, the total so far and the peak RSS; ``close`` ends
        the running step first (else it goes on, left out until a later call)."""
        now = time.perf_counter()
        if close:
            self._close(now)
        end = self._current[1] if self._current is not None else now  # up to the running step
        return BuildTimings(
            steps=[StepTiming(name=n, seconds=round(s, 4)) for n, s in self._steps],
            total_seconds=round(end - self._started, 4),
            peak_rss_mb=peak_rss_mb(),
            second_process=[StepTiming(name=n, seconds=round(s, 4)) for n, s in self._beside]
            or None,
            second_process_peak_rss_mb=self._beside_rss,
        )
