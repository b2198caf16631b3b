"""Validation within and across tables: every problem, fatal vs warning, with rows."""

from __future__ import annotations

import polars as pl
import pytest

from icpkit.data import SchemaError, crm_from_frames

ACCOUNTS = pl.DataFrame(
    {"account_id": ["a1", "a2", "a3"], "industry": ["Software", "Retail", "Software"]}
)


def _deals(**columns: list) -> pl.DataFrame:
    base = {
        "deal_id": ["d1", "d2", "d3"],
        "account_id": ["a1", "a2", "a3"],
        "stage": ["won", "lost", "open"],
    }
    return pl.DataFrame({**base, **columns})


def _problems(deals: pl.DataFrame, accounts: pl.DataFrame = ACCOUNTS):
    try:
        crm = crm_from_frames({"accounts": accounts, "deals": deals})
    except SchemaError as exc:
        return exc.problems, True
    return crm.problems, False


def test_clean_frames_have_no_problems_and_canonical_types():
    crm = crm_from_frames({"accounts": ACCOUNTS, "deals": _deals(amount=["10", "20", "5"])})
    assert crm.problems == []
    assert crm.deals is not None and crm.deals.schema["amount"] == pl.Float64
    assert "__row" not in crm.accounts.columns and crm.accounts.schema["tech_stack"] == pl.List(
        pl.Utf8
    )


def test_duplicate_and_blank_account_ids_are_fatal_with_rows():
    accounts = pl.DataFrame({"account_id": ["a1", "a2", "a1", None]})
    with pytest.raises(SchemaError) as caught:
        crm_from_frames({"accounts": accounts})
    duplicate, blank = sorted(caught.value.problems, key=lambda p: p.code)
    assert (
        duplicate.code == "duplicate_id" and "'a1' appears 2 times (rows 1, 3)" in duplicate.message
    )
    assert blank.code == "missing_id" and "(rows 4)" in blank.message


@pytest.mark.parametrize(
    ("accounts_of_deals", "fragments"),
    [
        (
            ["a1", None, "zz"],
            [
                "1 closed (won/lost) deals have no account",
                "1 open deals have an unknown account",
            ],
        ),
        (["a1", "a2", None], ["1 open deals have no account"]),
        (["zz", "a2", "a3"], ["1 closed (won/lost) deals have an unknown account"]),
        (["a1", "a2", "zz"], ["1 open deals have an unknown account"]),
    ],
)
def test_unlinked_deals_are_counted_warnings(accounts_of_deals, fragments):
    problems, fatal = _problems(_deals(account_id=accounts_of_deals))
    assert not fatal
    messages = [p.message for p in problems if p.code == "unlinked"]
    assert len(messages) == len(fragments)
    for fragment in fragments:
        assert any(fragment in m for m in messages), messages


def test_negative_amounts_are_fatal_with_row():
    problems, fatal = _problems(_deals(amount=[10.0, -3.0, 1.0]))
    assert fatal and [(p.row, p.column, p.code) for p in problems] == [(2, "amount", "negative")]


def test_unparseable_numbers_and_dates_name_row_column_value():
    problems, fatal = _problems(
        _deals(amount=["10", "ten", "3"], created_at=["2024-01-01", "2024-01-02", "31/02/2024"])
    )
    assert fatal
    found = {(p.row, p.column, p.value) for p in problems}
    assert found == {(2, "amount", "ten"), (3, "created_at", "31/02/2024")}
    assert all(p.expected for p in problems)


def test_many_bad_cells_are_capped_with_a_count():
    accounts = pl.DataFrame(
        {"account_id": [f"a{i}" for i in range(50)], "employees": ["many"] * 50}
    )
    with pytest.raises(SchemaError) as caught:
        crm_from_frames({"accounts": accounts})
    assert len(caught.value.problems) == 21
    assert "30 more such cells" in caught.value.problems[-1].message


def test_closed_before_created_and_mixed_currency_warn():
    deals = _deals(
        created_at=["2024-02-01", "2024-01-01", "2024-01-01"],
        closed_at=["2024-01-01", "2024-02-01", None],
        currency=["usd", "EUR", "USD"],
    )
    problems, fatal = _problems(deals)
    assert not fatal
    codes = {p.code: p for p in problems}
    assert "1 deals close before they were created" in codes["date_order"].message
    assert "USD (2), EUR (1)" in codes["mixed_currency"].message


def test_near_duplicate_categories_warn_without_merging():
    accounts = pl.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4"],
            "industry": ["Software", "software", "Retail", "Retail"],
        }
    )
    crm = crm_from_frames({"accounts": accounts})
    assert sorted(crm.accounts["industry"].unique().to_list()) == ["Retail", "Software", "software"]
    assert [p.code for p in crm.problems] == ["near_duplicate"]


def test_many_near_duplicate_pairs_in_one_column_are_listed_then_counted():
    """A column of varied text (job titles, say) lists its first few pairs, then one count —
    not hundreds of warnings."""
    from icpkit.data.normalize import near_duplicates
    from icpkit.data.tables import SPELLING_REPORT_LIMIT

    words = [f"Region {c}{d} sales" for c in "ABCDEFGH" for d in "xy"]  # 8 pairs of near twins
    levels = [w if i % 2 == 0 else w.upper() for i, w in enumerate(words)]
    accounts = pl.DataFrame(
        {"account_id": [f"a{i}" for i in range(64)], "territory": (levels * 4)[:64]}
    )
    crm = crm_from_frames({"accounts": accounts})
    spellings = [p for p in crm.problems if p.code == "near_duplicate"]
    total = len(near_duplicates(set(levels)))
    assert total > SPELLING_REPORT_LIMIT + 1
    assert len(spellings) == SPELLING_REPORT_LIMIT + 1
    tail = spellings[-1].message
    assert f"{total} in all" in tail and f"{total - SPELLING_REPORT_LIMIT} more" in tail


def test_unknown_table_and_missing_accounts_are_fatal():
    with pytest.raises(SchemaError) as caught:
        crm_from_frames({"deal": _deals()})
    messages = " ".join(p.message for p in caught.value.problems)
    assert "'deal' is not a canonical table" in messages and "no accounts frame" in messages
