"""Columns computed beside the score batch by batch (``intent_*``, ``personas_missing``): the
streaming scorer adds them while it writes, so memory stays bounded by the batch with every
column on and the scored file is written once (issue 23)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from icpkit.datasets import make_crm
from icpkit.pipeline import IntentColumns, PersonasColumns, score_accounts
from icpkit.scoring import load_spec, score_file

SPEC = """
name = "stream"
[[criteria]]
rule = "industry = 'Software' AND employees in [50, 1000)"
points = 40
"""


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stream")
    make_crm(300, seed=4).write_workspace(root)
    return root / "accounts.csv"


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("spec") / "spec.toml"
    path.write_text(SPEC)
    return load_spec(path)


def intent_of(path: Path) -> pl.DataFrame:
    """A made-up intent per account (every third hot, no entry for every fifth)."""
    ids = pl.read_csv(path, infer_schema=False)["account_id"]
    rows = [(a, float(i % 7), ["cold", "warm", "hot"][i % 3], f"why {i}")
            for i, a in enumerate(ids) if i % 5]  # fmt: skip
    return pl.DataFrame(
        rows, schema=["account_id", "intent_score", "intent", "why_now"], orient="row"
    )


class Recording:
    """An annotation that records the size of every batch it is given."""

    def __init__(self, inner: IntentColumns) -> None:
        self.inner, self.names, self.sizes = inner, inner.names, []

    def __call__(self, batch: pl.DataFrame | pa.Table) -> pa.Table:
        self.sizes.append(len(batch))
        return self.inner(batch)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_intent_columns_come_batch_by_batch_and_match_a_whole_file_join(
    accounts: Path, profile, tmp_path: Path, suffix: str
) -> None:
    intent = intent_of(accounts)
    recording = Recording(IntentColumns(intent))
    out = tmp_path / f"scored{suffix}"
    n = score_file(profile, accounts, out, batch_rows=40, annotations=(recording,))
    assert n == 300 and max(recording.sizes) <= 40 and sum(recording.sizes) == 300
    scored = pl.read_csv(out, infer_schema=False) if suffix == ".csv" else pl.read_parquet(out)
    assert scored.columns[-3:] == ["intent_score", "intent", "why_now"]
    whole = (
        pl.read_csv(accounts, infer_schema=False)
        .select("account_id")
        .join(intent, on="account_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("intent_score").fill_null(0.0),
            pl.col("intent").fill_null("cold"),
            pl.col("why_now").fill_null(""),
        )
    )
    got = scored.select(
        pl.col("account_id").cast(pl.Utf8),
        pl.col("intent_score").cast(pl.Float64),
        "intent",
        pl.col("why_now").fill_null(""),
    )
    assert got.equals(whole)
    assert (got["intent"] == "cold").sum() > 60  # the accounts without intent are cold


def test_an_input_column_of_the_same_name_is_replaced_and_an_empty_file_has_the_header(
    accounts: Path, profile, tmp_path: Path
) -> None:
    stale = tmp_path / "stale.csv"
    pl.read_csv(accounts, infer_schema=False).head(10).with_columns(
        intent=pl.lit("stale")
    ).write_csv(stale)
    intent = IntentColumns(intent_of(accounts))
    score_file(profile, stale, tmp_path / "out.csv", annotations=(intent,))
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert out.columns.count("intent") == 1 and "stale" not in out["intent"].to_list()
    header = tmp_path / "header.csv"
    header.write_text(",".join(pl.read_csv(accounts, n_rows=1).columns) + "\n")
    assert score_file(profile, header, tmp_path / "empty.csv", annotations=(intent,)) == 0
    assert pl.read_csv(tmp_path / "empty.csv").columns[-3:] == ["intent_score", "intent", "why_now"]


def test_personas_missing_is_empty_without_a_personas_section(
    accounts: Path, profile, tmp_path: Path
) -> None:
    """A hand-written spec has no personas: the column is there, empty (not an error)."""
    contacts = accounts.with_name("contacts.csv")
    scored = score_accounts(profile, accounts, contacts=contacts)
    assert "personas_missing" in scored.columns
    assert (scored["personas_missing"] == "").all()
    assert PersonasColumns(None, pl.DataFrame()).names == ("personas_missing",)
