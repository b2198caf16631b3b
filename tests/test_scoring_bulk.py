"""Bulk scoring: same results as score_frame, streaming, atomic output, formula-safe CSV."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from icpkit.datasets import make_crm
from icpkit.errors import SchemaError
from icpkit.pipeline import score_accounts
from icpkit.scoring import load_spec, score_file

SPEC = Path(__file__).parent / "fixtures" / "spec_cold_start.toml"


@pytest.fixture(scope="module")
def profile():
    return load_spec(SPEC)


@pytest.fixture(scope="module")
def accounts() -> pl.DataFrame:
    return make_crm(1500, seed=8).accounts


def _csv(frame: pl.DataFrame, path: Path) -> Path:
    frame.with_columns(pl.col("tech_stack").list.join(";")).write_csv(path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_file_scores_equal_frame_scores(tmp_path, profile, accounts, fmt):
    source = tmp_path / f"accounts.{fmt}"
    if fmt == "csv":
        _csv(accounts, source)
    elif fmt == "parquet":
        accounts.write_parquet(source, row_group_size=300)
    else:
        flat = accounts.with_columns(pl.col("tech_stack").list.join(";")).to_pandas()
        flat.to_excel(source, index=False, engine="openpyxl")
    seen: list[tuple[int, int | None]] = []
    rows = score_file(
        profile,
        source,
        tmp_path / "out.parquet",
        progress=lambda d, t: seen.append((d, t)),
        batch_rows=400,
    )
    assert rows == accounts.height and seen[-1][0] == accounts.height
    if fmt != "xlsx":
        assert len(seen) >= 2  # streamed in batches
    out = pl.read_parquet(tmp_path / "out.parquet")
    expected = score_accounts(profile, accounts)  # the Python API types cells the same way
    assert (
        out["fit_score"].cast(pl.Int64).to_list() == expected["fit_score"].cast(pl.Int64).to_list()
    )
    assert out["tier"].cast(pl.Utf8).to_list() == expected["tier"].to_list()
    assert out["reasons"].cast(pl.Utf8).to_list() == expected["reasons"].to_list()


def test_csv_output_is_safe_against_formula_injection(tmp_path, profile, accounts):
    evil = accounts.head(5).with_columns(
        pl.Series("name", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab"]),
        pl.Series("note", ["-42", "+7", "3.5", "plain", "=1"]),
    )
    source = _csv(evil, tmp_path / "in.csv")
    score_file(profile, source, tmp_path / "out.csv")
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert out["name"].to_list() == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab",
    ]
    assert out["note"].to_list() == ["-42", "+7", "3.5", "plain", "'=1"]  # plain numbers stay
    assert all(not r.startswith(("=", "+", "-", "@")) for r in out["reasons"].fill_null(""))


def test_failure_leaves_no_half_written_file(tmp_path, profile, accounts):
    bad = _csv(accounts, tmp_path / "in.csv")
    lines = bad.read_text().splitlines()
    lines[-1] = lines[-1].replace(lines[-1].split(",")[4], "lots", 1)  # employees no number
    bad.write_text("\n".join(lines) + "\n")
    target = tmp_path / "out.csv"
    target.write_text("previous result\n")
    with pytest.raises(SchemaError, match="employees"):
        score_file(profile, bad, target, batch_rows=200)
    assert target.read_text() == "previous result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_missing_attribute_columns_are_named(tmp_path, profile, accounts):
    source = tmp_path / "in.parquet"
    accounts.drop("industry", "ownership").write_parquet(source)
    with pytest.raises(SchemaError, match=r"industry.*ownership|ownership.*industry"):
        score_file(profile, source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_lacking_columns_can_be_scored_as_missing(tmp_path, profile, accounts, fmt):
    """With ``missing``, a file without some attribute columns scores as the same file with
    those columns present and empty, and the lacking attributes are named once."""
    lacking = ["industry", "tech_stack", "employees"]  # a category, a tag list, a number
    empty = accounts.with_columns(
        pl.lit(None, pl.Utf8).alias("industry"),
        pl.lit(None, pl.List(pl.Utf8)).alias("tech_stack"),
        pl.lit(None, pl.Float64).alias("employees"),
    )
    short, full = tmp_path / f"short.{fmt}", tmp_path / f"empty.{fmt}"
    if fmt == "csv":
        accounts.drop(lacking[1:]).drop("industry").write_csv(short)
        _csv(empty, full)
    else:
        accounts.drop(lacking).write_parquet(short, row_group_size=400)
        empty.write_parquet(full, row_group_size=400)
    named: list[list[str]] = []
    n = score_file(profile, short, tmp_path / "short_out.csv", missing=named.append)
    score_file(profile, full, tmp_path / "full_out.csv")
    assert n == accounts.height
    assert sorted(named[0]) == sorted(lacking) and len(named) == 1
    got = pl.read_csv(tmp_path / "short_out.csv", infer_schema=False)
    want = pl.read_csv(tmp_path / "full_out.csv", infer_schema=False)
    scores = ["fit_score", "tier", "reasons", "criteria_met", "disqualifiers_hit"]
    assert got.select(scores).equals(want.select(scores))
    assert (got["tier"] != "Tier 1").all()  # the first criterion needs the industry


def test_lacking_columns_are_refused_by_default_with_the_way_out(tmp_path, profile, accounts):
    source = tmp_path / "in.csv"
    accounts.drop("industry", "tech_stack").write_csv(source)
    with pytest.raises(SchemaError, match="--allow-missing"):
        score_file(profile, source, tmp_path / "out.csv")


@pytest.mark.parametrize("text_type", ["string", "large_string", "string_view"])
def test_formula_cells_are_neutralised_whatever_the_arrow_string_type(text_type):
    """Parquet written by polars holds large strings; every string type gets the same escape."""
    import pyarrow as pa

    from icpkit.scoring.bulk import csv_safe

    kind = {
        "string": pa.string(),
        "large_string": pa.large_string(),
        "string_view": pa.string_view(),
    }[text_type]
    table = pa.table({"note": pa.array(["=HYPERLINK(1)", "plain", "-12.5", None], type=kind)})
    assert csv_safe(table).column("note").to_pylist() == ["'=HYPERLINK(1)", "plain", "-12.5", None]
