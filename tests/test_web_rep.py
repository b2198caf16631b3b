"""The rep views through the API (TestClient): the worklist's paging, filters, sorting and CSV;
the embedded account card's authorisation and frame policy; and the rule that a missing value is
never a reason for fit, wherever reasons are written (frame, record, SQL, one account)."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from icpkit import pipeline
from icpkit.export import scorecard_sql
from icpkit.scoring import score_frame
from icpkit.scoring.apply import ScoringPlan
from icpkit.scoring.card import Scorecard
from icpkit.scoring.explain import explanation, missing_bin
from icpkit.scoring.records import RecordScorer
from icpkit.web.app import create_app
from icpkit.web.embed import EmbedLinks
from icpkit.web.keys import KeyStore
from icpkit.worklist import COLUMNS
from rep_fixture import FRAMER, OWNERS, SECRET, rep_workspace
from test_web import assert_error, auth

ENV = "ICPKIT_TEST_EMBED_SECRET"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rep_workspace(tmp_path_factory.mktemp("rep"))


@pytest.fixture(scope="module")
def keys(workspace: Path) -> dict[str, str]:
    store = KeyStore(workspace)
    return {scope: store.create(scope)[0] for scope in ("read", "write")}


@pytest.fixture(scope="module")
def client(workspace: Path) -> TestClient:
    return TestClient(create_app(workspace), raise_server_exceptions=False)


# ----------------------------------------------------------------------------- worklist


def test_the_worklist_pages_through_every_account_with_totals(
    client: TestClient, keys: dict[str, str]
) -> None:
    h = auth(keys["read"])
    seen: list[str] = []
    offset, total = 0, None
    while True:
        body = client.get(f"/v1/worklist?limit=120&offset={offset}", headers=h).json()
        total = body["total"] if total is None else total
        assert body["total"] == total and body["limit"] == 120 and body["offset"] == offset
        seen += [r["account_id"] for r in body["rows"]]
        if not body["rows"]:
            break
        offset += 120
    assert total == 500 and len(seen) == 500 == len(set(seen))
    assert sum(body["counts"].values()) == 500
    first = client.get("/v1/worklist?limit=500", headers=h).json()["rows"]
    ranks = ["work now", "work this week", "nurture", "watch", "do not chase"]
    order = [ranks.index(r["priority"]) for r in first]
    assert order == sorted(order)  # work now first
    row = first[0]
    assert set(row) == set(COLUMNS) and row["name"] and row["domain"]
    assert row["first_why_now"] and "[" not in row["first_why_now"]  # no interval for reps


def test_worklist_filters_are_exact_any_case_and_counted(
    client: TestClient, keys: dict[str, str]
) -> None:
    h = auth(keys["read"])
    all_rows = client.get("/v1/worklist?limit=500", headers=h).json()["rows"]
    mine = [r for r in all_rows if r["owner"] == OWNERS[0]]
    body = client.get(f"/v1/worklist?owner={OWNERS[0].upper()}&limit=10", headers=h).json()
    assert body["total"] == len(mine) == 300 and len(body["rows"]) == 10
    assert body["filters"] == {"owner": OWNERS[0].upper()}
    assert {r["owner"] for r in body["rows"]} == {OWNERS[0]}
    both = client.get(
        f"/v1/worklist?owner={OWNERS[0]}&tier=Tier 1&territory=emea&limit=500", headers=h
    ).json()
    expected = [r["account_id"] for r in mine if r["tier"] == "Tier 1" and r["territory"] == "EMEA"]
    assert [r["account_id"] for r in both["rows"]] == expected and both["total"] == len(expected)
    industry = all_rows[0]["industry"]
    by_industry = client.get(f"/v1/worklist?industry={industry}&priority=nurture", headers=h)
    assert all(
        r["industry"] == industry and r["priority"] == "nurture" for r in by_industry.json()["rows"]
    )
    assert body["choices"]["owner"] == sorted(OWNERS)


@pytest.mark.parametrize(
    "query, word",
    [("tier=Tier 9", "tier"), ("priority=urgent", "priority"), ("sort=colour", "sort"),
     ("limit=0", "limit"), ("offset=-1", "offset")],
)  # fmt: skip
def test_a_malformed_worklist_parameter_is_a_400(
    client: TestClient, keys: dict[str, str], query: str, word: str
) -> None:
    error = assert_error(client.get(f"/v1/worklist?{query}", headers=auth(keys["read"])), 400,
                         "bad_request")  # fmt: skip
    assert word in str(error)


def test_worklist_sorts_and_downloads_every_matching_row_as_csv(
    client: TestClient, keys: dict[str, str]
) -> None:
    h = auth(keys["read"])
    rows = client.get("/v1/worklist?sort=-fit_score&limit=500", headers=h).json()["rows"]
    scores = [r["fit_score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    names = [
        r["name"] for r in client.get("/v1/worklist?sort=name&limit=500", headers=h).json()["rows"]
    ]
    assert names == sorted(names)
    response = client.get(f"/v1/worklist.csv?owner={OWNERS[1]}&sort=-fit_score", headers=h)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = pl.read_csv(io.BytesIO(response.content), infer_schema_length=0)
    assert table.columns == list(COLUMNS) and table.height == 200  # every row, no paging
    assert table["owner"].unique().to_list() == [OWNERS[1]]
    assert [int(s) for s in table["fit_score"]] == sorted(
        (int(s) for s in table["fit_score"]), reverse=True
    )
    assert not table["name"].str.contains(r"^[=+\-@]").any()  # formula-safe
    assert client.get("/v1/worklist.csv").status_code == 401


def test_the_worklist_page_pages_and_filters(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["read"])
    page = client.get(f"/worklist?owner={OWNERS[0]}&offset=50", headers=h).text
    assert "51–100 of 300" in page and "Previous 50" in page and "Next 50" in page
    assert f'<option value="{OWNERS[0]}" selected>' in page
    assert "/v1/worklist.csv?owner=Dana+Reyes" in page


# ----------------------------------------------------------------------------- account for reps


def test_the_account_page_shows_contacts_by_persona_without_names(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    contacts = pl.read_csv(workspace / "contacts.csv", infer_schema_length=0)
    busiest = contacts.group_by("account_id").len().sort("len", descending=True)
    account, n = busiest.row(0)
    body = client.get(f"/v1/accounts/{account}", headers=auth(keys["read"])).json()
    assert sum(g["count"] for g in body["contacts"]) == n
    page = client.get(f"/accounts/{account}", headers=auth(keys["read"])).text
    mine = contacts.filter(pl.col("account_id") == account)
    for column in ("name", "email"):
        for value in mine[column].drop_nulls():
            assert value not in page and value not in str(body)
    assert f"{n} contacts in the CRM" in page
    analyst = page.split('<details class="analyst"')[1]
    assert "[" in analyst or "ICP criteria" in analyst  # rules and intervals: one click away
    assert "[-inf" not in page.split('<details class="analyst"')[0]


def test_a_non_fit_account_gets_no_pitch(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["read"])
    nonfit = client.get("/v1/worklist?tier=Non-fit&limit=1", headers=h).json()["rows"][0]
    tier1 = client.get("/v1/worklist?tier=Tier 1&limit=1", headers=h).json()["rows"][0]
    body = client.get(f"/v1/accounts/{nonfit['account_id']}", headers=h).json()
    assert body["talking_points"] == []
    assert "Do not pitch" in client.get(f"/accounts/{nonfit['account_id']}", headers=h).text
    good = client.get(f"/v1/accounts/{tier1['account_id']}", headers=h).json()
    assert all(t["audience"] != "Non-fit" for t in good["talking_points"])
    assert [t["audience"] for t in good["talking_points"] if t["kind"] == "tier"] in (
        [],
        ["Tier 1"],
    )


def test_the_account_shows_its_familiar_band_as_scoring_gives_it(
    client: TestClient, keys: dict[str, str]
) -> None:
    h = auth(keys["read"])
    tier1 = client.get("/v1/worklist?tier=Tier 1&limit=1", headers=h).json()["rows"][0]
    body = client.get(f"/v1/accounts/{tier1['account_id']}", headers=h).json()
    assert body["calibrated_score"] >= 85 and body["fit_band"]  # Tier 1 reads >= 85 (bands.py)
    page = client.get(f"/accounts/{tier1['account_id']}", headers=h).text
    assert f"{body['fit_band']} · {body['calibrated_score']}" in page


# ----------------------------------------------------------------------------- reasons in words


def _with_missing_points(profile: Any) -> tuple[Any, Scorecard, int]:
    """The profile with +15 points on a numeric feature's missing bin."""
    card = Scorecard.from_dict(profile.scorecard)
    j = next(i for i, f in enumerate(card.features) if f.kind == "numeric")
    gone = missing_bin(card.features[j])
    assert gone is not None
    raw = card.to_dict()
    raw["features"][j]["points"][gone] = 15
    return profile.model_copy(update={"scorecard": Scorecard.from_dict(raw).to_dict()}), card, j


