"""`icpkit enrich` on a workspace: stored provenance, applied on load, shown by check; duplicates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from icpkit import pipeline
from icpkit.datasets import make_crm

pytestmark = pytest.mark.slow  # a workspace written, enriched (splink) and loaded several times


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("enrich_ws")
    crm = make_crm(300, seed=3)
    accounts = crm.accounts
    blank = pl.Series(np.random.default_rng(1).random(accounts.height) < 0.4)
    thin = accounts.with_columns(
        pl.when(blank).then(None).otherwise(pl.col("industry")).alias("industry")
    )
    # the same company under a second id (another export, a typo'd name)
    first = thin.row(0, named=True)
    twin = {**first, "account_id": "DUP0001", "name": first["name"].upper()}
    thin = pl.concat([thin, pl.DataFrame([twin], schema=thin.schema)])
    type(crm)(**{**crm.__dict__, "accounts": thin}).write_workspace(root)
    variants = accounts.with_columns(
        pl.Series("account_id", [f"R{i}" for i in range(accounts.height)]),
        pl.concat_str(pl.lit("https://www."), pl.col("domain")).alias("domain"),
    ).drop("tech_stack")
    variants.write_csv(root / "universe.csv")
    return root


def test_enrich_stores_provenance_applies_it_on_load_and_check_shows_it(workspace: Path) -> None:
    ws = pipeline.Workspace.open(workspace)
    before = pipeline.load_crm(ws.config, ws.root).accounts["industry"].is_not_null().mean()
    result = pipeline.enrich_workspace(ws, [workspace / "universe.csv"])
    summary = result.summary
    assert summary.fill_before["industry"] == pytest.approx(before)
    assert summary.fill_after["industry"] > 0.95 > before
    assert (workspace / ".icpkit" / "enrich" / "provenance.parquet").exists()
    loaded = ws.load()  # the stored values are laid over the CRM, whose files are unchanged
    assert loaded.accounts["industry"].is_not_null().mean() == pytest.approx(
        summary.fill_after["industry"]
    )
    filled = result.provenance.filter(pl.col("field") == "industry").row(0, named=True)
    rows = pipeline.account_enrichment(ws, filled["account_id"])
    label = next(r["label"] for r in rows if r["field"] == "industry")
    assert label.startswith(f"industry: from universe (record {filled['record_id']}), match ")
    lines = pipeline.enrichment_lines(ws)
    assert any("universe:" in line and "industry +" in line for line in lines)
    assert any("industry: filled" in line for line in lines)
    # the twin account is found as a duplicate, with its evidence
    pairs = {(d.account_id, d.duplicate_id): d for d in summary.duplicates}
    twin = pairs[("A000001", "DUP0001")]
    assert twin.probability >= 0.9 and "same domain" in twin.evidence


def test_build_folds_duplicates_when_configured(workspace: Path) -> None:
    ws = pipeline.Workspace.open(workspace)
    if not (workspace / ".icpkit" / "enrich" / "summary.json").exists():
        pipeline.enrich_workspace(ws, [workspace / "universe.csv"])
    assert "DUP0001" in ws.load().accounts["account_id"].to_list()
    config = ws.config.model_copy(
        update={"enrich": ws.config.enrich.model_copy(update={"fold_duplicates": True})}
    )
    folded = pipeline.Workspace(root=ws.root, config=config).load()
    assert "DUP0001" not in folded.accounts["account_id"].to_list()
    assert folded.accounts.height == ws.load().accounts.height - 1


def test_enrich_without_a_universe_says_how_to_give_one(workspace: Path) -> None:
    from icpkit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"pass --universe FILE or set enrich\.universes"):
        pipeline.enrich_workspace(pipeline.Workspace.open(workspace), [])
