"""Every step of a build is timed in the profile's ``timings`` section (issue 30).

Only the shape is tested — names, order, that the seconds add up and that older profiles still
load — never how long a step takes (timings live in bench/, not in tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icpkit import pipeline
from icpkit.cli import app
from icpkit.datasets import make_crm
from icpkit.profile import BuildTimings, IcpProfile
from icpkit.timing import StepClock


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, pipeline.BuildResult]:
    root = tmp_path_factory.mktemp("timings")
    make_crm(400, seed=4).write_workspace(root)
    seen: list[str] = []
    version, result = pipeline.build_and_save(pipeline.Workspace.open(root), progress=seen.append)
    assert seen == [s.name for s in result.profile.timings.steps]  # type: ignore[union-attr]
    return root, version, result


@pytest.mark.slow
def test_every_build_step_is_timed_in_order(built: tuple[Path, int, pipeline.BuildResult]) -> None:
    _, _, result = built
    timings = result.profile.timings
    assert timings is not None
    names = [s.name for s in timings.steps]
    assert names[0] == "loading" and names[-1] == "saving"
    for required in ("outcomes", "guard", "discovery", "scorecard", "validation", "signals",
                     "themes", "personas"):  # fmt: skip
        assert required in names
    # the web's progress bar knows every stage, in the same order
    assert names == [s for s in pipeline.BUILD_STAGES if s in names]
    assert all(s.seconds >= 0 for s in timings.steps)
    assert sum(s.seconds for s in timings.steps) == pytest.approx(timings.total_seconds, abs=0.01)
    assert timings.peak_rss_mb is None or timings.peak_rss_mb > 0


@pytest.mark.slow
def test_the_stored_version_has_every_step_but_saving(
    built: tuple[Path, int, pipeline.BuildResult],
) -> None:
    root, version, result = built
    stored = pipeline.Workspace.open(root).store.get(version).profile().timings
    assert stored is not None and result.profile.timings is not None
    assert [s.name for s in stored.steps] == [s.name for s in result.profile.timings.steps[:-1]]
    assert stored.total_seconds <= result.profile.timings.total_seconds


def test_a_profile_without_timings_loads_and_round_trips_unchanged() -> None:
    timed = IcpProfile(timings=StepClock().section())
    assert "timings" in json.loads(timed.to_json())
    raw = json.loads(timed.to_json())
    del raw["timings"]
    old = IcpProfile.from_dict(raw)
    assert old.timings is None
    assert json.loads(old.to_json()) == raw  # no "timings": null appears
    v2 = {**raw, "schema_version": 2}
    assert IcpProfile.from_dict(v2).timings is None


def test_step_clock_adds_up_and_leaves_a_running_step_out() -> None:
    names: list[str] = []
    clock = StepClock(names.append)
    clock.step("a")
    clock.step("b")
    partial = clock.section(close=False)
    assert [s.name for s in partial.steps] == ["a"]
    final = clock.section()
    assert [s.name for s in final.steps] == ["a", "b"] and names == ["a", "b"]
    assert isinstance(final, BuildTimings) and final.seconds("b") >= 0 and final.seconds("x") == 0


@pytest.mark.slow
def test_build_verbose_prints_the_steps(built: tuple[Path, int, pipeline.BuildResult]) -> None:
    done = CliRunner().invoke(app, ["--verbose", "build", "-w", str(built[0])])
    assert done.exit_code == 0, done.output
    assert "build steps (wall time):" in done.output
    for name in ("loading", "discovery", "scorecard", "saving", "total"):
        assert f"  {name} " in done.output


def test_steps_print_only_with_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    from icpkit import cli

    clock = StepClock()
    clock.step("discovery")
    timings = clock.section()
    level = cli.VERBOSITY["level"]
    try:
        cli.VERBOSITY["level"] = 1
        cli._print_timings(timings)
        assert "build steps" not in capsys.readouterr().out
        cli.VERBOSITY["level"] = 2
        cli._print_timings(timings)
        printed = capsys.readouterr().out
        assert "build steps (wall time):" in printed and "  discovery " in printed
    finally:
        cli.VERBOSITY["level"] = level
