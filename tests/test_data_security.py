"""Hostile workspace configs: SQL sources that write files, paths that leave the workspace."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest
import tomli_w
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.config import config_from_dict
from icpkit.data import check_workspace, load_workspace, read_table
from icpkit.data.sqlsafe import UnsafeQuery, check_select, duckdb_readonly
from icpkit.errors import ConfigError, SchemaError

runner = CliRunner()
ROWS = "account_id,industry,employees\n" + "".join(
    f"a{i},{'Software' if i % 2 else 'Retail'},{10 + i}\n" for i in range(30)
)


def _databases(folder: Path) -> None:
    with sqlite3.connect(folder / "crm.sqlite") as con:
        con.execute("CREATE TABLE accounts (account_id TEXT, industry TEXT)")
        con.executemany("INSERT INTO accounts VALUES (?, ?)", [(f"a{i}", "x") for i in range(5)])
    with duckdb.connect(str(folder / "crm.duckdb")) as con:
        con.execute("CREATE TABLE accounts AS SELECT 'a' || range AS account_id FROM range(5)")


def _check(folder: Path, source: dict[str, object]) -> tuple[int, str]:
    config = {"sources": {"accounts": source}}
    (folder / "icpkit.toml").write_text(tomli_w.dumps(config))
    result = runner.invoke(app, ["check", "-w", str(folder)], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "query",
    [
        "COPY (SELECT 42) TO '{out}'; SELECT * FROM accounts",
        "COPY (SELECT 42) TO '{out}'",
        "SELECT * FROM accounts; COPY (SELECT 42) TO '{out}'",
        "ATTACH '{out}' AS evil",
        "ATTACH 'file:{out}?mode=rwc' AS evil",
        "PRAGMA database_list",
        "INSERT INTO accounts VALUES ('x', 'y')",
        "DROP TABLE accounts",
        "SELECT * INTO evil FROM accounts",
        "CREATE TABLE evil AS SELECT * FROM accounts",
        "WITH x AS (SELECT 1) INSERT INTO accounts SELECT * FROM x",
        "SET enable_external_access = true",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_csv('{out}')",
        # issue 25: table functions and the engine's own catalogue are no source either
        "SELECT * FROM duckdb_settings()",
        "FROM duckdb_settings()",
        "WITH s AS (SELECT * FROM duckdb_settings()) SELECT * FROM s",
        "SELECT * FROM accounts WHERE account_id IN (SELECT name FROM duckdb_tables())",
        "SELECT * FROM accounts, pragma_table_info('accounts')",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM sqlite_master",
        "SELECT current_setting('threads') AS account_id",
        "SELECT * FROM range(10)",
        "SELECT * FROM '{out}'",
        "SUMMARIZE accounts",
        "DESCRIBE accounts",
    ],
)
@pytest.mark.parametrize("suffix", [".sqlite", ".duckdb"])
def test_a_shared_config_cannot_write_a_file_during_check(
    tmp_path: Path, query: str, suffix: str
) -> None:
    _databases(tmp_path)
    out = tmp_path.parent / f"{tmp_path.name}-written.csv"
    before = sorted([*(p.name for p in tmp_path.iterdir()), "icpkit.toml"])
    code, text = _check(tmp_path, {"path": f"crm{suffix}", "query": query.format(out=out)})
    assert code == 2, text  # a ConfigError naming the source and what the query reads
    assert "Traceback" not in text
    assert f"[sources.accounts] crm{suffix}: the query is refused" in text
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("suffix", [".sqlite", ".duckdb"])
def test_a_single_select_or_a_table_name_still_reads(tmp_path: Path, suffix: str) -> None:
    _databases(tmp_path)
    for query in ("SELECT * FROM accounts ORDER BY account_id", "accounts"):
        frame = read_table(tmp_path / f"crm{suffix}", query=query)
        assert frame.height == 5


def test_the_parser_names_what_it_refused() -> None:
    with pytest.raises(UnsafeQuery, match="2 statements"):
        check_select("SELECT 1; SELECT 2", "duckdb")
    with pytest.raises(UnsafeQuery, match="COPY"):
        check_select("COPY t TO 'x.csv'", "duckdb")
    assert check_select("WITH a AS (SELECT 1) SELECT * FROM a UNION SELECT 2", "sqlite")


def test_a_table_with_engine_typed_or_clashing_columns_reads(tmp_path: Path) -> None:
    """A DuckDB VARIANT column and columns named 'value'/'column' (issue 25: a traceback)."""
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.execute(
            "CREATE TABLE accounts AS SELECT 'a' || range AS account_id, 'x' AS value, "
            "'y' AS \"column\", (range % 3)::VARIANT AS typed FROM range(30)"
        )
    code, text = _check(tmp_path, {"path": "crm.duckdb"})
    assert "Traceback" not in text and code == 0, text


def test_duckdb_connection_itself_cannot_reach_files(tmp_path: Path) -> None:
    # defence in depth: even a SELECT that reads another file fails on the locked connection
    _databases(tmp_path)
    (tmp_path / "other.csv").write_text("a\n1\n")
    with pytest.raises(ConfigError, match="reads the file"):  # the parser refuses it first
        read_table(tmp_path / "crm.duckdb", query=f"SELECT * FROM '{tmp_path / 'other.csv'}'")
    with duckdb_readonly(tmp_path / "crm.duckdb") as con, pytest.raises(duckdb.Error):
        con.sql(f"SELECT * FROM '{tmp_path / 'other.csv'}'").fetchall()


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "../outside.csv"])
def test_sources_outside_the_workspace_are_refused(tmp_path: Path, path: str) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "outside.csv").write_text(ROWS)
    code, text = _check(ws, {"path": path})
    assert code == 1
    assert "outside the workspace" in text
    assert "root:" not in text and "Traceback" not in text


def test_a_symlink_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "secret.csv").write_text(ROWS)
    (ws / "accounts.csv").symlink_to(tmp_path / "secret.csv")
    config = config_from_dict({"sources": {"accounts": {"path": "accounts.csv"}}})
    report = check_workspace(config, ws)
    assert [p.code for p in report.fatal] == ["outside_workspace"]


def test_data_dirs_and_the_explicit_setting_admit_outside_files(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "accounts.csv").write_text(ROWS)
    source = {"accounts": {"path": "../data/accounts.csv"}}
    assert load_workspace(config_from_dict({"sources": source, "data_dirs": ["../data"]}), ws)
    assert load_workspace(
        config_from_dict({"sources": source, "allow_outside_workspace": True}), ws
    )
    with pytest.raises(SchemaError, match="outside the workspace"):
        load_workspace(config_from_dict({"sources": source}), ws)


def test_a_file_without_a_data_extension_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("SECRET=hunter2\n")
    code, text = _check(tmp_path, {"path": "notes"})
    assert code == 1 and "data-file extension" in text
    assert "hunter2" not in text


def test_a_text_file_that_is_not_a_table_is_not_echoed(tmp_path: Path) -> None:
    line = "root:x:0:0:root:/root:/bin/bash-and-a-long-tail-of-private-words"
    (tmp_path / "accounts.txt").write_text(f"{line}\nmore:x:1:1\n")
    code, text = _check(tmp_path, {"path": "accounts.txt"})
    assert code == 1
    assert line not in text


def test_init_with_a_separate_workspace_records_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "exports"
    data.mkdir()
    (data / "accounts.csv").write_text(ROWS)
    result = runner.invoke(app, ["init", str(data), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "ws" / "icpkit.toml").read_text()
    assert 'data_dirs = [\n    "../exports",\n]' in text or 'data_dirs = ["../exports"]' in text
    check = runner.invoke(app, ["check", "-w", str(tmp_path / "ws")])
    assert check.exit_code == 0, check.output
