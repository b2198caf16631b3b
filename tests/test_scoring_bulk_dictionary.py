"""Bulk scoring on Parquet dictionary indices and projected columns gives exactly what the plain,
row-by-row computations give.

One hand-made profile (a criterion, a forcing and a soft disqualifier, positive points on a
missing bin) scores a table with dictionary-encoded and plain text, nulls, levels the scorecard
never saw, and numbers on, just below and just above every cut (NaN, ±inf, ints): every output
column of ``score_file`` on Parquet (dictionary pages or plain pages, all columns or only some
kept) equals ``score_rows`` on the same rows in memory (the same typing, plain Arrow
columns), and each row's reasons equal its one-row explanation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from icpkit.profile import IcpProfile, RuleEvidence
from icpkit.scoring import score_file, score_frame
from icpkit.scoring.apply import OUTPUT_COLUMNS, RuleMasks, ScoringPlan
from icpkit.scoring.binning import Feature
from icpkit.scoring.bulk import score_rows
from icpkit.scoring.card import Scorecard
from icpkit.scoring.tiers import assign_tiers

CUTS = (10.0, 50.0, 200.0)


def _rule(text: str, forces: bool = True) -> RuleEvidence:
    return RuleEvidence(
        rule=text,
        support=1,
        coverage=0.5,
        precision=0.5,
        lift=1.0,
        lift_ci=(1.0, 1.0),
        forces_nonfit=forces,
    )


@pytest.fixture(scope="module")
def profile() -> IcpProfile:
    return make_profile()


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return make_table()


def make_profile() -> IcpProfile:
    features = (
        Feature(name="sector", kind="categorical", column="sector", levels=("Retail", "SaaS")),
        Feature(name="staff", kind="numeric", column="staff", cuts=CUTS),
        Feature(name="zone", kind="categorical", column="zone", levels=("EU", "US")),
        Feature(name="spend", kind="numeric", column="spend", cuts=(1.5,)),
    )
    points = ((-5, 20, 0, -3), (-10, 0, 8, 15, 4), (3, 3, -2, 6), (0, 4, 4))
    card = Scorecard(features=features, points=points, base=40)
    return IcpProfile(
        scorecard=card.to_dict(),
        tiers={"cuts": {"tier1": 70, "tier2": 55, "tier3": 40}},
        criteria=[_rule("sector = 'SaaS' AND staff in [50, inf)")],
        disqualifiers=[
            _rule("zone = 'EU' AND staff in [-inf, 10)"),
            _rule("spend is missing", False),
        ],
    )


def make_table() -> pa.Table:
    rng = np.random.default_rng(7)
    n = 3000
    edges = [v for c in CUTS for v in (c, np.nextafter(c, -np.inf), np.nextafter(c, np.inf))]
    edges += [np.nan, np.inf, -np.inf, 0.0, -1.0, 1e300]
    staff = rng.choice(np.array(edges), n)
    sector = rng.choice(np.array(["SaaS", "Retail", "Mining", "saas", "", "Bank"]), n)
    zone = rng.choice(np.array(["EU", "US", "APAC"]), n)
    return pa.table(
        {
            "account_id": np.arange(n),
            "sector": pa.array(sector).to_pylist()[:5] + [None] * 20 + list(sector[25:]),
            "staff": pa.array(staff, mask=rng.random(n) < 0.05),
            "zone": pa.array(list(zone[: n - 9]) + [None] * 9),
            "spend": pa.array(rng.integers(0, 4, n), mask=rng.random(n) < 0.1),
            "unused": pa.array(["not read"] * n),
        }
    )


def _frame(out: pa.Table | pl.DataFrame) -> pl.DataFrame:
    frame = out if isinstance(out, pl.DataFrame) else pl.from_arrow(out)
    assert isinstance(frame, pl.DataFrame)
    cast = [pl.col(c).cast(pl.Utf8) for c in frame.columns if frame.schema[c] in (pl.Categorical,)]
    return frame.with_columns(cast)


@pytest.mark.parametrize("dictionary", [True, False])
@pytest.mark.parametrize("keep", [None, ["account_id"]])
def test_file_on_dictionary_indices_equals_the_frame_row_by_row(
    tmp_path: Path, profile: IcpProfile, table: pa.Table, dictionary: bool, keep: list[str] | None
) -> None:
    source = tmp_path / "accounts.parquet"
    pq.write_table(table, source, use_dictionary=dictionary, row_group_size=700)
    target = tmp_path / "scored.parquet"
    rows = score_file(profile, source, target, keep=keep, outputs=OUTPUT_COLUMNS, batch_rows=1000)
    assert rows == table.num_rows
    got = _frame(pq.read_table(target))
    # the same typing in memory, on plain (not dictionary-encoded) columns: score_rows
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    expected = _frame(score_rows(profile, frame, outputs=OUTPUT_COLUMNS))
    assert got.columns == [*(keep or table.column_names), *OUTPUT_COLUMNS]
    assert got.equals(expected.select(got.columns))
    tiers = got["tier"].value_counts()["tier"].to_list()
    assert {"Tier 1", "Tier 2", "Tier 3", "Non-fit"} <= set(tiers)  # every branch is taken


def test_reasons_equal_the_one_row_explanations(profile: IcpProfile, table: pa.Table) -> None:
    from icpkit.scoring.apply import explain_accounts

    frame = pl.from_arrow(table)
    scored = score_frame(profile, frame)
    for i, one in enumerate(explain_accounts(profile, frame, rows=list(range(0, 3000, 37)))):
        row = i * 37
        assert scored["fit_score"][row] == one.score and scored["tier"][row] == one.tier
        listed = [r for r in scored["reasons"][row].split("; ") if r]
        assert sorted(listed) == sorted([*one.reasons_for, *one.reasons_against])


def test_tiers_from_the_table_equal_assign_tiers(profile: IcpProfile) -> None:
    plan = ScoringPlan.from_profile(profile)
    rng = np.random.default_rng(3)
    low, high = plan.card.score_range()
    n = 20_000
    scores = rng.integers(low, high + 1, n).astype(np.int16)
    met, near, hit = (rng.random((n, k)) < 0.4 for k in (1, 1, 2))
    near |= met
    masks = RuleMasks(met, near, hit, np.array([True, False]))
    want = assign_tiers(scores, masks.fit(True), plan.cuts)
    assert plan.tiers(scores, masks).tolist() == want.tolist()
    bare = ScoringPlan(plan.card, (), (), plan.cuts)  # the score alone
    none = RuleMasks(met[:, :0], near[:, :0], hit[:, :0], np.array([], bool))
    assert (
        bare.tiers(scores, none).tolist()
        == assign_tiers(scores, none.fit(False), plan.cuts).tolist()
    )
