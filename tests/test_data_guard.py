"""One attribute choice for discovery and scoring: personal data, dates, leakage, identifiers."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from icpkit.config import DiscoveryConfig, config_from_dict
from icpkit.data import check_workspace, crm_from_frames
from icpkit.data.attributes import choose_attributes, pii_kind
from icpkit.data.guard import guard_columns, screen_attributes, time_confounds
from icpkit.discovery import attribute_columns
from icpkit.pipeline import Workspace, build_icp
from icpkit.scoring import scoring_attributes

FIRST = ["Maria", "John", "Wei", "Fatima", "Pierre", "Anna", "David", "Priya"]
LAST = ["Lopez", "Smith", "Zhang", "Haddad", "Martin", "Novak", "Cohen", "Rao"]


def _crm(n: int = 400, seed: int = 3) -> dict[str, pl.DataFrame]:
    """Invented accounts: Software wins more; personal-data, leaky and id columns alongside."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(["Software", "Retail", "Health", "Finance"], n)
    employees = rng.integers(5, 5000, n)
    p_win = np.where(industry == "Software", 0.7, 0.25)
    won = rng.random(n) < p_win
    start = date(2022, 1, 1)
    created = [start + timedelta(days=int(d)) for d in np.sort(rng.integers(0, 700, n))]
    accounts = pl.DataFrame(
        {
            "account_id": [f"A{i:04d}" for i in range(n)],
            "industry": industry,
            "employees": employees,
            "owner_email": [f"rep{i % 9}@seller.example" for i in range(n)],
            "primary_contact": [f"{FIRST[i % 8]} {LAST[(i // 8) % 8]}" for i in range(n)],
            "account_owner": [f"{FIRST[i % 5]} {LAST[i % 3]}" for i in range(n)],
            "hotline": [f"+44 20 7946 {i:04d}" for i in range(n)],
            "lead_number": np.arange(100_000, 100_000 + n),
            "deal_grade": np.where(won, "A", "C"),
            "renewal_tier": [("Gold" if w else None) for w in won],
        }
    )
    deals = pl.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(n)],
            "account_id": accounts["account_id"],
            "stage": np.where(won, "won", "lost"),
            "created_at": created,
            "closed_at": [c + timedelta(days=30) for c in created],
            "amount": rng.integers(1000, 50000, n).astype(float),
        }
    )
    return {"accounts": accounts, "deals": deals}


@pytest.fixture(scope="module")
def built():
    crm = crm_from_frames(_crm())
    config = config_from_dict({"name": "guard"})
    return crm, build_icp(crm, config, validate=False)


def test_personal_data_is_recognised_by_name_and_by_content() -> None:
    frame = _crm()["accounts"]
    kinds = {c: pii_kind(frame[c]) for c in frame.columns}
    assert kinds["owner_email"] == "e-mail addresses"
    assert kinds["primary_contact"] == "person names"
    assert kinds["account_owner"] == "person names"
    assert kinds["hotline"] == "phone numbers"
    assert kinds["industry"] is None and kinds["employees"] is None
    renamed = pl.Series("col_7", ["Maria Lopez", "John Smith", "Wei Zhang"] * 10)
    assert pii_kind(renamed) == "person names"  # by content alone
    categories = pl.Series("segment", ["Real Estate", "North America", "Financial Services"] * 10)
    assert pii_kind(categories) is None
    assert pii_kind(pl.Series("email_opt_in", ["yes", "no"] * 10)) is None
    assert pii_kind(pl.Series("sales_rep", ["JS", "MK", "AL"] * 10)) is not None  # by name


def test_discovery_and_scorecard_share_one_choice() -> None:
    frame = _crm()["accounts"]
    settings = DiscoveryConfig.model_validate({"exclude": ["employees"]})
    chosen = list(choose_attributes(frame, settings).columns)
    assert attribute_columns(frame, settings) == chosen
    assert scoring_attributes(frame, settings) == chosen
    assert not {"owner_email", "primary_contact", "account_owner", "hotline"} & set(chosen)
    assert "employees" not in chosen


def test_the_guard_flags_leaks_identifiers_and_won_only_fields() -> None:
    tables = _crm()
    accounts = tables["accounts"]
    won = (tables["deals"]["stage"] == "won").cast(pl.Float64).to_numpy()
    flags = {f.column: f.check for f in guard_columns(accounts, accounts.columns[1:], [won])}
    assert flags.get("hotline") != "separation"  # a level seen once says nothing
    assert flags["hotline"] == "identifier"  # a code unique to each row
    assert flags["account_owner"] == "sales_process"  # the person a record is assigned to
    del flags["hotline"], flags["account_owner"], flags["owner_email"]
    assert flags == {
        "lead_number": "identifier",
        "deal_grade": "sales_process",  # a grade by its name, and a perfect separation
        "renewal_tier": "fill",
    }


