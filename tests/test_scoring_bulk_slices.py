"""Bulk scoring with reasons reads and scores ``bulk.SCORE_ROWS`` rows at a time and writes row
groups of ``batch_rows`` rows: the file holds exactly what scoring whole batches gives, value for
value, in Parquet and CSV, also when one batch's reasons come out dictionary-encoded (few distinct
lists) and another's as plain text.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from icpkit.profile import IcpProfile
from icpkit.scoring import bulk, explain, score_file
from icpkit.scoring.apply import OUTPUT_COLUMNS, ScoringPlan
from test_scoring_bulk_dictionary import make_profile, make_table


@pytest.fixture(scope="module")
def profile() -> IcpProfile:
    return make_profile()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = make_table()
    # the first 200 rows are one account repeated: a slice of them has one list of reasons
    # (a dictionary column), the slices after it have many (plain text)
    same = table.slice(0, 1).take([0] * 200)
    table = pa.concat_tables([same, table.slice(200)])
    path = tmp_path_factory.mktemp("slices") / "accounts.parquet"
    pq.write_table(table, path, row_group_size=700)
    return path


@pytest.fixture(autouse=True)
def small_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    # reasons are dictionary-encoded unless a sample shows many distinct lists: a sample of
    # 100 rows lets a 130-row slice come out either way
    monkeypatch.setattr(explain, "_SAMPLE", 100)


def _scored(
    profile: IcpProfile, source: Path, target: Path, slice_rows: int, mp: pytest.MonkeyPatch
) -> int:
    mp.setattr(bulk, "SCORE_ROWS", slice_rows)
    return score_file(profile, source, target, outputs=OUTPUT_COLUMNS, batch_rows=1000)


def _plain(table: pa.Table) -> pa.Table:
    """Every dictionary column decoded, one chunk per column: the values alone."""
    columns = [
        c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.table(columns, names=table.column_names).combine_chunks()


def test_slices_of_a_batch_mix_dictionary_and_plain_reasons(
    profile: IcpProfile, source: Path
) -> None:
    plan = ScoringPlan.from_profile(profile)
    table = pq.read_table(source)
    columns, _ = bulk.resolve_columns(plan, table.column_names)

    def reasons(lo: int) -> pa.DataType:
        typed = bulk.type_batch(columns, table.slice(lo, 130))
        return plan.score_table(typed, parallel=False)["reasons"].type

    assert pa.types.is_dictionary(reasons(0)) and not pa.types.is_dictionary(reasons(260))


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_sliced_batches_write_what_whole_batches_write(
    tmp_path: Path, profile: IcpProfile, source: Path, suffix: str
) -> None:
    whole, sliced = tmp_path / f"whole{suffix}", tmp_path / f"sliced{suffix}"
    with pytest.MonkeyPatch.context() as mp:
        assert _scored(profile, source, whole, 10**9, mp) == 3000
    with pytest.MonkeyPatch.context() as mp:
        assert _scored(profile, source, sliced, 130, mp) == 3000
    if suffix == ".csv":
        assert sliced.read_bytes() == whole.read_bytes()
        return
    got, want = pq.read_table(sliced), pq.read_table(whole)
    assert got.schema == want.schema
    assert pl.DataFrame(_plain(got)).equals(pl.DataFrame(_plain(want)))  # NaN equals NaN
    for path in (sliced, whole):  # row groups of batch_rows (1000) rows, not one per batch
        groups = _groups(path)
        assert sum(groups) == 3000 and all(1000 <= g < 2000 for g in groups[:-1])


def _groups(path: Path) -> list[int]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_a_file_read_whole_is_scored_in_slices(tmp_path: Path) -> None:
    """Excel is read as one batch: scored SCORE_ROWS rows at a time, it gives what one slice
    gives, in row groups of batch_rows rows."""
    from icpkit.datasets import make_crm
    from icpkit.scoring import load_spec

    spec = load_spec(Path(__file__).parent / "fixtures" / "spec_cold_start.toml")
    accounts = make_crm(900, seed=8).accounts.with_columns(pl.col("tech_stack").list.join(";"))
    source = tmp_path / "accounts.xlsx"
    accounts.to_pandas().to_excel(source, index=False, engine="openpyxl")
    whole, sliced = tmp_path / "whole.parquet", tmp_path / "sliced.parquet"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "SCORE_ROWS", 10**9)
        score_file(spec, source, whole, batch_rows=400)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "SCORE_ROWS", 130)
        score_file(spec, source, sliced, batch_rows=400)
    assert pl.DataFrame(_plain(pq.read_table(sliced))).equals(
        pl.DataFrame(_plain(pq.read_table(whole)))
    )
    assert _groups(sliced) == [520, 380]  # 4 slices of 130, then the rest


def test_text_score_columns_are_written_without_statistics(
    tmp_path: Path, profile: IcpProfile, source: Path
) -> None:
    target = tmp_path / "scored.parquet"
    score_file(profile, source, target, outputs=OUTPUT_COLUMNS, keep=["account_id"])
    group = pq.ParquetFile(target).metadata.row_group(0)
    stats = {
        group.column(j).path_in_schema: group.column(j).is_stats_set
        for j in range(group.num_columns)
    }
    assert {name for name, kept in stats.items() if not kept} == set(bulk.UNSTATISTICAL)
    assert stats["fit_score"] and stats["account_id"]
