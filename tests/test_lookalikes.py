"""Lookalikes: a planted universe with known win probabilities and disguised customers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import icpkit.lookalikes as lookalikes
from icpkit.datasets import make_crm
from icpkit.errors import SchemaError
from icpkit.lookalikes import CompanyIndex, name_key, rank_universe

FINANCE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "financedatabase-equities"
)


@pytest.fixture(scope="module")
def world(lookalikes_world):  # type: ignore[no-untyped-def]
    return lookalikes_world


def test_top_targets_win_twice_as_often_and_customers_are_excluded(world) -> None:
    crm, profile, universe = world
    result = rank_universe(profile, universe, crm.to_crm_data(), top=500)
    top = result.frame
    base = universe.filter(pl.col("customer_variant_of").is_null())["p_win_true"].mean()
    assert top.height == 500
    assert top["p_win_true"].mean() >= 2 * base, (top["p_win_true"].mean(), base)
    variants = universe["customer_variant_of"].drop_nulls().len()
    assert result.n_excluded >= 0.95 * variants
    assert top["customer_variant_of"].drop_nulls().len() == 0
    # a duplicate listing never stands beside the company it duplicates
    ids = set(top["account_id"].to_list())
    dups = universe.filter(pl.col("duplicate_of").is_not_null())
    assert not any(
        d in ids and o in ids for d, o in dups.select("account_id", "duplicate_of").iter_rows()
    )
    assert top["why"].str.starts_with("Tier").all()
    assert top["why"].str.contains("similar to").all()


def test_include_customers_keeps_them_with_the_match(world) -> None:
    crm, profile, universe = world
    variants = universe.filter(pl.col("customer_variant_of").is_not_null())
    result = rank_universe(profile, variants, crm.to_crm_data(), top=1000, include_customers=True)
    frame = result.frame
    matched = frame.filter(pl.col("customer_match").is_not_null())
    assert matched.height >= 0.95 * variants.height
    assert (matched["customer_match"] == matched["customer_variant_of"]).mean() >= 0.95
    assert set(matched["match_kind"].unique()) <= {"domain", "name", "fuzzy name"}


def test_names_of_customers_only_when_asked(world) -> None:
    crm, profile, universe = world
    plain = rank_universe(profile, universe.head(2000), crm.to_crm_data(), top=20).frame
    assert "nearest_best_customers" not in plain.columns
    customer_names = set(crm.accounts["name"].to_list())
    assert not any(n in w for w in plain["why"].to_list() for n in customer_names)
    named = rank_universe(profile, universe.head(2000), crm.to_crm_data(), top=20, show_names=True)
    assert named.frame["nearest_best_customers"].str.len_chars().min() > 0


def test_the_package_is_callable_and_keeps_the_frame_type(world) -> None:
    crm, profile, universe = world
    out = lookalikes(profile, universe.head(1500).to_pandas(), crm=crm.to_crm_data(), top=10)
    assert isinstance(out, pd.DataFrame) and len(out) == 10


def test_streamed_batches_give_the_same_list(world) -> None:
    crm, profile, universe = world
    whole = rank_universe(profile, universe, crm.to_crm_data(), top=100).frame
    parts = iter([universe.slice(i, 3000) for i in range(0, universe.height, 3000)])
    streamed = rank_universe(profile, parts, crm.to_crm_data(), top=100, batch_rows=1000).frame
    assert whole["account_id"].to_list() == streamed["account_id"].to_list()


@pytest.mark.parametrize(
    ("a", "b"),
    [("ACME, Inc.", "Acme"), ("Société Générale S.A.", "societe generale"), ("Blue Wave GmbH", "blue wave"),
     ("Atlas Holdings LLC", "ATLAS"), ("Müller & Söhne AG", "Muller and Sohne")],
)  # fmt: skip
def test_legal_suffixes_accents_and_case_fold_away(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_domains_match_through_urls_and_subdomains_but_not_lookalike_words() -> None:
    accounts = pl.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "name": ["Acme Inc", "Globex"],
            "domain": ["acme.com", "eu.globex.io"],
        }
    )
    index = CompanyIndex(accounts)
    domains = pl.Series(
        [
            "https://www.ACME.com/about",
            "shop.acme.com",
            "notacme.com",
            "globex.io",
            "x.org",
            None,
            "not a domain",
        ]
    )
    names = pl.Series(
        ["Other 1", "Other 2", "Other 3", "Other 4", "Other 5", "Acme Incorporated", ""]
    )
    match = index.match(domains, names)
    assert match.account_id == ["A1", "A1", None, "A2", None, "A1", None]
    assert match.kind[:2] == ["domain", "domain"] and match.kind[5] == "name"


def test_a_universe_without_any_attribute_is_refused_with_the_list(world) -> None:
    crm, profile, _ = world
    bare = pl.DataFrame({"account_id": ["x"], "name": ["Foo"], "ticker": ["FOO"]})
    with pytest.raises(SchemaError, match="none of the profile's attributes") as info:
        rank_universe(profile, bare, crm.to_crm_data())
    assert "industry" in str(info.value)


def test_blanks_malformed_domains_and_duplicate_ids_rank_without_error(world) -> None:
    crm, profile, universe = world
    messy = (
        universe.head(300)
        .with_columns(
            pl.lit("").alias("name"),
            pl.lit("http://???").alias("domain"),
            pl.lit("SAME").alias("account_id"),
        )
        .drop("tech_stack")
    )
    result = rank_universe(profile, messy, crm.to_crm_data(), top=50)
    assert result.frame.height >= 1
    assert "tech_stack" in result.missing_attributes


def test_cli_writes_targets(tmp_path: Path, world) -> None:
    from typer.testing import CliRunner

    from icpkit.cli import app
    from icpkit.pipeline import Workspace, build_and_save

    _, _, universe = world
    ws_dir = tmp_path / "ws"
    make_crm(1200, seed=2).write_workspace(ws_dir)
    build_and_save(Workspace.open(ws_dir))
    src = tmp_path / "universe.parquet"
    universe.head(3000).drop("p_win_true", "customer_variant_of", "duplicate_of").write_parquet(src)
    out = tmp_path / "targets.csv"
    result = CliRunner().invoke(
        app, ["lookalikes", str(src), "-o", str(out), "-w", str(ws_dir), "--top", "25"]
    )
    assert result.exit_code == 0, result.output
    assert "top 25 targets" in result.output
    targets = pl.read_csv(out)
    assert targets.height == 25 and {"tier", "fit_score", "similarity", "why"} <= set(
        targets.columns
    )
    again = CliRunner().invoke(app, ["lookalikes", str(src), "-o", str(src), "-w", str(ws_dir)])
    assert again.exit_code != 0 and "replace the universe" in again.output


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.skipif(
    not FINANCE.exists(), reason=f"FinanceDatabase universe not present at {FINANCE}"
)
def test_financedatabase_universe_ranks_software_companies_in_the_icp_regions(
    tmp_path: Path,
) -> None:
    """A synthetic CRM's ICP (Software; EMEA) run against 69k real listings mapped onto it."""
    from icpkit.pipeline import Workspace, build_and_save, find_targets

    ws_dir = tmp_path / "ws"
    make_crm(3000, seed=7).write_workspace(ws_dir)
    build_and_save(Workspace.open(ws_dir))
    universe = tmp_path / "equities.parquet"
    raw = pl.read_csv(FINANCE / "equities.csv", infer_schema_length=0)
    industry = {
        "Software & Services": "Software", "Banks": "Financial Services",
        "Financial Services": "Financial Services", "Insurance": "Financial Services",
        "Health Care Equipment & Services": "Healthcare",
        "Pharmaceuticals, Biotechnology & Life Sciences": "Healthcare",
        "Capital Goods": "Manufacturing", "Materials": "Manufacturing",
        "Consumer Discretionary Distribution & Retail": "Retail",
        "Commercial & Professional Services": "Professional Services",
        "Transportation": "Logistics", "Media & Entertainment": "Media",
    }  # fmt: skip
    raw.select(
        pl.col("symbol").alias("account_id"), "name",
        pl.col("website").alias("domain"),
        pl.col("industry_group").replace_strict(industry, default="Other").alias("industry"),
        "country",
    ).write_csv(tmp_path / "equities.csv")  # fmt: skip
    result = find_targets(
        Workspace.open(ws_dir), tmp_path / "equities.csv", tmp_path / "targets.csv", top=200
    )
    assert result.n_universe == raw.height
    assert result.n_duplicates > 0  # one company, several exchanges
    assert set(result.missing_attributes) >= {"employees", "tech_stack"}
    top = result.frame
    assert (top["industry"] == "Software").mean() > 0.8
    assert universe is not None


def test_companies_the_universe_knows_little_about_rank_after_the_known_ones(world) -> None:
    """Blank every attribute of a third of the universe: none of those rows ranks above a company
    known well enough, and their why says so (the newcomer's FinanceDatabase run ranked blank rows
    first, since missing bins can score above a known 'other' level)."""
    crm, profile, universe = world
    attrs = [c for c in ("employees", "annual_revenue", "industry", "country", "region",
                         "founded_year", "ownership", "tech_stack") if c in universe.columns]  # fmt: skip
    blank = pl.int_range(universe.height, eager=True) % 3 == 0
    sparse = universe.with_columns(
        pl.when(blank).then(None).otherwise(pl.col(c)).alias(c) for c in attrs
    )
    frame = rank_universe(profile, sparse, crm.to_crm_data(), top=sparse.height).frame
    shares = frame["known_share"].to_list()
    assert shares[0] >= 0.5 and min(shares) < 0.5  # both kinds are in the list
    first_little = next(i for i, s in enumerate(shares) if s < 0.5)
    assert all(s < 0.5 for s in shares[first_little:])  # none known enough after them
    assert frame.filter(pl.col("known_share") < 0.5)["why"].str.contains("little known").all()
