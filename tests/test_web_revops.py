"""The RevOps page's typed overview, the upload's mapping step (guesses, corrections, a mapping
remembered for the next upload) and the clear 422s of /v1/score, in-process with TestClient."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from icpkit.data import upload_map
from icpkit.errors import SchemaError
from icpkit.lifecycle.overview import ago, tier_counts
from icpkit.scoring.fields import unknown_fields
from icpkit.web.app import create_app
from icpkit.web.keys import KeyStore

HUBSPOT = {
    "account_id": "Record ID",
    "name": "Company name",
    "domain": "Company Domain Name",
    "employees": "Number of Employees",
    "industry": "Industry",
    "country": "Country/Region",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TestClient, dict[str, str]]:
    from test_web import make_workspace

    root = make_workspace(tmp_path_factory.mktemp("revops"))
    store = KeyStore(root)
    keys = {scope: store.create(scope)[0] for scope in ("read", "write")}
    return root, TestClient(create_app(root), raise_server_exceptions=False), keys


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def hubspot_csv(root: Path, n: int = 12) -> tuple[bytes, pl.DataFrame]:
    """The workspace's first accounts under a HubSpot export's headers (two extra columns)."""
    accounts = pl.read_csv(root / "accounts.csv", infer_schema_length=0).head(n)
    frame = accounts.select([pl.col(c).alias(h) for c, h in HUBSPOT.items()]).with_columns(
        pl.lit("Jane Rep").alias("Company owner"), pl.lit("Customer").alias("Lifecycle Stage")
    )
    return frame.write_csv().encode(), accounts


# ----------------------------------------------------------------------------- words and counts


def test_times_read_in_words() -> None:
    now = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(hours=3, minutes=5), now) == "3 hours ago"
    assert ago(now - timedelta(minutes=1), now) == "1 minute ago"
    assert ago((now - timedelta(days=1, hours=2)).isoformat(), now) == "yesterday"
    assert ago(now - timedelta(days=15), now) == "2 weeks ago"
    assert ago(now + timedelta(minutes=5), now) == "in 5 minutes"
    assert ago("2026-12-07T15:00:00", now) == "3 hours ago"  # naive: read as UTC
    assert ago("not a time", now) == "" and ago(None, now) == ""


def test_tier_counts_list_every_tier() -> None:
    counts = tier_counts(["Tier 1", "Tier 1", "Non-fit", None])
    assert [(c.tier, c.count) for c in counts] == [
        ("Tier 1", 2), ("Tier 2", 0), ("Tier 3", 0), ("Non-fit", 1)
    ]  # fmt: skip
    assert sum(c.share for c in counts) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- RevOps page


def test_revops_page_has_charts_tables_and_times_in_words(
    site: tuple[Path, TestClient, dict[str, str]],
) -> None:
    root, client, keys = site
    accounts = pl.read_csv(root / "accounts.csv", infer_schema_length=0)
    account, name = accounts["account_id"][9], accounts["name"][9]
    posted = client.post(
        "/v1/feedback",
        json={"account_id": account, "claimed_tier": "Non-fit", "reason": "no budget"},
        headers=auth(keys["read"]),
    )
    assert posted.status_code in (200, 201), posted.text
    html = client.get("/revops", headers=auth(keys["read"])).text
    assert "Built just now" in html
    for key in ("tiers", "win-rates", "drift", "agreement"):
        assert f'id="chart-{key}"' in html, key
    assert html.count("<svg") == 4
    # the data-quality list is a table with counts
    quality = re.search(r'<table class="quality">.*?</table>', html, re.S)
    assert quality is not None and re.search(r'<td class="num">\d', quality.group(0))
    # verdicts carry the account's name and a time in words
    verdicts = re.search(r'<table class="verdicts">.*?</table>', html, re.S)
    assert verdicts is not None
    assert name in verdicts.group(0) and "just now" in verdicts.group(0)
    # the tier distribution counts every current account
    total = sum(int(n) for n in re.findall(r"<title>[^<:]+: ([\d,]+)</title>", html.split(
        'id="chart-tiers"')[1].split("</figure>")[0]))  # fmt: skip
    assert total == accounts.height


# ----------------------------------------------------------------------------- mapping step


def test_proposal_reads_hubspot_headers_with_confidence(
    site: tuple[Path, TestClient, dict[str, str]],
) -> None:
    root, _, _ = site
    content, _ = hubspot_csv(root)
    frame = pl.read_csv(content, infer_schema_length=0)
    targets = upload_map.targets_for(["industry", "employees", "lifecycle_stage"])
    proposal = upload_map.propose_mapping(frame, targets)
    assert proposal.needs_mapping and proposal.preset == "hubspot"
    assert proposal.mapping() == {**HUBSPOT, "lifecycle_stage": "Lifecycle Stage"}
    by_column = {c.column: c for c in proposal.columns}
    assert by_column["Number of Employees"].confidence == 1.0
    assert by_column["Number of Employees"].reason == "hubspot preset"
    assert by_column["Company owner"].target == upload_map.KEEP
    # icpkit's own names need no step
    plain = upload_map.propose_mapping(pl.DataFrame({"account_id": ["1"], "industry": ["x"]}),
                                       targets)  # fmt: skip
    assert not plain.needs_mapping


def test_a_chosen_mapping_is_checked() -> None:
    targets = upload_map.targets_for([])
    columns = ["Id", "Name", "Org"]
    with pytest.raises(SchemaError) as err:
        upload_map.chosen_mapping({"Name": "name", "Org": "name"}, columns, targets, "up.csv")
    text = str(err.value)
    assert "already fed by column 'Name'" in text and "no column is mapped to account_id" in text
    with pytest.raises(SchemaError, match="not a field icpkit reads"):
        upload_map.chosen_mapping({"Id": "account_id", "Org": "orgname"}, columns, targets, "u")
    assert upload_map.chosen_mapping({"Id": "account_id", "Name": ""}, columns, targets, "u") == {
        "account_id": "Id"
    }


def test_an_upload_with_hubspot_headers_is_mapped_scored_and_remembered(
    site: tuple[Path, TestClient, dict[str, str]],
) -> None:
    root, client, keys = site
    (root / upload_map.REMEMBERED).unlink(missing_ok=True)
    content, accounts = hubspot_csv(root)
    files = {"file": ("hubspot.csv", content, "text/csv")}
    step = client.post("/upload", files=files, headers=auth(keys["write"]))
    assert step.status_code == 200, step.text
    assert "Match the columns of hubspot.csv" in step.text
    token = re.search(r'name="token" value="([^"]+)"', step.text).group(1)  # type: ignore[union-attr]
    headers = list(pl.read_csv(content, n_rows=0).columns)
    selected = dict(re.findall(r'aria-label="icpkit field for ([^"]+)">.*?<option value="([^"]*)" '
                               r"selected", step.text, re.S))  # fmt: skip
    assert selected["Number of Employees"] == "employees" and selected["Company owner"] == ""
    # the user corrects one guess: the country column is left out
    form = {f"column-{i}": selected[h] for i, h in enumerate(headers)}
    form[f"column-{headers.index('Country/Region')}"] = ""
    done = client.post(
        "/upload/map", data={**form, "token": token, "name": "hubspot.csv"},
        headers=auth(keys["write"]),
    )  # fmt: skip
    assert done.status_code == 200, done.text
    assert "12 accounts scored" in done.text
    scored = client.get(
        re.search(r'href="(/uploads/[^"]+\.csv)"', done.text).group(1),  # type: ignore[union-attr]
        headers=auth(keys["read"]),
    )
    frame = pl.read_csv(scored.content, infer_schema_length=0)
    assert frame["Record ID"].to_list() == accounts["account_id"].to_list()
    # the same accounts scored in icpkit's names (country dropped too) get the same tiers
    plain = accounts.select("account_id", "name", "domain", "employees", "industry").write_csv()
    direct = client.post(
        "/upload", files={"file": ("plain.csv", plain.encode(), "text/csv")},
        headers=auth(keys["write"]),
    )  # fmt: skip
    assert "12 accounts scored" in direct.text and "Match the columns" not in direct.text
    token2 = re.search(r'href="/uploads/([^"]+)\.csv"', direct.text).group(1)  # type: ignore[union-attr]
    plain_scored = pl.read_csv(client.get(f"/uploads/{token2}.csv", headers=auth(
        keys["read"])).content, infer_schema_length=0)  # fmt: skip
    assert frame["tier"].to_list() == plain_scored["tier"].to_list()
    assert frame["fit_score"].to_list() == plain_scored["fit_score"].to_list()
    # remembered in the workspace: the next upload proposes the user's choices
    kept = upload_map.remembered(root)
    assert kept["employees"] == "Number of Employees" and "country" not in kept
    again = client.post("/upload", files=files, headers=auth(keys["write"]))
    assert "chosen at the last upload" in again.text
    # the kept input is gone once scored: the token cannot be scored twice
    twice = client.post("/upload/map", data={**form, "token": token}, headers=auth(keys["write"]))
    assert twice.status_code == 404


def test_a_mapping_without_the_id_is_refused_in_the_page(
    site: tuple[Path, TestClient, dict[str, str]],
) -> None:
    root, client, keys = site
    content, _ = hubspot_csv(root, 3)
    step = client.post("/upload", files={"file": ("h.csv", content, "text/csv")},
                       headers=auth(keys["write"]))  # fmt: skip
    token = re.search(r'name="token" value="([^"]+)"', step.text).group(1)  # type: ignore[union-attr]
    refused = client.post("/upload/map", data={"token": token, "name": "h.csv", "column-1": "name"},
                          headers=auth(keys["write"]))  # fmt: skip
    assert refused.status_code == 422
    assert "no column is mapped to account_id" in refused.text
    assert "Match the columns of h.csv" in refused.text  # the step again, not a dead end


# ----------------------------------------------------------------------------- /v1/score 422s


def test_map_true_that_matches_nothing_is_a_clear_422(
    site: tuple[Path, TestClient, dict[str, str]],
) -> None:
    _, client, keys = site
    r = client.post("/v1/score?map=true", json={"accounts": [{"Firma": "x", "Leute": 5}]},
                    headers=auth(keys["read"]))  # fmt: skip
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert "no field of the records is a column" in error["message"]
    assert "'Firma'" in error["message"]


def test_a_misspelt_field_is_a_422_naming_the_closest_name(
    site: tuple[Path, TestClient, dict[str, str]],
) -> None:
    _, client, keys = site
    r = client.post("/v1/score?map=false",
                    json={"accounts": [{"account_id": "1", "industy": "Software"}]},
                    headers=auth(keys["read"]))  # fmt: skip
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "'industy'" in error["message"] and "'industry'" in error["message"]
    assert error["details"][0]["column"] == "industy"
    # an unrelated field rides along, listed as ignored
    ok = client.post("/v1/score?map=false",
                     json={"accounts": [{"account_id": "1", "industry": "Software",
                                         "favourite_colour": "blue"}]},
                     headers=auth(keys["read"]))  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json()["ignored_fields"] == ["favourite_colour"]


def test_unknown_fields_core() -> None:
    known = ["industry", "employees", "account_id"]
    assert unknown_fields(["account_id", "Industry", "notes"], known) == ["notes"]
    with pytest.raises(SchemaError, match="did you mean 'employees'"):
        unknown_fields(["employes"], known)


def test_a_column_left_unmapped_stays_unmapped_next_time(tmp_path: Path) -> None:
    frame = pl.DataFrame({"Record ID": ["1"], "Company name": ["Acme"], "Country/Region": ["US"]})
    targets = upload_map.targets_for([])
    first = upload_map.propose_mapping(frame, targets)
    assert first.mapping()["country"] == "Country/Region"
    upload_map.remember(tmp_path, {"account_id": "Record ID", "name": "Company name"},
                        list(frame.columns))  # fmt: skip
    again = upload_map.propose_mapping(
        frame, targets, remembered=upload_map.remembered(tmp_path),
        kept=upload_map.remembered_kept(tmp_path),
    )  # fmt: skip
    assert "country" not in again.mapping()
    assert {c.column: c.reason for c in again.columns}["Country/Region"] == (
        "left unmapped at the last upload"
    )
    # mapping it again later forgets that it was left out
    upload_map.remember(tmp_path, {"country": "Country/Region"}, list(frame.columns))
    assert upload_map.remembered_kept(tmp_path) == ["Company name", "Record ID"]
    assert upload_map.remembered(tmp_path)["country"] == "Country/Region"
