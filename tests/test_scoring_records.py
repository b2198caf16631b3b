"""The API's fast path (``RecordScorer``: one account as a dict, no frame) gives exactly what the
frame path gives — every output column of every account of the synthetic CRM, of edge values at
every bin edge, missing, NaN and unseen levels, under a plan with every kind of rule — and hands
anything it would have to cast back to the frame path."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import polars as pl
import pytest

from icpkit import pipeline
from icpkit.config import WorkspaceConfig
from icpkit.data.model import CrmData
from icpkit.datasets import make_crm
from icpkit.errors import SchemaError
from icpkit.lifecycle.store import Store
from icpkit.profile import IcpProfile
from icpkit.scoring import OUTPUT_COLUMNS, Scorecard, ScoringPlan
from icpkit.scoring.apply import to_arrow
from icpkit.scoring.binning import Feature
from icpkit.scoring.records import RecordScorer

EXTRA_RULES = (  # every operator and value type the rules know, on every column type
    "industry in ('Retail', 'Software')",
    "region is missing",
    "employees = 100",
    "annual_revenue in (0, 1000000)",
    "founded_year in [1990, 2005)",
    "tech_stack contains 'AWS' AND tech_stack is missing",
    "is_public = true",
    "tech_stack is missing",
    "employees is missing AND founded_year in [-inf, 2000)",
)


@pytest.fixture(scope="module")
def built(synthetic_crm_data: CrmData) -> IcpProfile:
    config = WorkspaceConfig()
    return pipeline.build_icp(synthetic_crm_data, config, validate=False, themes=False).profile


def with_bool(accounts: pl.DataFrame) -> pl.DataFrame:
    """The accounts plus a true/false column (the synthetic CRM has none), some of it missing."""
    n = accounts.height
    flags = [None if i % 11 == 0 else i % 3 == 0 for i in range(n)]
    return accounts.with_columns(pl.Series("is_public", flags, dtype=pl.Boolean))


def wide_plan(plan: ScoringPlan) -> ScoringPlan:
    """The learned plan plus a categorical on the true/false column and a points rule, a
    criterion and a (soft and forcing) disqualifier of every kind in ``EXTRA_RULES``."""
    card = plan.card
    extra = [
        Feature(name="is_public", kind="categorical", column="is_public", levels=("false", "true"))
    ]
    extra += [
        Feature(name=f"r{i}", kind="rule", rule=r, role="points") for i, r in enumerate(EXTRA_RULES)
    ]
    points = [(3, -4, 1, 0)] + [(0, 5 - 2 * (i % 4)) for i in range(len(EXTRA_RULES))]
    wide = Scorecard(
        features=(*card.features, *extra),
        points=(*card.points, *points),
        base=card.base,
        probability=card.probability,
    )
    return dataclasses.replace(
        plan,
        card=wide,
        criteria=(*plan.criteria, *EXTRA_RULES[:3]),
        disqualifiers=(*plan.disqualifiers, EXTRA_RULES[6], EXTRA_RULES[8]),
        soft=frozenset({EXTRA_RULES[8]}),
    )


def frame_path(plan: ScoringPlan, frame: pl.DataFrame) -> list[dict[str, Any]]:
    table = pl.from_arrow(plan.score_table(to_arrow(frame, plan.columns)))
    assert isinstance(table, pl.DataFrame)
    text = [c for c in ("tier", "reasons", "criteria_met", "disqualifiers_hit")]
    return table.with_columns(pl.col(text).cast(pl.Utf8)).select(OUTPUT_COLUMNS).to_dicts()


def edge_records(plan: ScoringPlan, accounts: pl.DataFrame) -> list[dict[str, Any]]:
    """Real accounts with one value at a time set to an edge: on and just below every cut, every
    level, an unseen level, empty text, missing, NaN, an empty list, every tag alone."""
    base = accounts.to_dicts()
    out: list[dict[str, Any]] = []
    for feature in plan.card.features:
        column = feature.column
        if feature.kind == "numeric":
            integral = accounts.schema[column] == pl.Int64
            values: list[Any] = [None]
            for cut in feature.cuts:
                if math.isfinite(cut):
                    values += (
                        [int(cut), int(cut) - 1]
                        if integral
                        else [cut, cut - 0.5, math.nextafter(cut, -math.inf)]
                    )
            values += [] if integral else [math.nan, math.inf, -math.inf, 0.0]
        elif feature.kind == "categorical":
            values = [*feature.levels, "never seen", "", None]
            if accounts.schema[column] == pl.Boolean:
                values = [True, False, None]
        elif feature.kind == "tag":
            values = [[], None, [feature.tag], [feature.tag, "zzz"], ["zzz"]]
        else:
            continue
        for value in values:
            record = dict(base[len(out) % len(base)])
            record[column] = value
            out.append(record)
    return out


def assert_same(plan: ScoringPlan, schema: Any, records: list[dict[str, Any]]) -> int:
    fast = RecordScorer.compile(plan, schema)
    assert fast is not None
    frame = pl.DataFrame(records, schema=schema)
    expected = frame_path(plan, frame)
    got = [fast.score(r) for r in records]
    assert all(g is not None for g in got)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g == e, (i, records[i], g, e)
    return len(records)


def test_every_synthetic_account_scores_the_same_on_both_paths(
    built: IcpProfile, synthetic_crm_data: CrmData
) -> None:
    plan = ScoringPlan.from_profile(built)
    accounts = synthetic_crm_data.accounts
    assert assert_same(plan, accounts.schema, accounts.to_dicts()) == accounts.height
    edges = edge_records(plan, accounts)
    assert assert_same(plan, accounts.schema, edges) > 100


def test_every_rule_kind_and_edge_value_scores_the_same(
    built: IcpProfile, synthetic_crm_data: CrmData
) -> None:
    accounts = with_bool(synthetic_crm_data.accounts)
    plan = wide_plan(ScoringPlan.from_profile(built))
    records = accounts.to_dicts() + edge_records(plan, accounts)
    for i, r in enumerate(records[:400]):  # make the rare rules happen
        r["employees"] = 100.0 if i % 5 == 0 else r["employees"]
        r["region"] = None if i % 7 == 0 else r["region"]
        r["annual_revenue"] = 1_000_000.0 if i % 9 == 0 else r["annual_revenue"]
    fast = frame_path(plan, pl.DataFrame(records, schema=accounts.schema))
    for rule in EXTRA_RULES[:3]:  # the rules are met by some and missed by others
        met = sum(rule in r["criteria_met"] for r in fast)
        assert 0 < met < len(records), rule
    assert {r["tier"] for r in fast} == {"Tier 1", "Tier 2", "Tier 3", "Non-fit"}
    assert assert_same(plan, accounts.schema, records) == len(records)


def test_values_the_frame_path_would_cast_go_back_to_it(
    built: IcpProfile, synthetic_crm_data: CrmData
) -> None:
    schema = synthetic_crm_data.accounts.schema
    fast = RecordScorer.compile(ScoringPlan.from_profile(built), schema)
    assert fast is not None
    record = synthetic_crm_data.accounts.to_dicts()[0]
    assert fast.score(record) is not None
    for column, value in (
        ("employees", "120"),  # text for a number: cast (or refused) by the frame path
        ("employees", True),
        ("employees", -0.0),
        ("founded_year", 1999.0),  # a float for an integer column
        ("founded_year", 2**60),
        ("industry", 7),
        ("tech_stack", "AWS"),
        ("tech_stack", ["AWS", 3]),
    ):
        assert fast.score({**record, column: value}) is None, (column, value)
    assert fast.score({**record, "employees": 120}) is not None  # an int for a float column
    dated = dict(schema) | {"founded_year": pl.Date}
    assert RecordScorer.compile(ScoringPlan.from_profile(built), dated) is None


@pytest.fixture(scope="module")
def service(built: IcpProfile, tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("fastapi")
    from icpkit.web.service import Service

    root = tmp_path_factory.mktemp("fast") / "ws"
    make_crm(300, seed=7).write_workspace(root)
    Store(root).save(built.to_json(), config_hash="t", fingerprint={}, validation=None)
    return Service(root)


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def test_the_api_answers_the_same_with_and_without_the_fast_path(service: Any) -> None:
    records = as_json(service.accounts().head(60).to_dicts())
    records[1] = {k: v for k, v in records[1].items() if k not in ("employees", "tech_stack")}
    records[2] = {}
    singles = [[r] for r in records] + [records[:25]]
    fast = [service.score_records(batch) for batch in singles]
    service.fast_rows = 0  # every request through the frame path
    try:
        slow = [service.score_records(batch) for batch in singles]
        assert fast == slow
        assert fast[1]["missing_columns"] == ["employees", "tech_stack"]
        wrong = {**records[0], "employees": "many"}
        with pytest.raises(SchemaError, match="employees"):
            service.score_records([wrong])
        service.fast_rows = 100
        with pytest.raises(SchemaError, match="employees"):  # handed back: the same error
            service.score_records([wrong])
    finally:
        service.fast_rows = 100


def test_a_new_version_is_seen_without_reloading_per_request(
    service: Any, built: IcpProfile
) -> None:
    record = as_json(service.accounts().head(1).to_dicts())
    first = service.score_records(record)["version"]
    Store(service.root).save(built.to_json(), config_hash="t2", fingerprint={}, validation=None)
    assert service.score_records(record)["version"] == first + 1
    assert service.profile("latest")[0] == first + 1 and service.profile(str(first))[0] == first