def test_a_missing_value_is_never_a_reason_for_fit_but_keeps_its_points(
    workspace: Path,
) -> None:
    ws = pipeline.Workspace.open(workspace)
    profile = ws.store.get("latest").profile()
    changed, card, j = _with_missing_points(profile)
    column = card.features[j].column
    accounts = ws.load().accounts.head(300)
    accounts = accounts.with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0).then(None).otherwise(pl.col(column)).alias(column)
    )
    scored = score_frame(changed, accounts)
    before = score_frame(profile, accounts)
    blank = accounts[column].is_null()
    assert (scored["fit_score"] - before["fit_score"]).filter(blank).unique().len() == 1  # kept
    name = column.replace("_", " ")
    assert not scored["reasons"].str.contains(f"no known {name} (+", literal=True).any()
    # the same reasons one account at a time (the API's explanation) and record by record
    plan = ScoringPlan.from_profile(changed)
    codes, _ = plan.card.codes_and_points(accounts.select(plan.card.columns).to_arrow())
    row = int(blank.arg_max() or 0)
    one = explanation(plan.card, codes[row], "", [], [], [])
    assert all(f"no known {name}" not in r for r in one.reasons_for)
    assert one.total() == scored["fit_score"][row]
    fast = RecordScorer.compile(plan, accounts.schema)
    if fast is not None:
        for i in range(0, 300, 7):
            got = fast.score(accounts.row(i, named=True))
            assert got is None or got["reasons"] == scored["reasons"][i]
    # and in the warehouse's SQL, word for word
    export = scorecard_sql(changed, "accounts", "duckdb")
    con = duckdb.connect()
    con.register("frame", accounts.to_arrow())
    con.execute('CREATE TABLE "accounts" AS SELECT * FROM frame')
    sql = pl.from_arrow(con.sql(export.sql).to_arrow_table())
    assert isinstance(sql, pl.DataFrame)
    assert sql["reasons"].to_list() == scored["reasons"].to_list()


