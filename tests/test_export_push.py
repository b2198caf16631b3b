"""`push hubspot|salesforce`: batch requests checked by a local HTTP server against each CRM's
documented shape; retries on 429/5xx with Retry-After; refused records reported by id; an
interrupted push resumed sends every record exactly once."""

from __future__ import annotations

import json
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from icpkit import datasets, pipeline
from icpkit.cli import app as cli
from icpkit.export.crm import SALESFORCE_ID
from icpkit.export.push import (
    HUBSPOT,
    PROPERTIES,
    SALESFORCE,
    SALESFORCE_VALUES,
    Crm,
    PushError,
    Request,
    hubspot_requests,
    push,
    salesforce_requests,
    write_dry_run,
)
from icpkit.vocab import TIERS

TOKEN = "secret-token"


class FakeCrm:
    """A local HTTP server: checks every request (``check`` appends to ``problems``), answers
    the statuses in ``script`` first (429 with Retry-After: 0), then accepts (``accept``)."""

    method = "POST"

    def __init__(self) -> None:
        self.received: list[str] = []
        self.script: list[int] = []
        self.problems: list[str] = []
        self.requests = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                fake.requests += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.command != fake.method:
                    fake.problems.append(f"method {self.command}")
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    fake.problems.append("no bearer token")
                if self.headers.get("Content-Type") != "application/json":
                    fake.problems.append("content type")
                fake.check(self.path, body)
                status = fake.script.pop(0) if fake.script else 200
                payload = fake.accept(body) if status == 200 else {"message": "slow down"}
                if isinstance(payload, dict) and payload.get("numErrors"):
                    status = 207
                data = json.dumps(payload).encode()
                self.send_response(status)
                if status == 429 or (status == 503 and fake.retry_after_on_503):
                    self.send_header("Retry-After", fake.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PATCH = handle_any

        self.retry_after_on_503 = False
        self.retry_after = "0"
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check(self, path: str, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def accept(self, body: dict[str, Any]) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()


class FakeHubSpot(FakeCrm):
    """POST /crm/v3/objects/companies/batch/{update,upsert} as HubSpot documents them; the ids in
    ``refuse`` come back in a 207 Multi-Status answer's ``errors``."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()

    def check(self, path: str, body: dict[str, Any]) -> None:
        upsert = path == "/crm/v3/objects/companies/batch/upsert"
        if path != "/crm/v3/objects/companies/batch/update" and not upsert:
            self.problems.append(f"path {path}")
        inputs = body.get("inputs")
        if set(body) != {"inputs"} or not isinstance(inputs, list) or not 1 <= len(inputs) <= 100:
            self.problems.append("inputs: 1 to 100 items")
            return
        for item in inputs:
            want = {"id", "properties"} | ({"idProperty"} if upsert else set())
            if set(item) - {"idProperty"} != {"id", "properties"} or not want <= set(item):
                self.problems.append(f"input keys {sorted(item)}")
            if not isinstance(item["id"], str):
                self.problems.append(f"input keys {sorted(item)}")
            props = item.get("properties", {})
            if set(props) != set(PROPERTIES) or not all(isinstance(v, str) for v in props.values()):
                self.problems.append("properties: the ICP properties, as strings")
            if props.get("icp_tier") not in TIERS:
                self.problems.append("icp_tier value")

    def accept(self, body: dict[str, Any]) -> Any:
        ids = [str(i["id"]) for i in body["inputs"]]
        self.received += ids
        refused = [i for i in ids if i in self.refuse]
        if not refused:
            return {"status": "COMPLETE", "results": []}
        error = {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Acme Corp gone",
                 "context": {"ids": refused}}  # fmt: skip
        return {"status": "COMPLETE", "results": [], "numErrors": 1, "errors": [error]}


SF_PATH = re.compile(r"^/services/data/v\d{2,3}\.0/composite/sobjects(/Account/(\w+))?$")


class FakeSalesforce(FakeCrm):
    """PATCH /services/data/vXX.X/composite/sobjects[/Account/<external id field>] as the REST API
    documents sObject Collections update / upsert; answers one SaveResult per record, refusing
    the ids in ``refuse``."""

    method = "PATCH"

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()
        self.key = "id"

    def check(self, path: str, body: dict[str, Any]) -> None:
        match = SF_PATH.match(path)
        if not match:
            self.problems.append(f"path {path}")
            return
        self.key = match.group(2) or "id"
        records = body.get("records")
        if set(body) != {"allOrNone", "records"} or body.get("allOrNone") is not False:
            self.problems.append(f"body keys {sorted(body)}: allOrNone false and records")
        if not isinstance(records, list) or not 1 <= len(records) <= 200:
            self.problems.append("records: 1 to 200 items")
            return
        for record in records:
            if set(record) != {"attributes", self.key, *SALESFORCE_VALUES}:
                self.problems.append(f"record keys {sorted(record)}")
                continue
            if record["attributes"] != {"type": "Account"}:
                self.problems.append("attributes: type Account")
            key = record[self.key]
            if not isinstance(key, str) or (self.key == "id" and not SALESFORCE_ID.match(key)):
                self.problems.append(f"{self.key} value")
            if record["ICP_Tier__c"] not in TIERS:
                self.problems.append("ICP_Tier__c value")
            score = record["ICP_Fit_Score__c"]
            if not (isinstance(score, int) and not isinstance(score, bool) and 0 <= score <= 100):
                self.problems.append("ICP_Fit_Score__c: a number 0-100")
            if not isinstance(record["ICP_Reasons__c"], str | None):
                self.problems.append("ICP_Reasons__c: text or null")
            if not re.fullmatch(r"v\d+", str(record["ICP_Version__c"])):
                self.problems.append("ICP_Version__c value")

    def accept(self, body: dict[str, Any]) -> Any:
        out = []
        for record in body["records"]:
            key = record[self.key]
            self.received.append(key)
            if key in self.refuse:
                error = {
                    "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                    "message": "Acme Corp (Jane Doe) may not be changed",  # may quote values
                    "fields": ["ICP_Tier__c"],
                }
                out.append({"success": False, "errors": [error]})
            else:
                out.append({"id": key, "success": True, "errors": []})
        return out


@pytest.fixture
def hubspot() -> Any:
    fake = FakeHubSpot()
    yield fake
    fake.close()


@pytest.fixture
def salesforce() -> Any:
    fake = FakeSalesforce()
    yield fake
    fake.close()


def table(n: int, key: str) -> pl.DataFrame:
    ids = [f"001{i:015d}" if key == "Id" else str(1000 + i) for i in range(n)]
    names = PROPERTIES if key == "Record ID" else SALESFORCE_VALUES
    return pl.DataFrame(
        {
            key: ids,
            names[0]: [TIERS[i % 4] for i in range(n)],
            names[1]: [str(i % 100) for i in range(n)],
            names[2]: [f"industry = 'Software' (+{i % 9})" if i % 7 else None for i in range(n)],
            names[3]: ["v2"] * n,
            names[4]: [str(50 + i % 50) for i in range(n)],
            names[5]: [("very good", "good", "medium", "low")[i % 4] for i in range(n)],
        }
    )


def companies(n: int) -> pl.DataFrame:
    return table(n, "Record ID")


def accounts(n: int) -> pl.DataFrame:
    return table(n, "Id")


def test_requests_follow_the_batch_update_and_upsert_shapes(
    hubspot: FakeHubSpot, tmp_path: Path
) -> None:
    update = hubspot_requests(companies(250))
    assert [len(r.body["inputs"]) for r in update] == [100, 100, 50]
    push(update, TOKEN, tmp_path / "log.jsonl", base_url=hubspot.url)
    upsert = hubspot_requests(
        companies(5).rename({"Record ID": "icp_key"}), id_property="icp_key", create=True
    )
    push(upsert, TOKEN, tmp_path / "log2.jsonl", base_url=hubspot.url)
    assert hubspot.problems == []
    assert len(hubspot.received) == 255


def test_salesforce_requests_follow_the_sobject_collections_shapes(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    update = salesforce_requests(accounts(450))
    assert [len(r.body["records"]) for r in update] == [200, 200, 50]
    assert all(r.method == "PATCH" and r.path.endswith("/composite/sobjects") for r in update)
    first = update[0].body["records"][0]
    assert first["ICP_Reasons__c"] is None and first["ICP_Fit_Score__c"] == 0  # null clears
    counts = push(update, TOKEN, tmp_path / "log.jsonl", crm=SALESFORCE, base_url=salesforce.url)
    assert counts == {"sent": 3, "skipped": 0, "batches": 3, "failed": []}
    assert salesforce.problems == [] and len(salesforce.received) == 450
    keyed = (
        accounts(7)
        .rename({"Id": "ICP_Key__c"})
        .with_columns(pl.Series("ICP_Key__c", list("abcdefg")))
    )
    upsert = salesforce_requests(keyed, external_id="ICP_Key__c")
    assert upsert[0].path.endswith("/composite/sobjects/Account/ICP_Key__c")
    push(upsert, TOKEN, tmp_path / "log2.jsonl", crm=SALESFORCE, base_url=salesforce.url)
    assert salesforce.problems == [] and salesforce.received[-7:] == list("abcdefg")
    with pytest.raises(Exception, match="200 records"):
        salesforce_requests(accounts(3), batch=201)
    with pytest.raises(Exception, match="external-id-field"):
        salesforce_requests(keyed)  # no Id column and no external ID field named


def test_the_fake_salesforce_catches_a_wrong_shape(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    """The checks can fail: a POST, a missing attributes map and a 201-record batch are caught."""
    good = salesforce_requests(accounts(2))[0]
    records = [dict(r) for r in good.body["records"]]
    del records[0]["attributes"]
    bad = [
        Request(good.path, good.body, good.ids, method="POST"),
        Request(good.path, {"allOrNone": False, "records": records}, good.ids, method="PATCH"),
        Request(good.path, {"allOrNone": False, "records": records * 101}, method="PATCH"),
    ]
    for i, req in enumerate(bad):
        push([req], TOKEN, tmp_path / f"l{i}.jsonl", crm=Crm("t", salesforce.url), retries=0)
    assert any("method POST" in p for p in salesforce.problems)
    assert any("record keys" in p for p in salesforce.problems)
    assert "records: 1 to 200 items" in salesforce.problems


def test_refused_records_are_reported_by_account_id_without_their_values(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    table = accounts(300)
    refused = {table["Id"][3], table["Id"][250]}
    salesforce.refuse = refused
    log = tmp_path / "log.jsonl"
    requests = salesforce_requests(table)
    counts = push(requests, TOKEN, log, crm=SALESFORCE, base_url=salesforce.url)
    assert {f["id"] for f in counts["failed"]} == refused
    assert counts["failed"][0]["errors"] == [
        {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": ["ICP_Tier__c"]}
    ]
    assert "Jane" not in log.read_text() and "Acme" not in json.dumps(counts)
    again = push(requests, TOKEN, log, crm=SALESFORCE, base_url=salesforce.url)
    assert again["skipped"] == 2 and {f["id"] for f in again["failed"]} == refused  # from the log
    assert len(salesforce.received) == 300  # refused records are not sent again on resume


def test_dry_run_writes_the_requests(tmp_path: Path) -> None:
    paths = write_dry_run(hubspot_requests(companies(120)), tmp_path / "h")
    first = json.loads(paths[0].read_text())
    assert first["method"] == "POST" and first["path"].endswith("/batch/update")
    assert len(paths) == 2 and len(first["body"]["inputs"]) == 100
    paths = write_dry_run(salesforce_requests(accounts(401)), tmp_path / "s")
    first = json.loads(paths[0].read_text())
    assert first["method"] == "PATCH" and first["path"].endswith("/composite/sobjects")
    assert len(paths) == 3 and len(first["body"]["records"]) == 200


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_rate_limit_and_server_errors_are_retried(
    request: pytest.FixtureRequest, tmp_path: Path, crm: str
) -> None:
    fake, target = request.getfixturevalue(crm), HUBSPOT if crm == "hubspot" else SALESFORCE
    requests = (
        hubspot_requests(companies(10)) if crm == "hubspot" else salesforce_requests(accounts(10))
    )
    fake.script = [429, 500, 503]
    waits: list[float] = []
    counts = push(requests, TOKEN, tmp_path / "log.jsonl", crm=target, base_url=fake.url,
                  sleep=waits.append)  # fmt: skip
    assert counts == {"sent": 1, "skipped": 0, "batches": 1, "failed": []}
    assert waits == [0.0, 2.0, 4.0]  # Retry-After honoured, then exponential backoff
    fake.retry_after_on_503 = True
    fake.script, waits = [503, 503], []
    push(requests, TOKEN, tmp_path / "l1.jsonl", crm=target, base_url=fake.url, sleep=waits.append)
    assert waits == [0.0, 0.0]  # Salesforce sends Retry-After with 503 when it is overloaded
    fake.script = [500] * 10
    with pytest.raises(PushError, match="500 after 2 tries"):
        push(requests, TOKEN, tmp_path / "l2.jsonl", crm=target, base_url=fake.url, retries=2,
             sleep=lambda s: None)  # fmt: skip
    fake.script = [400]
    with pytest.raises(PushError, match="refused batch"):
        push(requests, TOKEN, tmp_path / "l3.jsonl", crm=target, base_url=fake.url)


@pytest.mark.parametrize(
    ("crm", "seed"), [(c, s) for c in ("hubspot", "salesforce") for s in (1, 2, 3)]
)
def test_an_interrupted_push_resumed_sends_every_record_exactly_once(
    request: pytest.FixtureRequest, tmp_path: Path, crm: str, seed: int
) -> None:
    fake = request.getfixturevalue(crm)
    if crm == "hubspot":
        target, rows = HUBSPOT, companies(1234)
        requests = hubspot_requests(rows)
    else:
        target, rows = SALESFORCE, accounts(2345)
        requests = salesforce_requests(rows)
    stop_after = random.Random(seed).randrange(1, len(requests) - 1)
    log = tmp_path / "log.jsonl"

    class Interrupted(Exception):
        pass

    def sleep_then_die(_: float) -> None:  # the interruption: the process dies mid-push
        raise Interrupted

    fake.script = [200] * stop_after + [503]
    with pytest.raises(Interrupted):
        push(requests, TOKEN, log, crm=target, base_url=fake.url, sleep=sleep_then_die)
    assert 0 < len(fake.received) < rows.height
    counts = push(requests, TOKEN, log, crm=target, base_url=fake.url)
    assert counts["skipped"] == stop_after and counts["sent"] == len(requests) - stop_after
    assert sorted(fake.received) == sorted(rows[rows.columns[0]].to_list())
    assert len(fake.received) == len(set(fake.received))
    assert fake.problems == []


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("push") / "ws"
    datasets.make_crm(300, seed=5).write_workspace(ws)
    pipeline.build_and_save(pipeline.Workspace.open(ws))
    return ws


def test_push_salesforce_command_dry_run_then_push_then_resume(
    built: Path, salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "sf"
    args = ["push", "salesforce", "-w", str(built), "-o", str(out)]
    key = ["--external-id-field", "ICP_Account_Key__c"]
    dry = runner.invoke(cli, [*args, *key, "--dry-run"], env={"SALESFORCE_ACCESS_TOKEN": ""})
    assert dry.exit_code == 0, dry.output
    bodies = sorted((out / "requests").glob("request-*.json"))
    assert len(bodies) == 2 and "2 requests written" in dry.output  # 300 accounts, 200 a request
    first = json.loads(bodies[0].read_text())
    assert first["method"] == "PATCH"
    assert first["path"].endswith("/composite/sobjects/Account/ICP_Account_Key__c")
    by_id = runner.invoke(cli, [*args, "--dry-run"])
    assert by_id.exit_code == 0 and "left out 300: account_id is not a Salesforce" in by_id.output
    no_token = runner.invoke(cli, [*args, *key], env={"SALESFORCE_ACCESS_TOKEN": ""})
    assert no_token.exit_code != 0 and "SALESFORCE_ACCESS_TOKEN" in no_token.output
    env = {"SALESFORCE_ACCESS_TOKEN": TOKEN, "SALESFORCE_INSTANCE_URL": salesforce.url}
    accounts_csv = pl.read_csv(built / "accounts.csv", infer_schema_length=0)
    salesforce.refuse = {accounts_csv["account_id"][0]}
    salesforce.script = [200, 400]  # the second batch is refused: the push stops there
    failed = runner.invoke(cli, [*args, *key], env=env)
    assert failed.exit_code != 0 and "refused batch 2 of 2 (PATCH" in failed.output
    done = runner.invoke(cli, [*args, *key], env=env)
    assert done.exit_code == 0, done.output
    assert "1 batches sent, 1 already sent before (of 2)" in done.output
    assert f"{accounts_csv['account_id'][0]}: FIELD_CUSTOM_VALIDATION_EXCEPTION" in done.output
    assert sorted(salesforce.received) == sorted(accounts_csv["account_id"].to_list())
    assert salesforce.problems == []


def test_hubspot_multi_status_names_the_refused_companies(
    hubspot: FakeHubSpot, tmp_path: Path
) -> None:
    rows = companies(150)
    hubspot.refuse = {rows["Record ID"][5], rows["Record ID"][120]}
    counts = push(hubspot_requests(rows), TOKEN, tmp_path / "log.jsonl", base_url=hubspot.url)
    assert {f["id"] for f in counts["failed"]} == hubspot.refuse
    assert counts["failed"][0]["errors"] == [{"statusCode": "OBJECT_NOT_FOUND", "fields": []}]
    assert "Acme" not in (tmp_path / "log.jsonl").read_text()


def test_push_max_wait_is_a_setting_of_the_command(
    built: Path, salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    """A Retry-After beyond --max-wait stops the push at once, saying when to run it again."""
    env = {"SALESFORCE_ACCESS_TOKEN": TOKEN, "SALESFORCE_INSTANCE_URL": salesforce.url}
    args = ["push", "salesforce", "-w", str(built), "-o", str(tmp_path / "sf")]
    args += ["--external-id-field", "ICP_Account_Key__c", "--max-wait", "5"]
    salesforce.script, salesforce.retry_after = [429], "30"
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert "asked to wait 30 s before batch 1 of 2" in result.output
    assert "longer than the 5 s allowed (--max-wait)" in result.output
    assert "run the same command again after" in result.output
    assert salesforce.requests == 1


# ----------------------------------------------------------------------------- issue 27: --create


def test_push_hubspot_never_calls_an_endpoint_that_creates_unless_create(
    built: Path, tmp_path: Path
) -> None:
    """Through the whole push (an httpx mock transport in place of HubSpot): updates by default,
    by Record ID or by the unique --id-property; batch upsert (which creates) only with
    --create."""
    import httpx

    from icpkit.errors import ConfigError
    from icpkit.export.push import CREATING_PATHS

    calls: list[tuple[str, str, dict[str, Any]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={"status": "COMPLETE", "results": []})

    mock = httpx.MockTransport(handler)
    ws = pipeline.Workspace.open(built)
    dry = pipeline.push_hubspot(ws, tmp_path / "dry", dry_run=True, id_property="icp_account_key")
    written = [json.loads(Path(p).read_text())["path"] for p in dry["requests"]]
    assert written and not set(written) & CREATING_PATHS
    sent = pipeline.push_hubspot(
        ws, tmp_path / "update", token=TOKEN, id_property="icp_account_key", transport=mock
    )
    assert sent["sent"] == 3 and len(calls) == 3  # 300 accounts, 100 a batch
    assert {path for _, path, _ in calls} == {"/crm/v3/objects/companies/batch/update"}
    assert all(i["idProperty"] == "icp_account_key" for *_, body in calls for i in body["inputs"])
    by_record_id = pipeline.push_hubspot(ws, tmp_path / "rid", token=TOKEN, transport=mock)
    assert by_record_id["batches"] == 0  # the demo's ids are no Record IDs: nothing sent
    calls.clear()
    pipeline.push_hubspot(
        ws, tmp_path / "create", token=TOKEN, id_property="icp_account_key", create=True,
        transport=mock,
    )  # fmt: skip
    assert {path for _, path, _ in calls} == {"/crm/v3/objects/companies/batch/upsert"}
    calls.clear()
    with pytest.raises(ConfigError, match="--create needs --id-property"):
        pipeline.push_hubspot(ws, tmp_path / "x", token=TOKEN, create=True, transport=mock)
    assert calls == [] and not (tmp_path / "x").exists()
    refused = CliRunner().invoke(cli, ["push", "hubspot", "-w", str(built), "-o",
                                       str(tmp_path / "y"), "--create", "--dry-run"])  # fmt: skip
    assert refused.exit_code != 0 and "--create needs --id-property" in refused.output
