"""Random bytes and random frames into the loaders: nothing but IcpError subclasses escapes."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budget import examples
from icpkit.config import config_from_dict
from icpkit.data import check_workspace, crm_from_frames, load_workspace, read_table
from icpkit.errors import IcpError

FUZZ = settings(
    max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SUFFIXES = [".csv", ".tsv", ".xlsx", ".parquet", ".sqlite", ".duckdb"]
CELL = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(
        ["51-200", "10K+", "$1.2M", "n/a", "2024-02-30", "1/2/2024", "USA", "closedwon", "a;b|c"]
    ),
    st.integers(-(10**6), 10**6).map(str),
)


@FUZZ
@given(payload=st.binary(max_size=2000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_never_escape_as_tracebacks(payload, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"accounts{suffix}"
        path.write_bytes(payload)
        with contextlib.suppress(IcpError):
            read_table(path)
        config = config_from_dict({"sources": {"accounts": {"path": path.name}}})
        report = check_workspace(config, Path(folder))
        # `icpkit check` says "OK: the data can be loaded" exactly when loading succeeds, and
        # every problem it reports names the file.
        try:
            load_workspace(config, Path(folder))
            loaded = True
        except IcpError:
            loaded = False
        assert loaded == report.ok, [str(p) for p in report.fatal]
        assert all(p.file == path.name for p in report.problems), [str(p) for p in report.problems]


@FUZZ
@given(text=st.text(max_size=400))
def test_random_text_csv_gives_a_report(text):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "accounts.csv").write_text(text, encoding="utf-8")
        config = config_from_dict({"sources": {"accounts": {"path": "accounts.csv"}}})
        report = check_workspace(config, Path(folder))
        assert all(p.file == "accounts.csv" for p in report.problems)


def _frame(columns: list[str], n_rows: int, cells: st.DataObject) -> pl.DataFrame:
    data = {c: cells.draw(st.lists(CELL, min_size=n_rows, max_size=n_rows)) for c in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.Utf8))


@FUZZ
@given(
    account_columns=st.sets(
        st.sampled_from(
            [
                "account_id",
                "employees",
                "country",
                "domain",
                "tech_stack",
                "founded_year",
                "industry",
                "extra",
            ]
        ),
        max_size=6,
    ),
    deal_columns=st.sets(
        st.sampled_from(
            [
                "deal_id",
                "account_id",
                "stage",
                "amount",
                "created_at",
                "closed_at",
                "currency",
                "IsWon",
            ]
        ),
        max_size=6,
    ),
    n_rows=st.integers(0, 8),
    cells=st.data(),
)
def test_random_frames_never_escape_as_tracebacks(account_columns, deal_columns, n_rows, cells):
    frames = {"accounts": _frame(sorted(account_columns), n_rows, cells)}
    if deal_columns:
        frames["deals"] = _frame(sorted(deal_columns), n_rows, cells)
    try:
        crm = crm_from_frames(frames)
    except IcpError:
        return
    assert crm.accounts.height == n_rows
    assert set(crm.accounts.columns) >= {"account_id", "employees", "country"}
