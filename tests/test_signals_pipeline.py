"""Signals through the edges: build stores the section and backtest, prioritize and score use it,
the report shows it, and a CRM without signals says intent is unavailable instead of failing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl
import pytest
import tomli_w
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.datasets import make_crm
from icpkit.pipeline import Workspace

runner = CliRunner()
MAVEN = Path("/work/shared/datasets/maven-crm-sales-opportunities")
if not MAVEN.exists():
    MAVEN = Path(__file__).resolve().parents[2] / "shared" / "datasets" / MAVEN.name


def _run(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("signals-ws")
    make_crm(1200, seed=5).write_workspace(root)
    code, text = _run("build", "-w", root)
    assert code == 0, text
    return root


def test_build_stores_the_signals_section_with_its_backtest(built: Path) -> None:
    profile = Workspace.open(built).store.get("latest").profile()
    section = profile.signals
    assert section is not None and section.available
    assert {t.type for t in section.triggers()} == {"funding", "leadership_change"}
    assert "typically start searching when they raise funding" in profile.statement
    backtest = section.backtest
    assert backtest is not None and backtest.available
    for block in (backtest.opening, backtest.winning):
        assert block is not None and block.n_events > 0
        for ranking in (block.fit, block.fit_intent):
            assert ranking.auc is not None and 0 <= ranking.auc <= 1
            assert ranking.auc_ci is not None and ranking.auc_ci[0] <= ranking.auc  # type: ignore[operator]
            assert ranking.top_decile_lift.value is not None
        gain = block.auc_gain
        assert gain is not None and gain.ci is not None and gain.value is not None
        assert gain.ci[0] <= gain.value  # type: ignore[operator]


def test_prioritize_writes_the_ranked_list(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "this-week.csv"
    code, text = _run("prioritize", "-w", built, "--as-of", "2025-06-01", "--top", "40", "-o", out)
    assert code == 0, text
    assert "intent as of 2025-06-01" in text
    ranked = pl.read_csv(out)
    assert ranked.height == 40
    assert ranked.columns == ["account_id", "name", "domain", "fit_score", "tier", "intent_score", "intent",
                              "priority", "why_now"]  # fmt: skip
    assert ranked["priority"][0] == "work now"
    assert ranked["name"].null_count() == 0 and ranked["domain"].null_count() == 0
    assert (
        ranked.filter(pl.col("intent") == "hot")["why_now"]
        .str.contains("(ago|today|yesterday): ")
        .all()
    )
    code, text = _run("prioritize", "-w", built, "--as-of", "June", "-o", out)
    assert code != 0 and "not a date" in text and "Traceback" not in text


def test_score_adds_intent_columns_and_the_report_shows_signals(
    built: Path, tmp_path: Path
) -> None:
    prospects = tmp_path / "prospects.csv"
    pl.read_csv(built / "accounts.csv").head(30).write_csv(prospects)
    code, text = _run("score", prospects, "-o", tmp_path / "scored.csv", "-w", built)
    assert code == 0, text
    scored = pl.read_csv(tmp_path / "scored.csv")
    assert {"fit_score", "tier", "intent_score", "intent", "why_now"} <= set(scored.columns)
    assert scored.height == 30
    code, text = _run("report", "-w", built, "--format", "md", "-o", tmp_path / "icp.md")
    assert code == 0, text
    report = (tmp_path / "icp.md").read_text()
    assert "## Buying signals" in report and "Funding — half-life" in report
    assert "fit + intent" in report


def test_without_a_signals_table_intent_is_unavailable_and_nothing_fails(
    tmp_path: Path,
) -> None:
    make_crm(500, seed=2).write_workspace(tmp_path)
    config = tomllib.loads((tmp_path / "icpkit.toml").read_text())
    del config["sources"]["signals"]
    (tmp_path / "icpkit.toml").write_text(tomli_w.dumps(config))
    assert _run("build", "-w", tmp_path)[0] == 0
    section = Workspace.open(tmp_path).store.get("latest").profile().signals
    assert section is not None and not section.available
    code, text = _run("prioritize", "-w", tmp_path, "-o", tmp_path / "list.csv")
    assert code == 0, text
    assert "intent unavailable: no signals table was loaded" in text
    assert pl.read_csv(tmp_path / "list.csv")["intent"].unique().to_list() == ["cold"]


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.skipif(not MAVEN.exists(), reason=f"Maven CRM dataset not present at {MAVEN}")
def test_maven_has_no_signals_and_says_so(tmp_path: Path) -> None:
    code, text = _run("init", MAVEN, "--preset", "maven", "-w", tmp_path)
    assert code == 0, text
    code, text = _run("build", "-w", tmp_path)
    assert code == 0, text
    section = Workspace.open(tmp_path).store.get("latest").profile().signals
    assert section is not None and not section.available
    code, text = _run("prioritize", "-w", tmp_path, "--top", "10", "-o", tmp_path / "list.csv")
    assert code == 0 and "intent unavailable" in text, text
    code, text = _run("report", "-w", tmp_path, "--format", "md", "-o", tmp_path / "icp.md")
    assert code == 0 and "Intent unavailable" in (tmp_path / "icp.md").read_text()


def test_a_signal_with_a_bad_date_is_named_and_dropped_not_fatal(tmp_path: Path) -> None:
    from icpkit.config import SignalsConfig
    from icpkit.signals import learn_signals

    make_crm(300, seed=4).write_workspace(tmp_path)
    signals = pl.read_csv(tmp_path / "signals.csv", infer_schema_length=0)
    signals = signals.with_columns(
        date=pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("31/02/2017")).otherwise("date")
    )
    signals.write_csv(tmp_path / "signals.csv")
    crm = Workspace.open(tmp_path).load()
    named = [p for p in crm.problems if p.code == "not_a_date"]
    assert len(named) == 1 and named[0].severity == "warning" and named[0].row is not None
    assert "signals.csv" in str(named[0]) and "31/02/2017" in str(named[0])
    section = learn_signals(crm, None, SignalsConfig())
    assert section.intake.n_bad_date == 1 and section.intake.bad_date_rows == [3]


def test_intent_columns_are_streamed_and_the_python_api_adds_them_too(
    built: Path, tmp_path: Path
) -> None:
    """Issue 23: intent_* come out of the streaming scorer batch by batch (no re-read of the
    scored file), and score_accounts adds the same columns as `icpkit score`."""
    from icpkit.pipeline import score_accounts, score_annotations, score_file

    prospects = tmp_path / "prospects.csv"
    pl.read_csv(built / "accounts.csv", infer_schema=False).head(120).write_csv(prospects)
    ws = Workspace.open(built)
    profile = ws.store.get("latest").profile()
    assert _run("score", prospects, "-o", tmp_path / "cli.csv", "-w", built)[0] == 0
    cli = pl.read_csv(tmp_path / "cli.csv", infer_schema=False)
    annotations, notes = score_annotations(ws, profile, prospects)
    assert notes and notes[0].startswith("intent as of")
    seen: list[int] = []

    def counted(batch: object) -> object:
        seen.append(len(batch))  # type: ignore[arg-type]
        return annotations[0](batch)

    counted.names = annotations[0].names  # type: ignore[attr-defined]
    score_file(profile, prospects, tmp_path / "small.csv", batch_rows=25, annotations=(counted,))
    small = pl.read_csv(tmp_path / "small.csv", infer_schema=False)
    assert seen and max(seen) <= 25 and sum(seen) == 120  # bounded by the batch
    python = score_accounts(profile, pl.read_csv(prospects, infer_schema=False), workspace=ws)

    def typed(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(
            pl.col("account_id").cast(pl.Utf8),
            pl.col("fit_score").cast(pl.Int64),
            pl.col("intent_score").cast(pl.Float64),
            pl.col("intent").cast(pl.Utf8),
            pl.col("why_now").cast(pl.Utf8).fill_null(""),
        )

    assert typed(small).equals(typed(cli))
    assert typed(python).equals(typed(cli))
    assert cli["intent"].is_in(["hot", "warm", "cold"]).all() and cli["intent"].n_unique() > 1
