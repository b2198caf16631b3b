"""SQL sources as untrusted input: one read-only SELECT, on a connection that cannot touch files.

A workspace config may come from someone else (a shared repository, a zip from a consultant), so the
``query`` of a SQLite or DuckDB source is treated as hostile. Two independent guards:

1. The text is parsed (sqlglot) and must be exactly one SELECT (a UNION/INTERSECT/EXCEPT of
   SELECTs, a WITH … SELECT, or a bare table name); COPY, ATTACH, PRAGMA, SET, INSTALL/LOAD,
   INSERT/UPDATE/DELETE, CREATE/DROP, SELECT … INTO and several statements are refused before any
   connection is opened.
2. The connection itself cannot reach the file system: DuckDB runs with
   ``enable_external_access = false`` and a locked configuration (no COPY TO, no read_csv of
   /etc/passwd, no ATTACH, no extension loading); SQLite opens the file read-only and an authorizer
   denies ATTACH, DETACH, PRAGMA and every write.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Iterator


@cache
def _node_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """The forbidden node types and the query roots; sqlglot is imported on the first query
    checked (~0.05 s of CPU that a workspace of CSV files never needs)."""
    from sqlglot import exp

    return _forbidden(exp), (exp.Select, exp.SetOperation, exp.Subquery)


def _forbidden(exp: Any) -> tuple[type, ...]:
    """Node types that write, change settings, reach other files or run arbitrary commands."""
    return (
        exp.Into,
        exp.Insert,
        exp.Update,
        exp.Delete,
        exp.Merge,
        exp.Create,
        exp.Drop,
        exp.Alter,
        exp.Copy,
        exp.Command,
        exp.Pragma,
        exp.Attach,
        exp.Detach,
        exp.Set,
        exp.Install,
        exp.Use,
        exp.LoadData,
        exp.Transaction,
        exp.Commit,
        exp.Rollback,
        exp.TruncateTable,
        exp.Export,
    )


# The database's own catalogue and settings, and functions that read them or other files: a source
# reads the rows of the file's tables, nothing about the engine or the machine it runs on.
_SYSTEM_NAME = re.compile(
    r"^(duckdb_|pragma_|sqlite_|pg_|read_|parquet_|iceberg_|delta_|glob$|sniff_csv$|"
    r"current_setting$|getvariable$|which_secret$|current_database$|current_schemas?$|"
    r"version$|database_size$|icu_|test_|checkpoint$|force_checkpoint$)",
    re.IGNORECASE,
)
_SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "system", "temp"}
_TABLE_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?|"[^"]+"')


class UnsafeQuery(ValueError):
    """The text is not a single read-only SELECT; the message says what was found."""


def table_name(query: str) -> str | None:
    """The table a bare name refers to ('accounts', '"My Table"'), or None for any other text."""
    text = query.strip().rstrip(";").strip()
    if not _TABLE_NAME.fullmatch(text):
        return None
    return text[1:-1] if text.startswith('"') else text


def check_select(query: str, dialect: str) -> str:
    """``query`` unchanged when it is one read-only SELECT; else UnsafeQuery saying why.

    Parameters
    ----------
    query : the SQL text from icpkit.toml.
    dialect : 'duckdb' or 'sqlite' (the parser's dialect).
    """
    import sqlglot

    forbidden, roots = _node_types()
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # sqlglot warns when it falls back to an opaque Command
    try:
        statements = [s for s in sqlglot.parse(query, dialect=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).splitlines()[0][:120]
        raise UnsafeQuery(f"is not SQL icpkit can read ({first})") from None
    finally:
        logger.setLevel(level)
    if len(statements) != 1:
        raise UnsafeQuery(f"holds {len(statements)} statements; only one SELECT may run")
    statement = statements[0]
    if not isinstance(statement, roots):
        raise UnsafeQuery(f"is a {_kind(statement)} statement; only a SELECT may run")
    for node in statement.walk():
        if isinstance(node, forbidden):
            raise UnsafeQuery(f"contains {_kind(node)}; only a read-only SELECT may run")
        if (reason := _reads_outside_the_tables(node)) is not None:
            raise UnsafeQuery(f"{reason}; a source query may read only the tables of its file")
    return query


def _reads_outside_the_tables(node: Any) -> str | None:
    """Why ``node`` reads something other than a table of the file (None when it does not)."""
    from sqlglot import exp

    if isinstance(node, exp.Table):
        if not isinstance(node.this, exp.Identifier):  # FROM duckdb_settings(), range(10), …
            return f"reads the table function {_function_name(node.this)}()"
        name = node.name
        if "/" in name or "\\" in name or re.search(r"\.\w{2,8}$", name):
            return f"reads the file {name!r}"
        if _SYSTEM_NAME.match(name) or node.db.lower() in _SYSTEM_SCHEMAS:
            return f"reads the database's own catalogue ({node.sql()})"
    elif isinstance(node, exp.Func) and _SYSTEM_NAME.match(_function_name(node)):
        return f"calls {_function_name(node)}(), which reads the engine's settings or files"
    return None


def _function_name(node: Any) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__.lower()


def _kind(node: Any) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.Into):
        return "SELECT … INTO"
    return type(node).__name__.upper()


@contextmanager
def duckdb_readonly(path: Path) -> Iterator[Any]:
    """A read-only DuckDB connection that cannot read or write any other file."""
    import duckdb

    connection = duckdb.connect(
        str(path),
        read_only=True,
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "lock_configuration": True,
        },
    )
    try:
        yield connection
    finally:
        connection.close()


_SQLITE_ALLOWED = {
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


def _sqlite_authorizer(action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
    if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in {"load_extension", "readfile"}:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK if action in _SQLITE_ALLOWED else sqlite3.SQLITE_DENY


@contextmanager
def sqlite_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only SQLite connection: no ATTACH, no PRAGMA, no write of any kind."""
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    connection = sqlite3.connect(uri, uri=True)
    try:
        connection.set_authorizer(_sqlite_authorizer)
        yield connection
    finally:
        connection.close()
