"""The enrichment commands end to end (issue 29): `enrich`, `market` and `provisional` through the
CLI, each result where the user looks, each bad request one clear line and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from icpkit import pipeline
from icpkit.cli import app
from icpkit.datasets import make_crm
from icpkit.lifecycle.store import fingerprint
from icpkit.profile import IcpProfile

pytestmark = pytest.mark.slow  # splink links the accounts several times

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 synthetic accounts with 40% of industries blanked, a universe holding them under other
    ids, and the stored demo profile as version 1."""
    root = tmp_path_factory.mktemp("enrich_cli")
    crm = make_crm(400, seed=4)
    accounts = crm.accounts
    blank = pl.Series(np.random.default_rng(2).random(accounts.height) < 0.4)
    thin = accounts.with_columns(
        pl.when(blank).then(None).otherwise(pl.col("industry")).alias("industry")
    )
    type(crm)(**{**crm.__dict__, "accounts": thin}).write_workspace(root)
    accounts.with_columns(pl.Series("account_id", [f"U{i}" for i in range(accounts.height)])).drop(
        "tech_stack"
    ).write_csv(root / "universe.csv")
    ws = pipeline.Workspace.open(root)
    profile = IcpProfile.from_json((FIXTURES / "profile_v2_demo.json").read_text(encoding="utf-8"))
    ws.store.save(
        profile.to_json(),
        config_hash=ws.config.content_hash(),
        fingerprint=fingerprint(ws.load()),
        validation=None,
    )
    return root


def test_enrich_fills_blanks_and_check_names_the_source(workspace: Path) -> None:
    runner = CliRunner()
    w = ["-w", str(workspace)]
    result = runner.invoke(app, ["enrich", *w, "--universe", str(workspace / "universe.csv")])
    assert result.exit_code == 0, result.output
    assert "universe:" in result.output and "industry +" in result.output
    as_json = runner.invoke(
        app, ["enrich", *w, "--universe", str(workspace / "universe.csv"), "--json"]
    )
    summary = json.loads(as_json.output)
    assert summary["fill_after"]["industry"] > summary["fill_before"]["industry"] + 0.3
    check = runner.invoke(app, ["check", *w])
    assert "Enrichment" in check.output and "universe" in check.output


def test_market_prints_tiers_with_intervals_and_writes_its_page(workspace: Path) -> None:
    runner = CliRunner()
    page = workspace / "market.html"
    result = runner.invoke(
        app,
        [
            "market",
            "-w",
            str(workspace),
            "--universe",
            str(workspace / "universe.csv"),
            "-o",
            str(page),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "By tier:" in result.output and "expected wins" in result.output
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html and "80%" in html
    as_json = json.loads(
        runner.invoke(
            app,
            [
                "market",
                "-w",
                str(workspace),
                "--universe",
                str(workspace / "universe.csv"),
                "--json",
            ],
        ).output
    )
    assert as_json  # the typed market result, serialised


def test_provisional_writes_labelled_lookalikes(workspace: Path, tmp_path: Path) -> None:
    universe = pl.read_csv(workspace / "universe.csv")
    seeds = tmp_path / "seeds.csv"
    universe.filter(pl.col("industry") == universe["industry"].mode()[0]).head(30).select(
        "name", "domain"
    ).write_csv(seeds)
    out = tmp_path / "targets.csv"
    result = CliRunner().invoke(
        app,
        [
            "provisional",
            "--seeds",
            str(seeds),
            "--universe",
            str(workspace / "universe.csv"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "PROVISIONAL" in result.output
    assert out.exists() and out.with_suffix(".provisional.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enrich"], "no universe to enrich from"),
        (["enrich", "--universe", "nowhere.csv"], "no such universe file"),
        (["market"], "market needs --universe"),
    ],
)
def test_bad_requests_are_one_line(workspace: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, [*args, "-w", str(workspace)])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
