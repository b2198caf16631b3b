"""The report's "Where to find more" after `icpkit lookalikes` ran for the workspace."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from icpkit.datasets import make_crm, make_universe
from icpkit.lifecycle.store import STORE_DIR
from icpkit.lookalikes.runinfo import SUMMARY_FILE
from icpkit.pipeline import Workspace, build_and_save, find_targets, render_report
from icpkit.report.lookalikes_view import find_more_view


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    crm = make_crm(1200, seed=2)
    crm.write_workspace(root)
    build_and_save(Workspace.open(root))
    universe = make_universe(crm, 4000, seed=6)
    universe.drop("p_win_true", "customer_variant_of", "duplicate_of").write_parquet(
        root / "universe.parquet"
    )
    return root


def test_no_block_before_a_lookalikes_run(workspace: Path) -> None:
    html = render_report(Workspace.open(workspace), fmt="html", output=workspace / "before.html")
    assert "Where to find more" not in html.read_text(encoding="utf-8")


def test_a_run_leaves_a_summary_and_the_report_shows_it(workspace: Path) -> None:
    ws = Workspace.open(workspace)
    result = find_targets(ws, workspace / "universe.parquet", workspace / "targets.csv", top=100)
    summary = json.loads((workspace / STORE_DIR / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert summary["universe"] == "universe.parquet" and summary["profile_version"] == 1
    assert summary["n_listings"] == result.n_universe
    assert summary["n_companies"] == result.n_universe - result.n_duplicates < 4400
    assert sum(summary["tiers_companies"].values()) == summary["n_companies"]
    assert summary["lead_tier"] == "Tier 1" and summary["lead_top"]["industry"]
    names = set(pl.read_csv(workspace / "targets.csv")["name"].to_list())
    assert not any(n in json.dumps(summary) for n in names)  # counts and categories only
    html = render_report(ws, fmt="html", output=workspace / "after.html").read_text(
        encoding="utf-8"
    )
    assert 'id="find-more"' in html and 'id="lookalikes"' in html
    assert "universe.parquet" in html and "Tier 1 targets written are mostly in" in html
    md = render_report(ws, fmt="md", output=workspace / "after.md").read_text(encoding="utf-8")
    assert "## Where to find more" in md


def test_the_view_says_when_nothing_reaches_tier_1() -> None:
    view = find_more_view(
        {"universe": "u.csv", "n_listings": 10, "n_companies": 8, "lead_tier": "Tier 3",
         "lead_written": 5, "lead_top": {"industry": [["Software", 5]]},
         "tiers_companies": {"Tier 1": 0, "Tier 2": 0, "Tier 3": 6, "Non-fit": 2},
         "tiers_listings": {"Tier 1": 0, "Tier 2": 0, "Tier 3": 8, "Non-fit": 2},
         "text": {"used": False, "note": "the universe has no descriptions: …"}}
    )  # fmt: skip
    assert view is not None
    text = " ".join(view.lines)
    assert (
        "8 companies (10 listings)" in text and "No company of this universe reaches Tier 1" in text
    )
    assert "The universe has no descriptions" in text
    assert find_more_view(None) is None


def test_a_misspelt_columns_name_is_refused_with_the_closest(workspace: Path) -> None:
    """`--columns industri=Sector` used to map Sector to nothing: industry then scored as missing
    on every row without a word (newcomer test)."""
    from icpkit.errors import ConfigError

    ws = Workspace.open(workspace)
    with pytest.raises(ConfigError, match=r"\['industri'\].*industri ~ 'industry'"):
        find_targets(
            ws,
            workspace / "universe.parquet",
            workspace / "typo.csv",
            columns={"account_id": "account_id", "industri": "industry"},
        )
    assert not (workspace / "typo.csv").exists()
