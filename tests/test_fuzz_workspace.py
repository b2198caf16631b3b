"""Hostile workspaces through `check` and `build`: random settings and damaged CSV/Parquet/Excel.

The only allowed outcomes are success or an IcpError subclass (any other exception fails the
test: it would be a traceback for the user), and no file outside the workspace may appear, change
or vanish. The fast suite runs a few examples; the slow run (``-m slow``) many more.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budget import examples
from icpkit.config import config_from_dict
from icpkit.errors import IcpError
from icpkit.pipeline import Workspace, build_and_save

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.9, 1.0, 2.7, -1.0, math.inf]),
)
SETTINGS: dict[str, st.SearchStrategy[Any]] = {
    "discovery.seed": st.one_of(st.integers(-5, 5), st.integers(2**31, 2**40)),
    "discovery.min_support": FLOATS,
    "discovery.max_depth": st.integers(-1, 5),
    "discovery.exclude": st.lists(st.sampled_from(["industry", "employees", "x"]), max_size=2),
    "discovery.allow": st.lists(st.sampled_from(["owner_email", "lead_number", "y"]), max_size=2),
    "success.shrinkage_prior": FLOATS,
    "success.best_share": FLOATS,
    "tiers.tier1_share": FLOATS,
    "tiers.tier2_share": FLOATS,
    "scoring.regularization": FLOATS,
    "scoring.target": st.sampled_from(["best", "won", "worst"]),
    "validation.cut_date": st.sampled_from(
        ["2024-06-01", "2099-01-01", "1/2/2024", "", "1800-01-01", "2023-02-30"]
    ),
    "na_values": st.lists(st.sampled_from(["Select", "", "0", "Software", "-"]), max_size=3),
    "max_columns": st.integers(-1, 12),
    "data_dirs": st.lists(st.sampled_from(["..", "/", "../outside", "sub"]), max_size=2),
    "allow_outside_workspace": st.booleans(),
    "accounts.delimiter": st.sampled_from([",", ";", ";;", "", "\t", "|"]),
    "accounts.encoding": st.sampled_from(["utf-8", "latin-1", "utf-16", "klingon"]),
    "accounts.path": st.sampled_from(
        ["accounts.{ext}", "../outside.csv", "/etc/passwd", "sub/../accounts.{ext}", "nope.csv"]
    ),
    "accounts.columns": st.dictionaries(
        st.sampled_from(["account_id", "industry", "employees", "domain"]),
        st.sampled_from(["account_id", "Industry", "industry", "Nope", "employees"]),
        max_size=2,
    ),
    "accounts.na_values": st.dictionaries(
        st.sampled_from(["employees", "industry"]), st.lists(st.text(max_size=3), max_size=2)
    ),
}
MUTATIONS = st.lists(
    st.tuples(
        st.integers(0, 59),
        st.sampled_from(["industry", "employees", "owner_email", "lead_number", "signup"]),
        st.sampled_from(
            [
                "",
                "1e400",
                "inf",
                "-50",
                "1\u00a0234",
                "€12.500",
                "Select",
                "2099-12-31",
                "=1+1",
                "Jon Smith",
                "a,b;c",
                "\x00",
                "[/]",
                "NaN",
                "1.324",
            ]
        ),
    ),
    max_size=8,
)


def _crm(mutations: list[tuple[int, str, str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(0)
    n = 60
    industry = rng.choice(["Software", "Retail", "Health"], n)
    won = rng.random(n) < np.where(industry == "Software", 0.7, 0.3)
    accounts = pl.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "industry": industry,
            "employees": [str(v) for v in rng.integers(5, 5000, n)],
            "owner_email": [f"rep{i % 4}@x.example" for i in range(n)],
            "lead_number": [str(1000 + i) for i in range(n)],
            "signup": [f"2023-{1 + i % 12:02d}-{1 + i % 27:02d}" for i in range(n)],
        }
    )
    rows = accounts.to_dicts()
    for row, column, value in mutations:
        rows[row][column] = value
    accounts = pl.DataFrame(rows, schema=dict.fromkeys(accounts.columns, pl.Utf8))
    deals = pl.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(n)],
            "account_id": [f"a{i}" for i in range(n)],
            "stage": np.where(won, "won", "lost"),
            "created_at": [f"2023-{1 + i % 12:02d}-01" for i in range(n)],
            "closed_at": [f"2023-{1 + i % 12:02d}-20" for i in range(n)],
            "amount": [str(v) for v in rng.integers(100, 9000, n)],
        }
    )
    return accounts, deals


def _write(frame: pl.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        frame.write_csv(path)
    elif path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(frame.columns)
        for row in frame.iter_rows():
            sheet.append([None if v is None else v.replace("\x00", "") for v in row])
        book.save(path)


def _config(values: dict[str, Any], ext: str) -> dict[str, Any]:
    config: dict[str, Any] = {"sources": {"deals": {"path": "deals.csv"}}}
    accounts: dict[str, Any] = {"path": f"accounts.{ext}"}
    for key, value in values.items():
        if key.startswith("accounts."):
            field = key.split(".", 1)[1]
            accounts[field] = value.format(ext=ext) if isinstance(value, str) else value
        elif "." in key:
            section, field = key.split(".", 1)
            config.setdefault(section, {})[field] = value
        else:
            config[key] = value
    config["sources"]["accounts"] = accounts
    return config


def _snapshot(folder: Path, skip: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and skip not in p.parents
    }


def _run(values: dict[str, Any], ext: str, mutations: list[tuple[int, str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outer = Path(tmp)
        root = outer / "ws"
        (root / "sub").mkdir(parents=True)
        accounts, deals = _crm(mutations)
        _write(accounts, root / f"accounts.{ext}")
        deals.write_csv(root / "deals.csv")
        accounts.write_csv(outer / "outside.csv")
        before = _snapshot(outer, root)
        try:
            config = config_from_dict(_config(values, ext))
        except IcpError:
            return
        workspace = Workspace(root=root, config=config)
        try:
            report = workspace.check()
            unnamed = [str(p) for p in report.problems if not (p.file and p.message.strip())]
            assert not unnamed, f"problems that name no file or say nothing: {unnamed}"
            if report.ok:
                build_and_save(workspace)
        except IcpError as exc:
            text = str(exc)
            assert text.strip() and "Traceback" not in text, f"an unhelpful error: {text!r}"
        assert _snapshot(outer, root) == before, "a file outside the workspace changed"


FAST = settings(max_examples=examples(8), deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
CASES = {
    "values": st.fixed_dictionaries({}, optional=SETTINGS),
    "ext": st.sampled_from(["csv", "parquet", "xlsx"]),
    "mutations": MUTATIONS,
}


@FAST
@given(**CASES)
def test_hostile_workspaces_end_in_success_or_an_icperror(values, ext, mutations) -> None:
    _run(values, ext, mutations)


@pytest.mark.slow
@SLOW
@given(**CASES)
def test_hostile_workspaces_many_examples(values, ext, mutations) -> None:
    _run(values, ext, mutations)
