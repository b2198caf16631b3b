"""The hostile commands of docs/security.md's issue-25 table, run as a user would (CliRunner, from
inside the workspace), and every output, log and written file grepped for a traceback, the planted
PII (a contact's name, an e-mail written out, a phone number) and the workspace's absolute path.

Fast commands (no build) run in the default suite; the build → report → themes round with the
planted PII in the notes and a feedback reason is marked slow (the slow suite runs in CI too).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import tomli_w
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.datasets import make_crm

runner = CliRunner()
PLANTED = " Maria Lopez (write to maria dot lopez at acme dot com, call +1 415 555 0199) says hi."
LEAKS = ("Maria", "Lopez", "maria", "lopez", "acme dot com", "415 555", "555 0199")


def _run(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    text = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += f"\nTraceback (uncaught): {result.exception!r}"
    return text


def _written(root: Path) -> dict[str, str]:
    """Every text file icpkit wrote or may have written (not the planted input files)."""
    inputs = {"accounts.csv", "contacts.csv", "notes.csv", "deals.csv", "wide.csv", "crm.sqlite"}
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and path.name not in inputs and path.suffix not in {".sqlite", ".lock"}:
            out[str(path.relative_to(root))] = path.read_text(encoding="utf-8", errors="replace")
    return out


def _assert_clean(root: Path, outputs: dict[str, str]) -> None:
    # the key file keeps the operator's own label for a key (never shown but to the operator)
    files = {k: v for k, v in _written(root).items() if not k.endswith("api-keys.json")}
    texts = {**outputs, **files}
    absolute = str(root.resolve())
    for name, text in texts.items():
        assert "Traceback" not in text, (name, text[-2000:])
        assert absolute not in text, (name, "the workspace's absolute path")
        for leak in LEAKS:
            assert leak not in text, (name, leak)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "ws"
    make_crm(150, seed=3).write_workspace(root)
    notes = pl.read_csv(root / "notes.csv", infer_schema_length=0)
    notes.with_columns(pl.col("text") + PLANTED).write_csv(root / "notes.csv")
    contacts = pl.read_csv(root / "contacts.csv", infer_schema_length=0)
    first = pl.int_range(pl.len()) == 0
    contacts.with_columns(
        pl.when(first).then(pl.lit("Maria Lopez")).otherwise("name").alias("name")
    ).write_csv(root / "contacts.csv")
    cwd = Path.cwd()
    os.chdir(root)  # the user's view: relative paths in, so an absolute one out is icpkit's own
    try:
        yield root
    finally:
        os.chdir(cwd)


def _with_source(root: Path, table: str, source: dict[str, object]) -> None:
    import tomllib

    config = tomllib.loads((root / "icpkit.toml").read_text())
    config["sources"][table] = source
    (root / "icpkit.toml").write_text(tomli_w.dumps(config))


def test_hostile_commands_without_a_build(workspace: Path) -> None:
    outputs: dict[str, str] = {}
    # revenue whose dots could be decimal points or thousands separators
    accounts = pl.read_csv("accounts.csv", infer_schema_length=0)
    revenue = [["1.324", "2.451", "800", "950"][i % 4] for i in range(accounts.height)]
    accounts.with_columns(pl.Series("annual_revenue", revenue)).write_csv("accounts.csv")
    outputs["check numbers"] = _run("-v", "check", "-w", ".")
    # a source query reading the engine's settings
    with sqlite3.connect("crm.sqlite") as con:
        con.execute("CREATE TABLE deals (deal_id TEXT)")
    _with_source(workspace, "deals", {"path": "crm.sqlite", "query": "SELECT * FROM pragma_x()"})
    outputs["check sql"] = _run("check", "-w", ".")
    _with_source(workspace, "deals", {"path": "deals.csv"})
    # a 100,000-column file beside the data
    shutil.copytree(workspace, workspace.parent / "copy", ignore=shutil.ignore_patterns("*.toml"))
    width = 100_000
    (workspace.parent / "copy" / "wide.csv").write_text(
        ",".join(f"c{i}" for i in range(width)) + "\n" + ",".join("1" * width) + "\n"
    )
    outputs["init wide"] = _run("init", "../copy", "-w", "../copy")
    # a key named after a person, keys listed; a key id that is not one
    outputs["keys create"] = _run("keys", "create", "-w", ".", "--name", "Maria Lopez")
    outputs["keys revoke"] = _run("keys", "revoke", "../../etc", "-w", ".")
    # a version that does not exist, a diff of nothing
    outputs["report v99"] = _run("report", "-w", ".", "--version", "99")
    assert "'1.324' is ambiguous; read as 1,324" in outputs["check numbers"]
    assert "the query is refused" in outputs["check sql"]
    assert "more than max_columns" in outputs["init wide"]
    keys = (workspace / ".icpkit" / "api-keys.json").read_text()
    assert "Maria Lopez" in keys  # the operator's own label stays in the key file …
    _assert_clean(workspace, outputs)  # … and nowhere else


@pytest.mark.slow
def test_hostile_build_report_and_themes(workspace: Path) -> None:
    from icpkit.lifecycle.feedback import FeedbackLog, new_entry

    outputs = {"build": _run("build", "-w", ".", "--note", "from Maria Lopez")}
    FeedbackLog(workspace).append(
        new_entry(
            by_key="k1",
            by_name="Maria Lopez",
            version=1,
            account_id="a1",
            tier_shown="Tier 1",
            tier_claimed="Tier 3",
            reason="maria [at] acme [dot] com told me; call 030/5550199",
        )
    )
    outputs["rebuild"] = _run("build", "-w", ".")
    for fmt in ("html", "md", "json"):
        outputs[f"report {fmt}"] = _run("report", "-w", ".", "--format", fmt)
    outputs["themes"] = _run("themes", "-w", ".", "--all")
    outputs["versions"] = _run("versions", "-w", ".")
    # the build note is the user's own text, kept in the store; nothing else may carry the name
    _assert_clean(workspace, {k: v for k, v in outputs.items() if k != "versions"})
    # the planted text did reach the quotes and was scrubbed there (not merely left out)
    shown = "\n".join([outputs["themes"], *_written(workspace).values()])
    assert "[name]" in shown and "[email]" in shown and "[phone]" in shown
