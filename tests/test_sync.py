"""icpkit sync against fake HubSpot and Salesforce servers (tests/fakes): the synced tables equal
the CRM's records after full, incremental, interrupted-and-resumed runs; limits, retries and bad
input behave; a build works on the result."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fakes.base import FakeClock, Killed
from fakes.hubspot import FakeHubSpot
from fakes.salesforce import FakeSalesforce
from fakes.seed import load_hubspot, load_salesforce
from icpkit.datasets import make_crm
from icpkit.errors import ConfigError
from icpkit.sync import SyncError, SyncResult, sync_workspace
from icpkit.sync import hubspot as hs_spec
from icpkit.sync import salesforce as sf_spec

HS_OBJECTS = (hs_spec.COMPANIES, hs_spec.DEALS, hs_spec.CONTACTS)
SF_OBJECTS = (sf_spec.ACCOUNT, sf_spec.OPPORTUNITY, sf_spec.CONTACT)


@pytest.fixture(scope="module")
def small_crm() -> Any:
    return make_crm(150, seed=11)


@pytest.fixture(scope="module")
def medium_crm() -> Any:
    return make_crm(500, seed=11)


def make_fake(kind: str, crm: Any, clock: FakeClock, **kw: Any) -> Any:
    if kind == "hubspot":
        fake = FakeHubSpot(clock=clock, rate=(190, 10.0), **kw)
        load_hubspot(fake, crm)
    else:
        fake = FakeSalesforce(clock=clock, **kw)
        load_salesforce(fake, crm)
    return fake


def run(ws: Path, kind: str, fake: Any, clock: FakeClock, **kw: Any) -> SyncResult:
    return sync_workspace(
        ws, kind, token=fake.token, base_url="http://crm.test", transport=fake.transport(),
        sleep=clock.sleep, clock=clock, **kw,
    )  # fmt: skip


def stored(ws: Path, kind: str, name: str) -> dict[str, dict[str, Any]]:
    path = ws / "crm" / kind / f"{name}.parquet"
    return {r["id"]: r for r in pl.read_parquet(path).to_dicts()} if path.exists() else {}


def assert_equal(ws: Path, kind: str, fake: Any) -> None:
    for spec in HS_OBJECTS if kind == "hubspot" else SF_OBJECTS:
        got, want = stored(ws, kind, spec.name), fake.expected(spec.name, spec.stored)
        assert set(got) == set(want), f"{spec.name}: ids differ"
        diff = [k for k in want if got[k] != want[k]]
        assert not diff, (
            f"{spec.name}: {len(diff)} rows differ, e.g. {got[diff[0]]} vs {want[diff[0]]}"
        )


def edit_crm(kind: str, fake: Any, rng: random.Random) -> None:
    """Edits, deletes, additions and a deal moved to another company."""
    if kind == "hubspot":
        companies, deals = fake.live_ids("companies"), fake.live_ids("deals")
        for rid in rng.sample(companies, 5):
            fake.edit("companies", rid, industry="Edited")
        for rid in rng.sample(deals, 3):
            fake.archive("deals", rid)
        moved = rng.choice(fake.live_ids("deals"))
        fake.edit("deals", moved, companies=[companies[0], companies[1]])
        fake.add("contacts", {"jobtitle": "New CFO"}, companies=[companies[2]])
        fake.archive("companies", companies[-1])
    else:
        accounts = [r for r, v in fake.objects["Account"].items() if not v.deleted]
        opps = [r for r, v in fake.objects["Opportunity"].items() if not v.deleted]
        for rid in rng.sample(accounts, 5):
            fake.edit("Account", rid, Industry="Edited")
        for rid in rng.sample(opps, 3):
            fake.delete("Opportunity", rid)
        fake.edit("Opportunity", rng.choice(opps[3:]), AccountId=accounts[0])
        fake.add("Contact", {"AccountId": accounts[2], "Title": "New CFO"})
        fake.delete("Account", accounts[-1])


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_incremental_after_edits_equals_the_crm_with_far_fewer_calls(
    kind: str, medium_crm: Any, tmp_path: Path
) -> None:
    clock = FakeClock()
    fake = make_fake(kind, medium_crm, clock)
    first = run(tmp_path, kind, fake, clock)
    assert_equal(tmp_path, kind, fake)
    assert {o.mode for o in first.objects} == {"full"}
    edit_crm(kind, fake, random.Random(1))
    second = run(tmp_path, kind, fake, clock)
    assert_equal(tmp_path, kind, fake)
    assert {o.mode for o in second.objects} == {"incremental"}
    counts = {o.table: o for o in second.objects}
    assert counts["deals"].deleted == 3 and counts["accounts"].deleted == 1
    assert counts["contacts"].added == 1
    if kind == "hubspot":  # salesforce: 2,000 records a call; see the 50,000-record test
        assert second.api_calls * 4 < first.api_calls, (second.api_calls, first.api_calls)
    assert fake.refused_rate == 0  # the client-side limiter kept under 190 per 10 s
    assert third_is_a_no_op(tmp_path, kind, fake, clock)


def third_is_a_no_op(ws: Path, kind: str, fake: Any, clock: FakeClock) -> bool:
    before = {spec.name: stored(ws, kind, spec.name) for spec in HS_OBJECTS + SF_OBJECTS}
    again = run(ws, kind, fake, clock)
    after = {spec.name: stored(ws, kind, spec.name) for spec in HS_OBJECTS + SF_OBJECTS}
    return before == after and all(o.added == o.deleted == 0 for o in again.objects)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_a_sync_killed_at_a_random_request_and_resumed_equals_the_crm(
    kind: str, seed: int, small_crm: Any, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    clock = FakeClock()
    fake = make_fake(kind, small_crm, clock)
    probe = FakeClock()  # how many requests a full sync takes, on a copy
    counted = make_fake(kind, small_crm, probe)
    run(tmp_path / "probe", kind, counted, probe, full=True)
    fake.kill_at = rng.randint(1, counted.requests)
    with pytest.raises(Killed):
        run(tmp_path, kind, fake, clock, full=True)
    edit_crm(kind, fake, rng)  # the CRM moves on between the kill and the rerun
    run(tmp_path, kind, fake, clock)
    assert_equal(tmp_path, kind, fake)
    # and an incremental run killed part-way, then resumed
    edit_crm(kind, fake, rng)
    start = fake.requests
    fake.kill_at = start + rng.randint(1, 6)
    with pytest.raises(Killed):
        run(tmp_path, kind, fake, clock)
    run(tmp_path, kind, fake, clock)
    assert_equal(tmp_path, kind, fake)
    assert not (tmp_path / "crm" / kind / ".staging").exists() or not any(
        (tmp_path / "crm" / kind / ".staging").iterdir()
    )


def test_resume_reuses_what_was_staged(small_crm: Any, tmp_path: Path) -> None:
    """A killed pass resumes from its last durable chunk instead of starting over."""
    clock = FakeClock()
    fake = make_fake("hubspot", small_crm, clock)
    probe_clock = FakeClock()
    probe = make_fake("hubspot", small_crm, probe_clock)
    run(tmp_path / "probe", "hubspot", probe, probe_clock)
    (tmp_path / "icpkit.toml").write_text("[sync]\nchunk_rows = 100\n")
    fake.kill_at = probe.requests - 1
    with pytest.raises(Killed):
        run(tmp_path, "hubspot", fake, clock)
    before = fake.requests
    result = run(tmp_path, "hubspot", fake, clock)
    assert any(o.resumed for o in result.objects)
    assert fake.requests - before < probe.requests / 2
    assert_equal(tmp_path, "hubspot", fake)


def test_search_windows_are_bisected_under_the_result_cap(
    small_crm: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hs_spec, "SEARCH_CAP", 400)  # the fake's cap too: 1,000 records suffice
    clock = FakeClock()
    fake = make_fake("hubspot", small_crm, clock, search_cap=400)
    run(tmp_path, "hubspot", fake, clock)
    cursor_ms = int(fake.objects["companies"][max(fake.objects["companies"])].modified)
    # 1,000 companies changed in the minute before the cursor: more than the cap in one window
    from fakes.hubspot import now_ms

    base = now_ms() - 60_000
    for i in range(1000):
        fake.add("companies", {"name": f"New {i}", "industry": "Fintech"}, modified=base + 60 * i)
    assert cursor_ms  # the seeded records are old
    result = run(tmp_path, "hubspot", fake, clock)
    assert_equal(tmp_path, "hubspot", fake)
    assert {o.table: o.added for o in result.objects}["accounts"] == 1000
    assert fake.refused_rate == 0  # 5 searches a second at most
    searches = [p for m, p in fake.log if p.endswith("/companies/search")]
    assert len(searches) >= 1000 / 200 + 2  # split (a page read only for its total), all read


def test_associations_kept_in_incremental_runs(small_crm: Any, tmp_path: Path) -> None:
    """Search results carry no associations: an incremental run must fetch them (the known
    connector bug is storing the edited deal without its company)."""
    clock = FakeClock()
    fake = make_fake("hubspot", small_crm, clock)
    run(tmp_path, "hubspot", fake, clock)
    deal = fake.live_ids("deals")[0]
    target = fake.live_ids("companies")[9]
    fake.edit("deals", deal, amount=1, companies=[target])
    run(tmp_path, "hubspot", fake, clock)
    assert stored(tmp_path, "hubspot", "deals")[deal]["company_id"] == target
    assert any("/crm/v4/associations/deals/companies/batch/read" in p for _, p in fake.log)


def test_long_property_lists_go_in_a_post_body(small_crm: Any, tmp_path: Path) -> None:
    clock = FakeClock()
    fake = make_fake("hubspot", small_crm, clock)
    extra = [f"custom_property_with_a_long_name_{i:03d}" for i in range(120)]
    for rid in fake.live_ids("companies")[:5]:
        fake.edit("companies", rid, custom_property_with_a_long_name_007="x")
    toml = "[sync.hubspot_properties]\ncompanies = [" + ", ".join(f'"{e}"' for e in extra) + "]\n"
    (tmp_path / "icpkit.toml").write_text(toml)
    run(tmp_path, "hubspot", fake, clock)
    assert max(len(p) for m, p in fake.log if m == "GET") < 2500
    rows = stored(tmp_path, "hubspot", "companies")
    assert sum(r["custom_property_with_a_long_name_007"] == "x" for r in rows.values()) == 5
    assert any(p.endswith("/companies/batch/read") for _, p in fake.log)


def test_429_retry_after_and_5xx_are_retried_and_counted(small_crm: Any, tmp_path: Path) -> None:
    clock = FakeClock()
    fake = make_fake("hubspot", small_crm, clock)
    fake.faults = {2: "429", 3: "500", 5: "503"}
    result = run(tmp_path, "hubspot", fake, clock)
    assert_equal(tmp_path, "hubspot", fake)
    assert result.retries == 3 and result.api_calls == fake.requests
    assert 3.0 in clock.slept  # Retry-After: 3 honoured


def test_the_client_keeps_under_the_rate_limit(tmp_path: Path) -> None:
    clock = FakeClock()
    fake = FakeHubSpot(clock=clock, rate=(10, 10.0))
    (tmp_path / "icpkit.toml").write_text("[sync]\nhubspot_requests_per_10s = 10\n")
    for i in range(2_500):
        fake.add("companies", {"name": f"C{i}"}, modified=1_700_000_000_000 + i)
    result = run(tmp_path, "hubspot", fake, clock)
    assert fake.refused_rate == 0 and result.retries == 0
    assert result.api_calls > 20 and result.rate_wait_seconds > 0


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_missing_token_is_one_line_and_writes_nothing(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUBSPOT_TOKEN", raising=False)
    monkeypatch.delenv("SALESFORCE_ACCESS_TOKEN", raising=False)
    with pytest.raises(ConfigError) as caught:
        sync_workspace(tmp_path, kind, base_url="http://crm.test")
    assert "TOKEN" in caught.value.message and "\n" not in caught.value.message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_a_refused_token_is_explained_without_the_token(
    kind: str, small_crm: Any, tmp_path: Path
) -> None:
    clock = FakeClock()
    fake = make_fake(kind, small_crm, clock)
    secret = "pat-na1-secret-value-123"
    with pytest.raises(SyncError) as caught:
        sync_workspace(tmp_path, kind, token=secret, base_url="http://crm.test",
                       transport=fake.transport(), sleep=clock.sleep, clock=clock)  # fmt: skip
    message = caught.value.message
    assert "401" in message and secret not in message and "\n" not in message
    assert not list((tmp_path / "crm" / kind).glob("*.parquet"))
    assert not (tmp_path / "icpkit.toml").exists()


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_malformed_json_stops_without_touching_the_tables(
    kind: str, small_crm: Any, tmp_path: Path
) -> None:
    clock = FakeClock()
    fake = make_fake(kind, small_crm, clock)
    run(tmp_path, kind, fake, clock)
    folder = tmp_path / "crm" / kind
    tables = {
        p.name: p.read_bytes() for p in [*folder.glob("*.parquet"), folder / "sync-state.json"]
    }
    edit_crm(kind, fake, random.Random(3))
    fake.faults = {fake.requests + 2: "garbage"}  # the first object's deletes page
    with pytest.raises(SyncError, match="not JSON"):
        run(tmp_path, kind, fake, clock)
    assert {n: (folder / n).read_bytes() for n in tables} == tables
    run(tmp_path, kind, fake, clock)  # and the next run ends with the CRM's records
    assert_equal(tmp_path, kind, fake)


def test_request_limit_exceeded_is_explained(small_crm: Any, tmp_path: Path) -> None:
    clock = FakeClock()
    fake = make_fake("salesforce", small_crm, clock)
    fake.limit_exceeded = True
    with pytest.raises(SyncError, match="REQUEST_LIMIT_EXCEEDED"):
        run(tmp_path, "salesforce", fake, clock)


def test_personal_fields_are_refused(tmp_path: Path) -> None:
    (tmp_path / "icpkit.toml").write_text('[sync.hubspot_properties]\ncontacts = ["email"]\n')
    with pytest.raises(ConfigError, match="personal data"):
        sync_workspace(tmp_path, "hubspot", token="t", base_url="https://crm.test")


def test_no_personal_data_is_stored(small_crm: Any, tmp_path: Path) -> None:
    clock = FakeClock()
    for kind in ("hubspot", "salesforce"):
        fake = make_fake(kind, small_crm, clock)
        run(tmp_path / kind, kind, fake, clock)
        for path in (tmp_path / kind / "crm" / kind).glob("*.parquet"):
            columns = {c.lower() for c in pl.read_parquet_schema(path)}
            assert not columns & {"email", "firstname", "lastname", "phone"}, path.name


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_the_synced_workspace_loads_like_an_export(
    kind: str, small_crm: Any, tmp_path: Path
) -> None:
    from icpkit import pipeline

    clock = FakeClock()
    fake = make_fake(kind, small_crm, clock)
    run(tmp_path, kind, fake, clock)
    crm = pipeline.Workspace.open(tmp_path).load()
    assert crm.accounts.height == small_crm.accounts.height
    assert crm.deals is not None and crm.deals.height == small_crm.deals.height
    assert crm.contacts is not None and crm.contacts.height == small_crm.contacts.height
    truth = dict(small_crm.deals.group_by("stage").len().iter_rows())
    assert dict(crm.deals.group_by("stage").len().iter_rows()) == truth
    assert crm.deals.get_column("account_id").null_count() == 0
    assert crm.accounts.get_column("employees").null_count() < crm.accounts.height


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_build_works_right_after_a_sync(kind: str, tmp_path: Path) -> None:
    from icpkit import pipeline

    clock = FakeClock()
    fake = make_fake(kind, make_crm(400, seed=5), clock)
    result = run(tmp_path, kind, fake, clock)
    assert result.config_written
    ws = pipeline.Workspace.open(tmp_path)
    version, built = pipeline.build_and_save(ws)
    assert version >= 1 and built.profile is not None
    crm = ws.load()
    assert crm.deals is not None and crm.deals.height == fake_count(fake, kind)
    assert set(crm.deals.get_column("stage").unique()) <= {"won", "lost", "open"}


def fake_count(fake: Any, kind: str) -> int:
    return len(fake.expected("deals" if kind == "hubspot" else "Opportunity", ("id",)))


def test_full_refresh_removes_what_incremental_cannot_see(small_crm: Any, tmp_path: Path) -> None:
    clock = FakeClock()
    fake = make_fake("hubspot", small_crm, clock)
    run(tmp_path, "hubspot", fake, clock)
    gone = fake.live_ids("companies")[4]
    fake.purge("companies", gone)  # purged for good: in no archived list
    result = run(tmp_path, "hubspot", fake, clock, full=True)
    assert {o.mode for o in result.objects} == {"full"}
    assert gone not in stored(tmp_path, "hubspot", "companies")
    assert_equal(tmp_path, "hubspot", fake)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_a_50000_record_sync_equals_the_crm(kind: str, tmp_path: Path) -> None:
    crm = make_crm(6000, seed=3)
    clock = FakeClock()
    fake = make_fake(kind, crm, clock)
    total = crm.accounts.height + crm.deals.height + crm.contacts.height
    assert total >= 50_000
    result = run(tmp_path, kind, fake, clock)
    assert result.records == total
    assert_equal(tmp_path, kind, fake)
    edit_crm(kind, fake, random.Random(4))
    again = run(tmp_path, kind, fake, clock)
    assert_equal(tmp_path, kind, fake)
    assert again.api_calls * 4 < result.api_calls, (again.api_calls, result.api_calls)


def test_notes_are_paged_in_full_and_load_as_notes(small_crm: Any, tmp_path: Path) -> None:
    from icpkit import pipeline

    clock = FakeClock()
    fake = FakeHubSpot(clock=clock, rate=(190, 10.0))
    load_hubspot(fake, small_crm, notes=True)
    long_body = "Pricing was the blocker. " * 400  # 10,000 characters: never a preview
    company = fake.live_ids("companies")[0]
    fake.add("notes", {"hs_note_body": long_body, "hs_timestamp": "2024-03-01"},
             companies=[company])  # fmt: skip
    result = run(tmp_path, "hubspot", fake, clock, include_notes=True)
    want = fake.expected("notes", hs_spec.NOTES.stored)
    assert len(want) > 100  # more than one page
    assert stored(tmp_path, "hubspot", "notes") == want
    assert {o.table for o in result.objects} >= {"notes"}
    crm = pipeline.Workspace.open(tmp_path).load()
    assert crm.notes is not None and crm.notes.height == len(want)
    assert long_body.strip() in set(crm.notes.get_column("text").to_list())


def test_a_cursor_older_than_the_recycle_bin_makes_a_full_pass(
    small_crm: Any, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    clock = FakeClock()
    fake = make_fake("salesforce", small_crm, clock)
    run(tmp_path, "salesforce", fake, clock)
    later = datetime.now(UTC) + timedelta(days=16)
    result = run(tmp_path, "salesforce", fake, clock, now=lambda: later)
    assert {o.mode for o in result.objects} == {"full"}
    assert all("15 days" in o.why_full for o in result.objects)
    assert_equal(tmp_path, "salesforce", fake)


@pytest.mark.parametrize(
    "url", ["http://crm.example.com", "ftp://x", "https//missing-colon", "javascript:alert(1)"]
)
def test_a_base_url_that_would_leak_the_token_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="https://"):
        sync_workspace(tmp_path, "hubspot", token="t", base_url=url)
    assert list(tmp_path.iterdir()) == []