def test_a_build_leaves_flagged_and_personal_columns_out_and_says_why(built) -> None:
    _, result = built
    profile = result.profile
    card_attrs = set(profile.scorecard.info.attributes or [])
    used = {
        *card_attrs,
        *(r.rule for r in profile.criteria),
        *(r.rule for r in profile.disqualifiers),
    }
    text = " ".join(used)
    for column in (
        "owner_email",
        "primary_contact",
        "account_owner",
        "hotline",
        "lead_number",
        "deal_grade",
        "renewal_tier",
    ):
        assert column not in text
    excluded = {e.column: e.reason for e in profile.excluded_attributes}
    assert "separates the outcome" in excluded["deal_grade"]
    assert "personal data" in excluded["owner_email"]
    # a person the account is assigned to: sales process first (people are never traits)
    assert excluded["account_owner"].startswith("sales process: assigned person")
    assert "personal data" in excluded["account_owner"]
    assert "identifier" in excluded["lead_number"]
    dumped = profile.to_json()
    assert "Lopez" not in dumped and "@seller.example" not in dumped
    assert any("deal_grade" in c for c in profile.caveats)


def test_allow_readmits_a_flagged_column(built) -> None:
    crm, _ = built
    labels = np.array(["best" if s == "won" else "rest" for s in crm.deals["stage"]])
    settings = DiscoveryConfig.model_validate({"allow": ["deal_grade"]})
    screening = screen_attributes(crm.accounts, crm.deals, labels, settings)
    assert "deal_grade" in screening.choice.columns
    assert "deal_grade" not in screening.settings.exclude
    assert "lead_number" in screening.settings.exclude


def test_check_lists_personal_data_and_flagged_columns(tmp_path: Path) -> None:
    tables = _crm()
    tables["accounts"].write_csv(tmp_path / "accounts.csv")
    tables["deals"].write_csv(tmp_path / "deals.csv")
    (tmp_path / "icpkit.toml").write_text(
        '[sources.accounts]\npath = "accounts.csv"\n[sources.deals]\npath = "deals.csv"\n'
    )
    report = Workspace.open(tmp_path).check()
    codes = {(p.column, p.code) for p in report.warnings}
    assert ("owner_email", "pii") in codes and ("primary_contact", "pii") in codes
    assert ("deal_grade", "leakage") in codes and ("lead_number", "leakage") in codes
    text = "\n".join(report.summary_lines())
    assert "Lopez" not in text and "@seller.example" not in text


def test_near_duplicate_warnings_never_quote_person_names(tmp_path: Path) -> None:
    rows = ["account_id,key_person,industry"] + [
        f"a{i},{['Jon Smith', 'John Smith', 'Maria Lopez', 'Mario Lopez'][i % 4]},x{i % 3}"
        for i in range(40)
    ]
    (tmp_path / "accounts.csv").write_text("\n".join(rows) + "\n")
    config = config_from_dict({"sources": {"accounts": {"path": "accounts.csv"}}})
    report = check_workspace(config, tmp_path)
    text = "\n".join(report.summary_lines())
    assert "Smith" not in text and "Lopez" not in text
    assert any(p.code == "pii" and p.column == "key_person" for p in report.warnings)


def test_dates_are_never_traits_by_default_and_time_confounds_are_warned() -> None:
    n = 200
    created = pl.Series("created", [date(2023, 1, 1) + timedelta(days=i) for i in range(n)])
    frame = pl.DataFrame(
        {
            "account_id": [str(i) for i in range(n)],
            "created": created,
            "industry": ["A", "B"] * (n // 2),
            "web_form_field": [None] * (n // 2) + ["yes", "no"] * (n // 4),
            "plan": ["Legacy"] * (n // 2) + ["Cloud"] * (n // 2),
        }
    )
    choice = choose_attributes(frame)
    assert "created" not in choice.columns
    assert any(e.column == "created" and e.code == "date" for e in choice.excluded)
    allowed = choose_attributes(frame, DiscoveryConfig.model_validate({"allow": ["created"]}))
    assert "created" in allowed.columns
    confounds = {f.column for f in time_confounds(frame, choice.columns, created)}
    assert confounds == {"web_form_field", "plan"}