# ----------------------------------------------------------------------------- embed card


def _link(kind: str, value: str, seconds: int = 600, now: float | None = None) -> str:
    return EmbedLinks(SECRET.encode(), 720 * 3600).mint(kind, value, seconds, now)[0]  # type: ignore[arg-type]


def test_a_signed_link_opens_the_card_framed_only_by_the_configured_origin(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    monkeypatch.setenv(ENV, SECRET)
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)
    account, domain = accounts["account_id"][3], accounts["domain"][3]
    response = client.get(_link("id", account))
    assert response.status_code == 200, response.text
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors {FRAMER}" in policy and "x-frame-options" not in response.headers
    assert accounts["name"][3] in response.text and "Who to reach" in response.text
    by_domain = client.get(_link("domain", f"https://www.{domain}/pricing"))
    assert by_domain.status_code == 200 and accounts["name"][3] in by_domain.text
    for other in ("/worklist", "/login", "/v1/worklist"):
        headers = client.get(other).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], other
        assert headers["x-frame-options"] == "DENY"


def test_a_bad_expired_or_foreign_link_is_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, workspace: Path, keys: dict[str, str]
) -> None:
    monkeypatch.setenv(ENV, SECRET)
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)
    account, other = accounts["account_id"][3], accounts["account_id"][4]
    good = _link("id", account)
    tampered = good.replace(f"/embed/accounts/{account}", f"/embed/accounts/{other}")
    expired = _link("id", account, 60, now=time.time() - 3600)
    forged = EmbedLinks(b"another-secret-0123456789abcdef-xx", 3600).mint("id", account, 60)[0]
    too_long = EmbedLinks(SECRET.encode(), 10 * 365 * 24 * 3600).mint(
        "id", account, 9 * 365 * 24 * 3600
    )[0]
    for url, word in ((tampered, "signature"), (expired, "expired"), (forged, "signature"),
                      (too_long, "longer"), (f"/embed/accounts/{account}", "signed link"),
                      (good.replace("exp=", "exp=1"), "signature")):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 403, url
        assert word in response.text and accounts["name"][3] not in response.text
        assert "frame-ancestors" in response.headers["content-security-policy"]
    keyed = client.get(f"/embed/accounts/{account}", headers=auth(keys["read"]))
    assert keyed.status_code == 200 and accounts["name"][3] in keyed.text
    monkeypatch.delenv(ENV)
    assert "not enabled" in client.get(good).text
    missing = client.get("/embed/accounts?domain=nowhere.invalid", headers=auth(keys["read"]))
    assert missing.status_code == 404 and "no account with this domain" in missing.text


def test_embed_links_are_minted_by_the_api_with_a_write_key(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, keys: dict[str, str]
) -> None:
    body = {"domain": "https://www.example.com/x", "minutes": 5}
    assert client.post("/v1/embed-links", json=body, headers=auth(keys["read"])).status_code == 403
    error = assert_error(
        client.post("/v1/embed-links", json=body, headers=auth(keys["write"])), 400, "bad_request"
    )
    assert ENV in error["message"]  # the variable's name, never a value
    monkeypatch.setenv(ENV, SECRET)
    made = client.post("/v1/embed-links", json=body, headers=auth(keys["write"]))
    assert made.status_code == 200, made.text
    link = made.json()
    assert link["path"].startswith("/embed/accounts?domain=example.com&exp=")
    assert 0 < link["expires_at"] - time.time() <= 300
    both = {"domain": "a.io", "account_id": "1"}
    assert_error(client.post("/v1/embed-links", json=both, headers=auth(keys["write"])), 400,
                 "bad_request")  # fmt: skip


def test_reasons_in_words_drop_their_points_and_rule_syntax() -> None:
    from icpkit.web.context import plain_reason

    assert plain_reason("Software company (+18)") == "Software company"
    assert plain_reason("under 10 employees (\u221212)") == "under 10 employees"
    assert plain_reason("not: 200+ employees and Software company (\u22123)") == (
        "not 200+ employees and Software company"
    )
    assert plain_reason("uses AWS (+0)") == "uses AWS"
