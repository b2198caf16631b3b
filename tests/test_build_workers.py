"""``[build] workers = 2``: the themes found in a second process give the same profile (issue 30).

The second process is ``python -m icpkit.themes.offload``; these tests check that its result is
the one-process result, that its errors reach the build as the same ``IcpError``, that a process
that dies becomes one clear ``IcpError``, and that nothing of it outlives the build.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from icpkit.config import ThemesConfig, config_from_dict
from icpkit.datasets import make_crm
from icpkit.errors import IcpError, InsufficientDataError
from icpkit.pipeline import build_icp
from icpkit.themes.analysis import find_themes
from icpkit.themes.offload import ThemesInBackground


def _rounded(value: object) -> object:
    """Floats to 12 significant digits: the persona statistics differ in their last digits
    from one run to the next in a single process too (summation order), themes do not."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _comparable(profile_json: str) -> object:
    raw = json.loads(profile_json)
    raw.pop("timings", None)
    raw.pop("created_at", None)
    return _rounded(raw)


def _few_notes() -> pl.DataFrame:
    return pl.DataFrame({"account_id": ["a1", "a2"], "source": ["call"] * 2, "text": ["x", "y"]})


@pytest.mark.slow
def test_two_workers_build_the_same_profile_as_one() -> None:
    crm = make_crm(600, seed=5).to_crm_data()
    assert crm.notes is not None and crm.notes.height > 100
    one = config_from_dict({"build": {"workers": 1}})
    two = config_from_dict({"build": {"workers": 2, "parallel_min_notes": 0}})
    alone = build_icp(crm, one).profile
    beside = build_icp(crm, two).profile
    assert alone.themes is not None and alone.timings is not None and beside.timings is not None
    assert _comparable(beside.to_json()) == _comparable(alone.to_json())
    assert beside.themes == alone.themes and beside.messaging == alone.messaging  # exactly
    assert alone.timings.second_process is None  # one process: nothing ran beside the steps
    assert [s.name for s in beside.timings.second_process or []] == ["themes"]


@pytest.mark.slow
def test_the_second_process_finds_the_themes_find_themes_finds() -> None:
    crm = make_crm(300, seed=2)
    outcomes = pl.DataFrame({"account_id": crm.accounts["account_id"], "label": "best"})
    names = crm.contacts["name"].drop_nulls().to_list()
    pending = ThemesInBackground(crm.notes, outcomes, names, ThemesConfig())
    got = pending.result()
    want = find_themes(crm.notes, outcomes, names, ThemesConfig())
    assert got.analysis.to_dict() == want.to_dict()
    assert got.analysis.assignments.equals(want.assignments)
    assert got.seconds > 0


def test_an_error_of_the_second_process_is_raised_as_it_was() -> None:
    with pytest.raises(InsufficientDataError) as one:
        find_themes(_few_notes(), None, None, ThemesConfig())
    pending = ThemesInBackground(_few_notes(), pl.DataFrame({"account_id": ["a1"]}), None,
                                 ThemesConfig())  # fmt: skip
    with pytest.raises(InsufficientDataError) as two:
        pending.result()
    assert two.value.message == one.value.message


def test_a_second_process_that_dies_is_one_clear_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    pending = ThemesInBackground(_few_notes(), pl.DataFrame({"account_id": ["a1"]}), None,
                                 ThemesConfig())  # fmt: skip
    assert pending._process is not None
    pending._process.kill()  # as the kernel's out-of-memory killer would
    with pytest.raises(IcpError, match=r"workers = 1") as error:
        pending.result()
    assert type(error.value) is IcpError and "exit code" in error.value.message
    assert list(tmp_path.iterdir()) == []  # the inputs are removed


def test_closing_before_the_result_ends_the_process(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    pending = ThemesInBackground(_few_notes(), pl.DataFrame({"account_id": ["a1"]}), None,
                                 ThemesConfig())  # fmt: skip
    process = pending._process
    assert process is not None
    pending.close()
    assert process.poll() is not None  # ended, not left running
    assert list(tmp_path.iterdir()) == []
    pending.close()  # idempotent


@pytest.mark.slow
def test_one_worker_or_few_notes_keep_the_themes_in_the_build_process() -> None:
    crm = make_crm(200, seed=3).to_crm_data()
    for build in ({"workers": 1, "parallel_min_notes": 0}, {"workers": 2}):
        timings = build_icp(crm, config_from_dict({"build": build}), validate=False).profile
        assert timings.timings is not None and timings.timings.second_process is None
