"""icpkit.signals: intake of messy signal tables, values, stratified ratios, learning, intent, priority."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from icpkit.config import SignalsConfig
from icpkit.data.model import CrmData
from icpkit.datasets import SyntheticCrm
from icpkit.profile import IcpProfile, SignalsSection, SignalTypeEvidence
from icpkit.signals import learn_signals, prepare_signals
from icpkit.signals.decay import effect_window, kernel
from icpkit.signals.intent import intent_scores, lift_to_score, trigger_sentence
from icpkit.signals.priority import MATRIX, matrix_frame, prioritize
from icpkit.signals.stratified import rate_ratio, risk_ratio
from icpkit.signals.values import parse_values

ACCOUNTS = pl.DataFrame({"account_id": ["A1", "A2", "A3"], "domain": ["acme.io", "beta.com", None]})


# --- intake ------------------------------------------------------------------------------------


def test_bad_rows_are_dropped_counted_and_named_never_raised() -> None:
    signals = pl.DataFrame(
        {
            "account_id": [None, "A1", "A1", "A1", None, "A2", "A2", None],
            "domain": ["https://www.Acme.io/about", None, None, None, "unknown.org", None, None,
                       None],
            "date": ["2024-03-01", "2024-03-05", "2024-03-05", "31/02/2017", "2024-01-01",
                     "2031-01-01", "2024-02-01", "2024-02-01"],
            "type": ["funding", "Hiring", "hiring", "funding", "funding", "funding",
                     "Podcast Mention", "news"],
            "value": ["Series B $25M", "SDR", "SDR", None, None, None, "ep. 12", None],
        }
    )  # fmt: skip
    events = prepare_signals(signals, ACCOUNTS, as_of=date(2025, 1, 1))
    intake = events.intake
    assert intake.n_rows == 8
    assert intake.n_bad_date == 1 and intake.bad_date_rows == [4]
    assert intake.n_unknown_domain == 1
    assert intake.n_unmatched == 1  # neither an account nor a domain
    assert intake.n_future == 1
    assert intake.n_duplicate == 1  # 'Hiring' and 'hiring' on the same day are one event
    assert intake.n_used == 3
    assert set(events.types) == {"funding", "hiring", "podcast_mention"}  # unknown type kept
    assert events.frame.filter(pl.col("type") == "funding")["account_id"].to_list() == ["A1"]
    notes = " ".join(intake.notes)
    assert "rows 4" in notes and "after the as-of date" in notes and "duplicated" in notes


def test_datetime_and_date_columns_are_accepted() -> None:
    for column in (
        pl.Series("date", [date(2024, 1, 2)]),
        pl.Series("date", ["2024-01-02T10:11:12"]),
        pl.Series("date", ["2024-01-02"]).str.to_datetime(),
    ):
        frame = pl.DataFrame({"account_id": ["A1"], "type": ["funding"]}).with_columns(column)
        events = prepare_signals(frame, ACCOUNTS)
        assert events.frame["date"].to_list() == [date(2024, 1, 2)], column


@pytest.mark.parametrize(
    ("signal_type", "value", "value_class", "amount"),
    [
        ("funding", "Series B $25M", "Series B", 25e6),
        ("funding", "raised $1.5b series c", "Series C", 1.5e9),
        ("funding", "Seed round, 500k", "Seed", 5e5),
        ("hiring", "Data Engineer (+5 open roles)", "Data Engineer", None),
        ("leadership_change", "new CRO", "CRO", None),
        ("tech_adoption", "Snowflake", "Snowflake", None),
        ("news", "x" * 80, None, None),
        # issue 25: separators and scales read together, European styles, words for scales
        ("funding", "$1,500M Series D", "Series D", 1.5e9),
        ("funding", "12,000K seed", "Seed", 12e6),
        ("funding", "€2.5 Mio Series A", "Series A", 2.5e6),
        ("funding", "1.2bn", None, 1.2e9),
        ("funding", "EUR 12.500 grant", "Grant", 12_500.0),
        ("funding", "Series 2", None, None),  # a bare number is no amount
        ("funding", "-$5M debt", "Debt", None),  # refused, and counted (next test)
    ],
)
def test_values_are_read_where_they_have_a_known_shape(
    signal_type: str, value: str, value_class: str | None, amount: float | None
) -> None:
    parsed = parse_values(pl.DataFrame({"type": [signal_type], "value": [value]})).row(
        0, named=True
    )
    assert parsed["value_class"] == value_class
    assert parsed["amount"] == amount


def test_a_negative_funding_amount_is_refused_and_counted() -> None:
    frame = pl.DataFrame(
        {"account_id": ["A1", "A1"], "date": ["2024-01-02", "2024-02-03"], "type": "funding"}
    ).with_columns(pl.Series("value", ["-$5M", "$5M"]))
    events = prepare_signals(frame, ACCOUNTS)
    assert sorted(events.frame["amount"].to_list(), key=str) == [5e6, None]
    assert events.intake.n_negative_amount == 1
    assert any("negative amount" in line for line in events.intake.notes)


# --- statistics --------------------------------------------------------------------------------


def test_risk_ratio_in_one_stratum_is_the_crude_ratio() -> None:
    exposed = np.array([True] * 100 + [False] * 200)
    event = np.array([True] * 40 + [False] * 60 + [True] * 40 + [False] * 160)
    ratio = risk_ratio(np.zeros(300, dtype=np.int64), exposed, event)
    assert ratio.value == pytest.approx(0.4 / 0.2)
    assert ratio.ci is not None and ratio.ci[0] < 2 < ratio.ci[1] and ratio.ci[0] > 1
    assert ratio.p_value < 0.01


def test_risk_ratio_removes_confounding_by_stratum() -> None:
    # Exposure is common in the stratum that wins more; within each stratum it does nothing.
    stratum = np.repeat([0, 1], 1000)
    exposed = np.concatenate([np.arange(1000) < 100, np.arange(1000) < 900])
    event = np.concatenate([np.arange(1000) % 10 == 0, np.arange(1000) % 2 == 0])
    crude = event[exposed].mean() / event[~exposed].mean()
    pooled = risk_ratio(stratum, exposed, event)
    assert crude > 2
    assert pooled.value == pytest.approx(1.0, abs=0.05)
    assert pooled.p_value > 0.05


def test_rate_ratio_and_empty_groups() -> None:
    ratio = rate_ratio(np.array([30]), np.array([100.0]), np.array([10]), np.array([100.0]))
    assert ratio.value == pytest.approx(3.0)
    assert rate_ratio(np.array([0]), np.array([0.0]), np.array([5]), np.array([9.0])).value is None


def test_kernels_and_the_window_where_the_effect_is_gone() -> None:
    ages = np.array([0.0, 30.0, 60.0, np.nan, -1.0])
    assert kernel("exponential", 30.0, ages).tolist() == [1.0, 0.5, 0.25, 0.0, 0.0]
    assert kernel("window", 45.0, ages).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert effect_window("exponential", 30.0) == 100  # below 10% of the peak
    assert effect_window("window", 45.0) == 45


# --- learning ----------------------------------------------------------------------------------


def _planted_tiers(crm: SyntheticCrm) -> pl.DataFrame:
    return crm.truth_frame().select(
        "account_id",
        tier=pl.when("disqualified")
        .then(pl.lit("Non-fit"))
        .when("in_icp")
        .then(pl.lit("Tier 1"))
        .otherwise(pl.lit("Tier 2")),
    )


@pytest.fixture(scope="module")
def learned(synthetic_crm: SyntheticCrm) -> SignalsSection:
    return learn_signals(
        synthetic_crm.to_crm_data(), _planted_tiers(synthetic_crm), SignalsConfig()
    )


def test_planted_triggers_are_found_and_null_types_weigh_nothing(
    learned: SignalsSection,
) -> None:
    by_type = {t.type: t for t in learned.types}
    assert {t.type for t in learned.triggers()} == {"funding", "leadership_change"}
    funding = by_type["funding"]
    assert funding.decay == "exponential" and funding.half_life_days is not None
    assert 20 <= funding.half_life_days <= 45
    assert funding.half_life_ci is not None
    assert funding.half_life_ci[0] <= funding.half_life_days <= funding.half_life_ci[1]
    assert by_type["leadership_change"].decay == "window"
    for name in ("hiring", "tech_adoption", "web_visit"):
        null = by_type[name]
        assert not null.significant and null.decay == "none"
        assert null.peak_opening_ratio == 1.0 and null.peak_win_odds_ratio == 1.0
        assert null.window_days == SignalsConfig().test_window_days
    assert learned.strata == ["Non-fit", "Tier 1", "Tier 2"]


def test_the_section_round_trips_through_the_profile_json(learned: SignalsSection) -> None:
    profile = IcpProfile(signals=learned)
    back = IcpProfile.from_json(profile.to_json())
    assert back.signals == learned
    row = back.to_dict()["signals"]["types"][0]
    for key in ("type", "window_days", "lift", "lift_ci", "q_value", "half_life_days",
                "n_signals", "n_deals", "evidence"):  # fmt: skip
        assert key in row
    assert set(row["lift"]) == {"opening", "winning"}


def test_without_signals_or_dated_deals_intent_is_unavailable(
    synthetic_crm_data: CrmData,
) -> None:
    no_signals = CrmData(accounts=synthetic_crm_data.accounts, deals=synthetic_crm_data.deals)
    section = learn_signals(no_signals, None, SignalsConfig())
    assert not section.available and "no signals table" in section.reason
    undated = CrmData(
        accounts=synthetic_crm_data.accounts,
        deals=synthetic_crm_data.deals.drop("created_at"),
        signals=synthetic_crm_data.signals,
    )
    assert "dated deals" in learn_signals(undated, None, SignalsConfig()).reason
    future = synthetic_crm_data.signals.with_columns(date=pl.lit(date(2099, 1, 1)))
    section = learn_signals(
        CrmData(accounts=synthetic_crm_data.accounts, deals=synthetic_crm_data.deals,
                signals=future),
        None,
        SignalsConfig(),
    )  # fmt: skip
    assert not section.available and "after the as-of date" in section.reason


# --- intent and priority -----------------------------------------------------------------------


def _section() -> SignalsSection:
    funding = SignalTypeEvidence(
        type="funding",
        window_days=33,
        decay="exponential",
        half_life_days=10.0,
        half_life_ci=(8.0, 12.0),
        lift={"opening": 1.6, "winning": 1.0},
        lift_ci={"opening": (1.3, 1.9), "winning": (0.8, 1.2)},
        q_value=0.001,
        significant=True,
        evidence="strong",
        peak_opening_ratio=2.0,
    )
    hiring = SignalTypeEvidence(type="hiring", window_days=90, q_value=0.6)
    return SignalsSection(available=True, types=[funding, hiring])


def test_intent_score_follows_the_decay_and_ignores_types_without_effect() -> None:
    events = pl.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A3"],
            "date": [date(2025, 1, 31), date(2025, 1, 21), date(2024, 1, 1), date(2025, 1, 30)],
            "type": ["funding", "funding", "funding", "hiring"],
            "value": ["Series B $25M", None, None, "SDR"],
        }
    )
    scores = intent_scores(
        _section(), events, date(2025, 1, 31), SignalsConfig(), pl.Series(["A1", "A2", "A3", "A4"])
    )
    rows = {r["account_id"]: r for r in scores.iter_rows(named=True)}
    assert rows["A1"]["intent_score"] == pytest.approx(50.0)  # lift 2 on the day: 100*(1-1/2)
    assert rows["A1"]["intent"] == "hot"
    assert rows["A2"]["intent_score"] == pytest.approx(lift_to_score(1.5), abs=0.1)  # 1 half-life
    assert rows["A2"]["intent"] == "warm"
    assert rows["A3"]["intent_score"] == 0.0 and rows["A3"]["why_now"] == ""  # a year old; hiring
    assert rows["A4"]["intent_score"] == 0.0 and rows["A4"]["intent"] == "cold"
    assert rows["A1"]["why_now"].startswith("raised Series B $25M today: deals opened within 33 ")
    assert "are opened 1.6× [1.3, 1.9] as often" in rows["A1"]["why_now"]
    assert "win" not in rows["A1"]["why_now"].split(":")[1]  # the win lift's CI spans 1
    assert rows["A2"]["why_now"].startswith("raised funding 10 days ago")


def test_lift_to_score() -> None:
    assert lift_to_score(1.0) == 0.0 and lift_to_score(4.0) == 75.0
    assert lift_to_score(0.5) == 0.0 and lift_to_score(math.inf) == 100.0


def test_the_statement_names_the_triggers() -> None:
    assert trigger_sentence(_section()) == (
        "They typically start searching when they raise funding (effect half-life 10 days)."
    )
    assert trigger_sentence(SignalsSection(available=True)) == ""


def test_priority_is_a_matrix_never_a_blend() -> None:
    assert MATRIX[("Tier 1", "hot")] == "work now"
    assert MATRIX[("Non-fit", "hot")] == "do not chase"
    assert matrix_frame().height == 4
    fit = pl.DataFrame(
        {
            "account_id": ["fit-cold", "nonfit-hot", "fit-hot", "t2-hot"],
            "fit_score": [90, 5, 80, 60],
            "tier": ["Tier 1", "Non-fit", "Tier 1", "Tier 2"],
        }
    )
    intent = pl.DataFrame(
        {
            "account_id": ["nonfit-hot", "fit-hot", "t2-hot"],
            "intent_score": [99.0, 60.0, 70.0],
            "intent": ["hot", "hot", "hot"],
            "why_now": ["x", "y", "z"],
        }
    )
    ranked = prioritize(fit, intent)
    assert ranked["account_id"].to_list() == ["fit-hot", "t2-hot", "fit-cold", "nonfit-hot"]
    assert ranked["priority"].to_list() == ["work now", "work this week", "nurture",
                                            "do not chase"]  # fmt: skip
    assert prioritize(fit, intent, top=2).height == 2
