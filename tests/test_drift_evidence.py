"""Drift without evidence says "cannot tell", never keep; odd prospect lists never crash it."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest
import tomli_w

from icpkit.datasets import make_crm
from icpkit.errors import IcpError
from icpkit.pipeline import Workspace, build_and_save, drift_check


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("drift_ws")
    make_crm(300, seed=9).write_workspace(root)
    raw = tomllib.loads((root / "icpkit.toml").read_text(encoding="utf-8"))
    raw.setdefault("scoring", {})["regularization_grid"] = []  # fast
    raw.setdefault("validation", {})["cv_folds"] = 0
    (root / "icpkit.toml").write_text(tomli_w.dumps(raw), encoding="utf-8")
    ws = Workspace.open(root)
    build_and_save(ws)  # built on all the data: no deal comes after it
    return ws


def test_no_deals_after_the_build_is_cannot_tell_not_keep(workspace: Workspace) -> None:
    result = drift_check(workspace, now=date.today())
    assert result.verdict == "cannot tell", result.to_text()
    assert "no deals since the build" in result.to_text()
    assert "KEEP" not in result.to_text()


def test_against_own_accounts_file_is_normalised_and_does_not_crash(workspace: Workspace) -> None:
    result = drift_check(workspace, against=workspace.root / "accounts.csv", now=date.today())
    assert result.verdict != "keep"
    assert result.population  # the same columns, comparable after the same normalisation
    assert not any(a.significant for a in result.population)  # same data: no drift


def test_against_unrelated_columns_cannot_tell(workspace: Workspace, tmp_path: Path) -> None:
    other = tmp_path / "four.csv"
    other.write_text("a,b,c,d\n1,2,3,4\n5,6,7,8\n", encoding="utf-8")
    result = drift_check(workspace, against=other, now=date.today())
    assert result.verdict == "cannot tell"
    assert "no attribute" in result.to_text()


@pytest.mark.parametrize("content", ["", "account_id,industry\n"])
def test_against_an_empty_file_is_a_clear_error(
    workspace: Workspace, tmp_path: Path, content: str
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(content, encoding="utf-8")
    with pytest.raises(IcpError):
        drift_check(workspace, against=empty, now=date.today())
