"""Lookalikes: one row per company across the whole universe, however it is streamed."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from icpkit.config import WorkspaceConfig
from icpkit.datasets import make_crm, make_universe
from icpkit.lookalikes import rank_universe
from icpkit.lookalikes.dedup import Rereadable, UniverseGroups
from icpkit.lookalikes.match import name_keys
from icpkit.pipeline import build_icp

FINANCE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "financedatabase-equities"
)


@pytest.fixture(scope="module")
def world():
    crm = make_crm(1500, seed=5)
    profile = build_icp(crm.to_crm_data(), WorkspaceConfig(), validate=False).profile
    universe = make_universe(crm, 6000, seed=4, customer_variants=0, duplicates=0)
    return crm, profile, universe


def _planted(universe: pl.DataFrame, world) -> pl.DataFrame:
    """Copies of three top companies placed far from them: another domain with the same name
    and country, the same domain under another name, and a blank copy that ranks low."""
    crm, profile, _ = world
    best = rank_universe(profile, universe, crm.to_crm_data(), top=3).frame["account_id"]
    head = universe.filter(pl.col("account_id").is_in(best.implode()))
    a, b, c = (head.slice(i, 1) for i in range(3))
    copies = pl.concat(
        [
            a.with_columns(pl.lit("COPY-A").alias("account_id"), pl.lit("other-a.net").alias("domain")),
            b.with_columns(
                pl.lit("COPY-B").alias("account_id"),
                (pl.col("name").str.split(" ").list.first() + " Holdings International Plc").alias("name"),
            ),
            c.with_columns(
                pl.lit("COPY-C").alias("account_id"),
                pl.lit(None, dtype=pl.Utf8).alias("industry"),
                pl.lit(None, dtype=pl.Float64).alias("employees"),
                pl.lit(None, dtype=pl.List(pl.Utf8)).alias("tech_stack"),
                pl.lit("https://www.c-elsewhere.org/").alias("domain"),
            ),
        ]
    )  # fmt: skip
    rest = universe.join(head.select("account_id"), on="account_id", how="anti")
    # the copy of c comes first (it founds the group, four batches before c), the others last
    parts = [copies.slice(2, 1), rest.head(1000), head, rest.slice(1000), copies.slice(0, 2)]
    return pl.concat(parts, how="vertical_relaxed")


def test_copies_in_far_apart_batches_are_one_row_with_their_aliases(world) -> None:
    crm, profile, universe = world
    planted = _planted(universe, world)
    top = planted.slice(1001, 3)["account_id"].to_list()
    batches = Rereadable(
        lambda: iter([planted.slice(i, 250) for i in range(0, planted.height, 250)])
    )
    result = rank_universe(profile, batches, crm.to_crm_data(), top=200)
    frame = result.frame
    assert not {"COPY-A", "COPY-B", "COPY-C"} & set(frame["account_id"].to_list())
    rows = {r["account_id"]: r for r in frame.filter(pl.col("account_id").is_in(top)).to_dicts()}
    assert set(rows) == set(top)
    for original, copy in zip(top, ("COPY-A", "COPY-B", "COPY-C"), strict=True):
        assert rows[original]["listings"] == 2
        assert rows[original]["aliases"].startswith(copy)
    assert result.n_duplicates == 3
    assert result.summary()["n_companies"] == planted.height - 3


def test_a_one_shot_stream_gives_the_same_rows(world) -> None:
    crm, profile, universe = world
    planted = _planted(universe, world)
    stream = iter([planted.slice(i, 250) for i in range(0, planted.height, 250)])
    streamed = rank_universe(profile, stream, crm.to_crm_data(), top=200).frame
    whole = rank_universe(profile, planted, crm.to_crm_data(), top=200).frame
    assert streamed["account_id"].to_list() == whole["account_id"].to_list()
    assert streamed["listings"].to_list() == whole["listings"].to_list()


def test_same_name_in_another_country_is_another_company() -> None:
    groups = UniverseGroups()
    frame = pl.DataFrame(
        {
            "account_id": ["1", "2", "3", "4", "5", "6"],
            "name": ["Atlas Inc", "ATLAS", "Atlas GmbH", "Orion", "Orion Technologies", "Vega"],
            "country": ["US", "US", "DE", "FR", "GB", "FR"],
            "domain": ["atlas.com", None, "atlas.de", "orion.fr", "https://www.orion.fr/a", "orion.fr"],
        }
    )  # fmt: skip
    groups.add(frame.head(2), 0)
    groups.add(frame.tail(4), 2)
    roots = groups.roots().tolist()
    # Vega shares Orion's website (a wrong website, as real sources have) but not its name
    assert roots == [0, 0, 2, 3, 3, 5]
    assert groups.summary()["n_companies"] == 4
    assert groups.labels[1] == "2 (ATLAS)" and groups.labels[4] == "5 (Orion Technologies)"


def test_the_key_map_stays_compact() -> None:
    n = 200_000
    frame = pl.DataFrame(
        {
            "name": [f"company {i}" for i in range(n)],
            "domain": [f"c{i}.com" for i in range(n)],
            "country": ["US"] * n,
        }
    )
    groups = UniverseGroups()
    for start in range(0, n, 20_000):
        groups.add(frame.slice(start, 20_000), start)
    assert groups.summary()["n_companies"] == n
    assert groups.nbytes / n <= 37  # two 16-byte keys, a 4-byte parent and a 1-byte tier per row


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.skipif(
    not FINANCE.exists(), reason=f"FinanceDatabase universe not present at {FINANCE}"
)
def test_financedatabase_listings_collapse_to_one_row_per_company(tmp_path: Path) -> None:
    """69k listings read in batches of 5,000: listings of one company on several exchanges fold."""
    crm = make_crm(1500, seed=5)
    profile = build_icp(crm.to_crm_data(), WorkspaceConfig(), validate=False).profile
    raw = pl.read_csv(FINANCE / "equities.csv", infer_schema_length=0)
    universe = raw.select(
        pl.col("symbol").alias("account_id"), "name", pl.col("website").alias("domain"),
        pl.col("sector").alias("industry"), "country",
    )  # fmt: skip
    batches = Rereadable(
        lambda: iter([universe.slice(i, 5000) for i in range(0, universe.height, 5000)])
    )
    result = rank_universe(profile, batches, crm.to_crm_data(), top=20_000)
    s = result.summary()
    print(f"listings {s['n_listings']:,} → companies {s['n_companies']:,}")
    assert s["n_listings"] == raw.height
    assert s["n_companies"] < 0.9 * raw.height  # measured: see docs/lookalikes.md
    out = result.frame
    keys = out.select(name_keys(out["name"].cast(pl.Utf8)).alias("k"), pl.col("country"))
    named = keys.filter(pl.col("k").is_not_null())
    assert named.height == named.unique().height  # no two rows share a name in a country
    assert out["listings"].sum() <= raw.height and out.filter(pl.col("listings") > 1).height > 0
