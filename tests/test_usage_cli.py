"""The usage commands end to end on a workspace with a PostHog export (issue 28)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.datasets.synthetic.usage import make_usage_crm, write_usage_workspace

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("usage_ws")
    write_usage_workspace(make_usage_crm(600, seed=2), folder)
    return folder


def test_check_counts_the_events_and_names_the_bots(workspace: Path) -> None:
    result = runner.invoke(app, ["check", "-w", str(workspace)])
    assert "usage" in result.output and "events.jsonl" in result.output
    assert "treated as bots" in result.output
    assert "@" not in result.output  # user ids are e-mail addresses: never shown


def test_usage_features_are_written(workspace: Path) -> None:
    target = workspace / "features.parquet"
    result = runner.invoke(
        app, ["usage", "features", "-w", str(workspace), "--as-of", "2025-06-30", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(target)
    assert frame.height == 600 and "usage_breadth" in frame.columns
    assert str(frame["usage_as_of"].max()) == "2025-06-30 00:00:00"


def test_a_malformed_line_in_the_export_is_one_clear_line(workspace: Path, tmp_path: Path) -> None:
    broken = tmp_path / "ws"
    broken.mkdir()
    for f in workspace.iterdir():
        if f.is_file():
            (broken / f.name).write_bytes(f.read_bytes())
    with (broken / "events.jsonl").open("a") as handle:
        handle.write('{"event": "x", "distinct_id"\n')
    result = runner.invoke(app, ["usage", "features", "-w", str(broken)])
    assert result.exit_code != 0
    assert "not valid JSON" in result.output and "Traceback" not in result.output


def test_check_names_a_malformed_line_deep_in_the_export(workspace: Path, tmp_path: Path) -> None:
    broken = tmp_path / "ws2"
    broken.mkdir()
    for f in workspace.iterdir():
        if f.is_file():
            (broken / f.name).write_bytes(f.read_bytes())
    lines = (broken / "events.jsonl").read_text().splitlines()
    n = len(lines) + 1
    with (broken / "events.jsonl").open("a") as handle:
        handle.write('{"event": "x", "distinct_id"\n')
    result = runner.invoke(app, ["check", "-w", str(broken)])
    assert result.exit_code == 1
    assert f"events.jsonl row {n}" in result.output and "not valid JSON" in result.output


@pytest.mark.slow  # two ICP builds (today's fit and the fit as known on the cut): over 3 s
def test_pqa_ranks_open_accounts_and_runs_the_check_on_what_the_cut_knew(workspace: Path) -> None:
    import json

    result = runner.invoke(app, ["pqa", "-w", str(workspace), "--as-of", "2025-12-31", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    order = ["very high", "high", "medium", "low"]
    bands = [order.index(row["band"]) for row in found["accounts"]]
    # fewer than 100 open accounts: the top 1% is empty, the top 10% is "high"
    assert bands == sorted(bands) and bands[-1] == 3
    n = len(bands)
    assert bands.count(0) == int(n * 0.01) and bands.count(1) == int(n * 0.10) - int(n * 0.01)
    check = found["check"]
    assert check is not None, found["reason"]
    assert check["cut"] == "2025-11-01" and [b["band"] for b in check["bands"]] == [
        "very high",
        "high",
        "medium",
        "low",
    ]
    for band in check["bands"]:
        assert band["rate_low"] <= band["rate"] <= band["rate_high"]
    text = runner.invoke(app, ["pqa", "-w", str(workspace), "--as-of", "2025-12-31"])
    assert text.exit_code == 0, text.output
    assert "'very high' (top 1%)" in text.output and "95%" in text.output
