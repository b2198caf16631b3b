"""The HTTP API and web app, in-process with FastAPI's TestClient: keys, guards, one error shape,
pages that escape what they show, uploads that stay in the workspace."""

from __future__ import annotations

import json
import logging
import shutil
import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import tomli_w

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from icpkit import datasets, pipeline
from icpkit.cli import app as cli
from icpkit.web.app import create_app
from icpkit.web.builds import Builds
from icpkit.web.keys import KeyStore
from icpkit.web.security import RateLimiter

EVIL = '<script>alert("x")</script> & Sons'
ERROR_KEYS = {"status", "code", "message", "details"}
SLASH_PREFIX = "EU/"


def set_web(root: Path, **settings: Any) -> None:
    """Set [web] settings in a workspace's icpkit.toml."""
    raw = tomllib.loads((root / "icpkit.toml").read_text(encoding="utf-8"))
    raw["web"] = {**raw.get("web", {}), **settings}
    (root / "icpkit.toml").write_text(tomli_w.dumps(raw), encoding="utf-8")


def make_workspace(root: Path) -> Path:
    """A small synthetic workspace with one built version; one account is named with HTML."""
    crm = datasets.make_crm(500, seed=11)
    crm.write_workspace(root)
    accounts = pl.read_csv(root / "accounts.csv", infer_schema_length=0)
    accounts = accounts.with_columns(
        pl.when(pl.col("account_id") == accounts["account_id"][0])
        .then(pl.lit(EVIL))
        .otherwise(pl.col("name"))
        .alias("name")
    )
    accounts.write_csv(root / "accounts.csv")
    slashed = str(accounts["account_id"][1])
    for table in root.glob("*.csv"):  # one id with a '/', as CRMs allow ("EU/1234")
        frame = pl.read_csv(table, infer_schema_length=0)
        if "account_id" in frame.columns:
            frame.with_columns(
                pl.when(pl.col("account_id") == slashed)
                .then(pl.lit(f"{SLASH_PREFIX}{slashed}"))
                .otherwise(pl.col("account_id"))
                .alias("account_id")
            ).write_csv(table)
    set_web(root, max_body_bytes=200_000)
    pipeline.build_and_save(pipeline.Workspace.open(root), note="web test")
    return root


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("ws"))


@pytest.fixture(scope="module")
def keys(workspace: Path) -> dict[str, str]:
    store = KeyStore(workspace)
    return {scope: store.create(scope)[0] for scope in ("read", "write")}


@pytest.fixture(scope="module")
def client(workspace: Path) -> TestClient:
    return TestClient(create_app(workspace), raise_server_exceptions=False)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one error shape: exactly these keys, no traceback, no server path."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ERROR_KEYS
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert "Traceback" not in response.text
    assert "/tmp" not in response.text and "site-packages" not in response.text
    return body["error"]


def first_account(workspace: Path) -> str:
    return str(pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)["account_id"][0])


# ----------------------------------------------------------------------------- API


def test_healthz_needs_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"


def test_openapi_lists_the_v1_endpoints(client: TestClient, keys: dict[str, str]) -> None:
    assert_error(client.get("/openapi.json"), 401, "unauthorized")
    paths = client.get("/openapi.json", headers=auth(keys["read"])).json()["paths"]
    for path in ("/v1/score", "/v1/accounts/{account_id}", "/v1/profile", "/v1/versions",
                 "/v1/diff", "/v1/drift", "/healthz"):  # fmt: skip
        assert path in paths
    typed = {
        ("/v1/feedback", "post", "201"): "FeedbackEntry",
        ("/v1/feedback", "get", "200"): "FeedbackList",
        ("/v1/builds", "post", "202"): "BuildStatus",
        ("/v1/builds/{build_id}", "get", "200"): "BuildStatus",
        ("/v1/lookalikes", "get", "200"): "LookalikesResponse",
    }
    for (path, method, status), model in typed.items():
        schema = paths[path][method]["responses"][status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(f"/{model}")
    assert "409" in paths["/v1/builds"]["post"]["responses"]


def test_every_v1_endpoint_needs_a_key(client: TestClient, keys: dict[str, str]) -> None:
    for path in ("/v1/profile", "/v1/versions", "/v1/drift", "/v1/accounts/x"):
        assert_error(client.get(path), 401, "unauthorized")
    assert_error(client.get("/v1/profile", headers=auth("icpk_dead_beef")), 401, "unauthorized")
    assert client.get("/v1/profile", headers={"X-API-Key": keys["read"]}).status_code == 200


def test_account_lookup_gives_tier_score_reasons_and_criteria(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    account = first_account(workspace)
    body = client.get(f"/v1/accounts/{account}", headers=auth(keys["read"])).json()
    assert body["account_id"] == account
    assert body["tier"] in ("Tier 1", "Tier 2", "Tier 3", "Non-fit")
    assert 0 <= body["fit_score"] <= 100
    assert body["base_points"] + sum(p["points"] for p in body["points"]) == body["fit_score"]
    assert body["reasons"]
    profile = client.get("/v1/profile", headers=auth(keys["read"])).json()["profile"]
    rules = {c["rule"] for c in profile["criteria"]}
    assert set(body["criteria_met"]) | set(body["criteria_missed"]) == rules


def test_score_one_and_many_accounts_like_the_workspace(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    account = first_account(workspace)
    looked_up = client.get(f"/v1/accounts/{account}", headers=auth(keys["read"])).json()
    row = pl.read_csv(workspace / "accounts.csv").filter(pl.col("account_id") == account)
    record = row.to_dicts()[0]
    record["tech_stack"] = [t for t in (record.get("tech_stack") or "").split(";") if t]
    other = {"account_id": "new-1", "industry": "Software", "employees": 250}
    response = client.post(
        "/v1/score", headers=auth(keys["read"]), json={"accounts": [record, other]}
    )
    assert response.status_code == 200, response.text
    scored = response.json()["accounts"]
    assert [s["account_id"] for s in scored] == [account, "new-1"]
    assert scored[0]["fit_score"] == looked_up["fit_score"]
    assert scored[0]["tier"] == looked_up["tier"]


def test_unknown_account_version_route_and_method(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["read"])
    assert_error(client.get("/v1/accounts/no-such-account", headers=h), 404, "not_found")
    assert_error(client.get("/v1/profile?version=99", headers=h), 404, "no_version")
    assert_error(client.get("/v1/nothing-here", headers=h), 404, "not_found")
    assert_error(client.delete("/v1/versions", headers=h), 405, "method_not_allowed")


def test_invalid_input_is_422_with_the_field(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["read"])
    error = assert_error(
        client.post("/v1/score", headers=h, json={"accounts": []}), 422, "invalid_input"
    )
    assert error["details"][0]["field"] == "body.accounts"
    bad = {"accounts": [{"account_id": "a", "employees": 40}, {"employees": "many"}]}
    error = assert_error(client.post("/v1/score", headers=h, json=bad), 422, "invalid_input")
    assert error["details"][0]["column"] == "employees"
    assert error["details"][0]["row"] == 2  # the second account of the request
    assert "account 2 of the request" in error["message"]
    assert_error(client.post("/v1/score", headers=h, content=b"{not json"), 422, "invalid_input")


def test_an_internal_error_is_500_without_traceback_or_path(
    workspace: Path, keys: dict[str, str]
) -> None:
    app = create_app(workspace)

    def boom() -> None:
        raise RuntimeError(f"{workspace}/secret exploded")

    app.state.service.versions = boom
    client = TestClient(app, raise_server_exceptions=False)
    error = assert_error(client.get("/v1/versions", headers=auth(keys["read"])), 500, "internal")
    assert "secret" not in error["message"]


def test_read_key_cannot_upload(client: TestClient, keys: dict[str, str]) -> None:
    files = {"file": ("list.csv", b"account_id,industry\n1,Software\n", "text/csv")}
    assert_error(
        client.post("/v1/uploads", headers=auth(keys["read"]), files=files), 403, "forbidden"
    )
    assert_error(client.get("/upload", headers=auth(keys["read"])), 403, "forbidden")


def test_oversize_body_is_413(client: TestClient, keys: dict[str, str]) -> None:
    big = {"accounts": [{"account_id": str(i), "industry": "x" * 100} for i in range(3000)]}
    assert_error(
        client.post("/v1/score", headers=auth(keys["read"]), json=big), 413, "payload_too_large"
    )
    # a streamed body without Content-Length is counted too
    chunks = (b"x" * 50_000 for _ in range(10))
    response = client.post("/v1/score", headers=auth(keys["read"]), content=chunks)
    assert_error(response, 413, "payload_too_large")


def test_rate_limit_is_per_key_with_retry_after(
    tmp_path: Path, workspace: Path, keys: dict[str, str]
) -> None:
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    set_web(copy, rate_burst=3, rate_per_minute=6)
    client = TestClient(create_app(copy), raise_server_exceptions=False)
    h = auth(keys["read"])
    assert [client.get("/v1/versions", headers=h).status_code for _ in range(3)] == [200] * 3
    response = client.get("/v1/versions", headers=h)
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 10
    assert client.get("/v1/versions", headers=auth(keys["write"])).status_code == 200


def test_token_bucket_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("k") == pytest.approx(1.0)
    now[0] = 1.0
    assert limiter.take("k") == 0.0


def test_cors_is_off_unless_configured(client: TestClient) -> None:
    response = client.options(
        "/v1/profile",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_logs_name_routes_not_accounts(
    client: TestClient, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="icpkit.web"):
        client.get("/v1/accounts?q=Sons", headers=auth(keys["read"]))
        client.get("/?q=Sons", headers=auth(keys["read"]))
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "/v1/accounts" in text
    assert "Sons" not in text and keys["read"] not in text


# ----------------------------------------------------------------------------- keys


def test_keys_are_stored_hashed_and_revocable(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key, record = store.create("read", "rep")
    stored = store.path.read_text()
    assert key not in stored and key.split("_")[-1] not in stored
    assert store.verify(key) == record
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    store.revoke(record.key_id)
    assert store.verify(key) is None


def test_keys_cli_create_list_revoke(workspace: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    copy = tmp_path / "ws"
    copy.mkdir()
    shutil.copy(workspace / "icpkit.toml", copy / "icpkit.toml")
    made = runner.invoke(cli, ["keys", "create", "-w", str(copy), "--scope", "write"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    key_id = key.split("_")[1]
    listed = runner.invoke(cli, ["keys", "list", "-w", str(copy)])
    assert key_id in listed.stdout and "write" in listed.stdout and key not in listed.stdout
    assert runner.invoke(cli, ["keys", "revoke", key_id, "-w", str(copy)]).exit_code == 0
    assert "revoked" in runner.invoke(cli, ["keys", "list", "-w", str(copy)]).stdout
    bad = runner.invoke(cli, ["keys", "create", "-w", str(copy), "--scope", "admin"])
    assert bad.exit_code != 0


# ----------------------------------------------------------------------------- pages


def test_pages_need_login_and_the_cookie_is_strict(
    client: TestClient, keys: dict[str, str]
) -> None:
    fresh = TestClient(client.app, raise_server_exceptions=False)
    response = fresh.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert fresh.post("/login", data={"key": "icpk_bad_key"}).status_code == 401
    response = fresh.post("/login", data={"key": keys["read"]}, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert fresh.get("/").status_code == 200


def test_html_in_account_names_is_escaped_in_every_page(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    h = {**auth(keys["write"]), "Accept": "text/html"}
    account = first_account(workspace)
    csv = f"account_id,name,industry\nz1,{EVIL.replace('&', 'and')},Software\n".encode()
    pages = [
        client.get("/?q=Sons", headers=h),
        client.get(f"/accounts/{account}", headers=h),
        client.post("/upload", headers=h, files={"file": ("list.csv", csv, "text/csv")}),
        client.get("/?q=<script>", headers=h),
    ]
    for page in pages:
        assert page.status_code == 200, page.text[:300]
        assert "<script>" not in page.text
    assert "&lt;script&gt;" in pages[0].text and "&lt;script&gt;" in pages[1].text
    assert "&lt;script&gt;" in pages[2].text


def test_upload_scores_a_list_and_keeps_it_in_the_workspace(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    csv = pl.read_csv(workspace / "accounts.csv").head(20).write_csv().encode()
    response = client.post(
        "/v1/uploads",
        headers=auth(keys["write"]),
        files={"file": ("prospects.csv", csv, "text/csv")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == body["download"]
    assert body["n"] == 20
    scored = client.get(body["download"], headers=auth(keys["read"]))
    table = pl.read_csv(scored.content)
    assert {"tier", "fit_score", "reasons"} <= set(table.columns) and table.height == 20
    token = body["download"].rsplit("/", 1)[-1]
    assert (workspace / ".icpkit" / "uploads" / f"{token}.csv").exists()
    assert_error(
        client.get("/v1/uploads/..%2F..%2Ficpkit.toml", headers=auth(keys["read"])),
        404,
        "not_found",
    )


@pytest.mark.parametrize(
    "name", ["../../evil.csv", "..\\evil.csv", "/etc/passwd", "a/b.csv", "x.exe"]
)
def test_path_traversal_in_upload_names_is_refused(
    client: TestClient, keys: dict[str, str], workspace: Path, name: str
) -> None:
    files = {"file": (name, b"account_id,industry\n1,Software\n", "text/csv")}
    response = client.post("/v1/uploads", headers=auth(keys["write"]), files=files)
    assert_error(response, 400, "bad_request")
    assert not (workspace.parent / "evil.csv").exists()


def test_revops_page_shows_versions_drift_and_the_report(
    client: TestClient, keys: dict[str, str]
) -> None:
    page = client.get("/revops", headers=auth(keys["read"]))
    assert page.status_code == 200
    assert "v1" in page.text and "Does it still hold?" in page.text
    assert any(v in page.text for v in ("KEEP", "REVIEW", "REBUILD", "CANNOT TELL"))
    assert "Data quality" in page.text and "accounts" in page.text.split("Data quality")[1]
    report = client.get("/revops/report", headers=auth(keys["read"]))
    assert report.status_code == 200 and "<html" in report.text.lower()


# ----------------------------------------------------------------------------- feedback from the field


def test_a_rep_disputes_a_tier_and_revops_sees_it(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    account = first_account(workspace)
    shown = client.get(f"/v1/accounts/{account}", headers=auth(keys["read"])).json()
    claimed = "Non-fit" if shown["tier"] != "Non-fit" else "Tier 1"
    body = {"account_id": account, "claimed_tier": claimed,
            "reason": "They signed with a rival; call ann@corp.example or +44 20 7946 0958"}  # fmt: skip
    assert_error(client.post("/v1/feedback", json=body), 401, "unauthorized")
    # a rep's read key may give feedback: it is how the field talks back, not an upload or build
    response = client.post("/v1/feedback", headers=auth(keys["read"]), json=body)
    assert response.status_code == 201, response.text
    saved = response.json()
    assert saved["tier_shown"] == shown["tier"] and saved["tier_claimed"] == claimed
    assert saved["disputed"] and saved["version"] == shown["version"]
    assert saved["by_key"] == keys["read"].split("_")[1]
    assert saved["criteria_met"] == shown["criteria_met"]
    stored = (workspace / ".icpkit" / "feedback.jsonl").read_text()
    assert "ann@corp" not in stored and "7946" not in stored and "[email]" in stored
    listed = client.get("/v1/feedback", headers=auth(keys["read"])).json()
    assert listed["entries"][0]["id"] == saved["id"]
    tiers = {t["tier"]: t for t in listed["summary"]["tiers"]}
    assert tiers[shown["tier"]]["n_disputed"] >= 1
    page = client.get("/revops", headers=auth(keys["read"]))
    assert "Feedback from the field" in page.text and "[email]" in page.text
    assert "ann@corp" not in page.text


def test_feedback_refuses_unknown_tiers_and_accounts(
    client: TestClient, keys: dict[str, str]
) -> None:
    h = auth(keys["write"])
    bad = {"account_id": "x", "claimed_tier": "Tier 9", "reason": ""}
    error = assert_error(client.post("/v1/feedback", headers=h, json=bad), 422, "invalid_input")
    assert error["details"][0]["field"] == "body.claimed_tier"
    missing = {"account_id": "no-such-account", "claimed_tier": "Tier 1"}
    assert_error(client.post("/v1/feedback", headers=h, json=missing), 404, "not_found")
    long = {"account_id": "x", "claimed_tier": "Tier 1", "reason": "x" * 1001}
    assert_error(client.post("/v1/feedback", headers=h, json=long), 422, "invalid_input")


def test_the_account_page_form_saves_a_rep_s_verdict(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    account = first_account(workspace)
    read_page = client.get(f"/accounts/{account}", headers=auth(keys["read"]))
    assert 'name="claimed_tier"' in read_page.text.split("Is this tier right?")[1]
    before = len(client.get("/v1/feedback", headers=auth(keys["read"])).json()["entries"])
    refused = client.post(
        f"/accounts/{account}/feedback", data={"claimed_tier": "Tier 2"}, follow_redirects=False
    )
    assert refused.status_code == 401
    response = client.post(
        f"/accounts/{account}/feedback",
        headers=auth(keys["read"]),
        data={"claimed_tier": "Tier 2", "reason": "<i>seen it</i>"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "feedback=saved" in response.headers["location"]
    after = client.get("/v1/feedback", headers=auth(keys["read"])).json()
    assert len(after["entries"]) == before + 1
    page = client.get(response.headers["location"], headers=auth(keys["write"]))
    assert "verdict is saved" in page.text and 'name="claimed_tier"' in page.text
    revops = client.get("/revops", headers=auth(keys["read"])).text
    assert "&lt;i&gt;seen it" in revops and "<i>seen it" not in revops


# ----------------------------------------------------------------------------- builds from the web


def test_one_build_at_a_time_with_progress(
    workspace: Path, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    release = threading.Event()
    reached = threading.Event()

    def fake_build(ws: Any, note: str = "", *, progress: Any = None, **_: Any) -> Any:
        progress("loading")
        progress("discovery")
        reached.set()
        release.wait(20)
        return 7, None

    monkeypatch.setattr(pipeline, "build_and_save", fake_build)
    monkeypatch.setattr(Builds, "separate_process", False)  # the fake build is in this process
    client = TestClient(create_app(workspace), raise_server_exceptions=False)
    assert_error(client.post("/v1/builds", headers=auth(keys["read"])), 403, "forbidden")
    started = client.post("/v1/builds", headers=auth(keys["write"]))
    assert started.status_code == 202, started.text
    job = started.json()["id"]
    assert started.headers["location"] == f"/v1/builds/{job}"
    assert reached.wait(10)
    status = client.get(f"/v1/builds/{job}", headers=auth(keys["read"])).json()
    assert status["status"] == "running" and status["stage"] == "discovery"
    assert status["progress"] == pytest.approx(
        pipeline.BUILD_STAGES.index("discovery") / len(pipeline.BUILD_STAGES), abs=1e-3
    )
    error = assert_error(client.post("/v1/builds", headers=auth(keys["write"])), 409, "conflict")
    assert job in error["message"]
    page = client.get("/revops", headers=auth(keys["write"])).text
    assert "<progress" in page and "build.js" in page and 'http-equiv="refresh"' in page
    release.set()
    client.app.state.service.builds.wait(300)
    done = client.get(f"/v1/builds/{job}", headers=auth(keys["read"])).json()
    assert (done["status"], done["version"], done["progress"]) == ("done", 7, 1.0)
    assert "version 7 saved" in client.get("/revops", headers=auth(keys["write"])).text
    restarted = TestClient(create_app(workspace), raise_server_exceptions=False)
    again = restarted.get(f"/v1/builds/{job}", headers=auth(keys["read"])).json()
    assert (again["status"], again["version"]) == ("done", 7), "a restart forgot the build"
    assert_error(client.get("/v1/builds/nope", headers=auth(keys["read"])), 404, "not_found")
    assert client.get("/static/build.js", headers=auth(keys["read"])).status_code == 200


def test_a_failed_build_reports_why_without_paths(
    workspace: Path, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from icpkit.errors import InsufficientDataError

    def failing(ws: Any, note: str = "", **_: Any) -> Any:
        raise InsufficientDataError(f"{workspace}/accounts.csv has too few outcomes")

    monkeypatch.setattr(pipeline, "build_and_save", failing)
    monkeypatch.setattr(Builds, "separate_process", False)
    client = TestClient(create_app(workspace), raise_server_exceptions=False)
    job = client.post("/v1/builds", headers=auth(keys["write"])).json()["id"]
    client.app.state.service.builds.wait(300)
    done = client.get(f"/v1/builds/{job}", headers=auth(keys["read"])).json()
    assert done["status"] == "failed" and "too few outcomes" in done["error"]
    assert str(workspace) not in done["error"]


def test_the_next_build_reports_the_feedback(
    tmp_path: Path, workspace: Path, keys: dict[str, str]
) -> None:
    """A real build from the web, after reps' verdicts: the new version's profile and report
    carry the agreement per tier."""
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    (copy / ".icpkit" / "feedback.jsonl").unlink(missing_ok=True)
    client = TestClient(create_app(copy), raise_server_exceptions=False)
    h = auth(keys["write"])
    ids = pl.read_csv(copy / "accounts.csv", infer_schema_length=0)["account_id"][:3].to_list()
    shown = [client.get(f"/v1/accounts/{a}", headers=h).json()["tier"] for a in ids]
    for account, tier, agree in zip(ids, shown, (True, False, False), strict=True):
        claimed = tier if agree else ("Non-fit" if tier != "Non-fit" else "Tier 1")
        body = {"account_id": account, "claimed_tier": claimed, "reason": "field view"}
        assert client.post("/v1/feedback", headers=h, json=body).status_code == 201
    job = client.post("/v1/builds", headers=h).json()["id"]
    client.app.state.service.builds.wait(300)
    done = client.get(f"/v1/builds/{job}", headers=h).json()
    assert done["status"] == "done", done
    profile = client.get(f"/v1/profile?version={done['version']}", headers=h).json()["profile"]
    feedback = profile["feedback"]
    assert feedback["n_reviewed"] == 3 and feedback["versions"] == [1]
    assert sum(t["n_agreed"] for t in feedback["tiers"]) == 1
    assert sum(t["n_disputed"] for t in feedback["tiers"]) == 2
    report = client.get("/revops/report", headers=h).text
    assert "Feedback from the field" in report and "Agreement per tier shown" in report


# ----------------------------------------------------------------------------- personas, talking points, why now


def test_the_account_says_whom_to_reach_what_to_say_and_why_now(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    account = first_account(workspace)
    body = client.get(f"/v1/accounts/{account}", headers=auth(keys["read"])).json()
    profile = client.get("/v1/profile", headers=auth(keys["read"])).json()["profile"]
    assert profile["personas"] and profile["messaging"] and profile["signals"]["available"]
    winners = [
        p["persona"]
        for p in profile["personas"]["personas"]
        if p["significant"] and (p["lift"] or 0) > 1
    ]
    assert [p["persona"] for p in body["personas"]] == winners[: len(body["personas"])]
    assert body["personas"] and all(isinstance(p["has_contact"], bool) for p in body["personas"])
    audiences = [t["audience"] for t in body["talking_points"]]
    if body["tier"] == "Non-fit":
        assert audiences == []  # a Non-fit account is not pitched
    else:
        assert body["tier"] in audiences or not any(
            t["audience"] == body["tier"] for t in profile["messaging"]["tiers"]
        )
    by_name = {p["persona"]: p for p in profile["personas"]["personas"]}
    assert all(p["evidence"] == by_name[p["persona"]] for p in body["personas"])
    why = body["why_now"]
    assert why["intent"] in ("hot", "warm", "cold") and why["triggers"]
    types = {t["type"]: t for t in profile["signals"]["types"]}
    assert all(t["evidence"] == types[t["type"]] for t in why["triggers"])
    page = client.get(f"/accounts/{account}", headers=auth(keys["read"])).text
    for heading in ("Who to reach", "Talking points", "Why now"):
        assert heading in page
    assert body["personas"][0]["persona"] in page


def test_an_account_without_a_contact_of_a_winning_persona_is_told_to_find_one(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    contacts = pl.read_csv(workspace / "contacts.csv", infer_schema_length=0)
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)
    lonely = accounts.filter(~pl.col("account_id").is_in(contacts["account_id"].implode()))
    assert lonely.height, "the synthetic CRM has accounts without contacts"
    body = client.get(f"/v1/accounts/{lonely['account_id'][0]}", headers=auth(keys["read"])).json()
    assert body["personas"] and not any(p["has_contact"] for p in body["personas"])


# ----------------------------------------------------------------------------- lookalikes


def test_lookalikes_need_a_universe_and_rank_it(
    client: TestClient, tmp_path: Path, workspace: Path, keys: dict[str, str]
) -> None:
    error = assert_error(client.get("/v1/lookalikes", headers=auth(keys["read"])), 404, "not_found")
    assert "universe" in error["message"] and "[web]" in error["message"]
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    universe = pl.read_csv(copy / "accounts.csv", infer_schema_length=0).head(120)
    universe = universe.with_columns(
        ("U" + pl.col("account_id")).alias("account_id"),
        ("new-" + pl.col("domain")).alias("domain"),
        ("Prospect " + pl.int_range(pl.len()).cast(pl.Utf8)).alias("name"),
    )
    universe.write_csv(copy / "universe.csv")
    set_web(copy, universe="universe.csv")
    fresh = TestClient(create_app(copy), raise_server_exceptions=False)
    body = fresh.get("/v1/lookalikes?top=5", headers=auth(keys["read"])).json()
    assert body["n"] == 5 and [t["rank"] for t in body["targets"]] == [1, 2, 3, 4, 5]
    assert all(t["account_id"].startswith("U") and t["tier"] for t in body["targets"])
    set_web(copy, universe="../outside.csv")
    outside = TestClient(create_app(copy), raise_server_exceptions=False)
    assert outside.get("/v1/lookalikes", headers=auth(keys["read"])).status_code == 422


# ----------------------------------------------------------------------------- score with export headers

HUBSPOT = {
    "account_id": "Record ID",
    "name": "Company name",
    "domain": "Company Domain Name",
    "industry": "Industry",
    "employees": "Number of Employees",
    "annual_revenue": "Annual Revenue",
    "country": "Country/Region",
    "tech_stack": "Technologies",
}


@pytest.fixture(scope="module")
def hubspot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose accounts file is a HubSpot-style export (HubSpot headers, mapped)."""
    root = tmp_path_factory.mktemp("hubspot")
    datasets.make_crm(300, seed=5).write_workspace(root)
    accounts = pl.read_csv(root / "accounts.csv", infer_schema_length=0)
    accounts.select([c for c in HUBSPOT if c in accounts.columns]).rename(
        {k: v for k, v in HUBSPOT.items() if k in accounts.columns}
    ).write_csv(root / "accounts.csv")
    config = {
        "name": "hubspot",
        "sources": {
            "accounts": {"path": "accounts.csv", "columns": HUBSPOT},
            "deals": {"path": "deals.csv"},
        },
    }
    (root / "icpkit.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    pipeline.build_and_save(pipeline.Workspace.open(root), note="hubspot")
    return root


def test_score_takes_the_exports_own_headers(hubspot: Path) -> None:
    key, _ = KeyStore(hubspot).create("read")
    client = TestClient(create_app(hubspot), raise_server_exceptions=False)
    export = pl.read_csv(hubspot / "accounts.csv", infer_schema_length=0).head(4)
    records = export.to_dicts()
    expected = [
        client.get(f"/v1/accounts/{r['Record ID']}", headers=auth(key)).json() for r in records
    ]
    for query in ("?map=true", ""):  # asked for, and detected from the headers
        response = client.post(f"/v1/score{query}", headers=auth(key), json={"accounts": records})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["mapped"] is True
        scored = body["accounts"]
        assert [s["Record ID"] for s in scored] == [r["Record ID"] for r in records]
        assert [s["Company name"] for s in scored] == [r["Company name"] for r in records]
        assert [s["fit_score"] for s in scored] == [e["fit_score"] for e in expected]
        assert [s["tier"] for s in scored] == [e["tier"] for e in expected]
    plain = client.post("/v1/score?map=false", headers=auth(key), json={"accounts": records})
    assert plain.status_code == 200 and plain.json()["mapped"] is False
    assert plain.json()["missing_columns"]  # the canonical names are absent


def test_a_reload_forgets_what_was_compiled_against_the_old_data(
    client: TestClient, keys: dict[str, str]
) -> None:
    """The record scorer is compiled against the accounts' schema and the PII scrubber from the
    contacts: a build that reads newer files must not leave them behind."""
    service = client.app.state.service
    one = {"accounts": [{"account_id": "x", "employees": 40}]}
    assert client.post("/v1/score", headers=auth(keys["read"]), json=one).status_code == 200
    service.scrubber()
    assert service._fast and service._scrubber is not None
    service.reload()
    assert not service._fast and service._scrubber is None


# ----------------------------------------------------------------------------- API conventions


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def test_every_v1_success_has_a_response_schema(client: TestClient, keys: dict[str, str]) -> None:
    """Walk /openapi.json: each 2xx of /v1 declares content whose schema is a typed object (or
    the CSV download), and the key schemes are declared and required."""
    spec = client.get("/openapi.json", headers=auth(keys["read"])).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["apiKey"]["name"] == "X-API-Key"
    seen = 0
    for path, methods in spec["paths"].items():
        if not path.startswith("/v1"):
            continue
        for method, operation in methods.items():
            assert operation.get("security"), f"{method} {path} declares no key"
            successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
            assert successes, f"{method} {path}"
            for status, response in successes.items():
                content = response.get("content") or {}
                assert content, f"{method} {path} {status} has no content"
                for media, body in content.items():
                    schema = _resolve(spec, body.get("schema") or {})
                    if media == "text/csv":
                        assert schema.get("type") == "string"
                        continue
                    assert schema.get("type") == "object" and schema.get("properties"), (
                        f"{method} {path} {status}: untyped response {schema}"
                    )
                    seen += 1
    assert seen >= 14


def test_malformed_parameters_are_400_and_name_no_path(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    h = auth(keys["read"])
    account = first_account(workspace)
    for url in ("/v1/profile?version=abc", "/v1/drift?version=v3x", "/v1/diff?a=abc",
                f"/v1/accounts/{account}?version=../x", "/v1/accounts?limit=abc",
                "/v1/accounts?offset=-1", "/v1/feedback?limit=0", "/v1/profile?version=v٣"):  # fmt: skip
        error = assert_error(client.get(url, headers=h), 400, "bad_request")
        assert str(workspace) not in error["message"]
    missing = assert_error(client.get("/v1/profile?version=99", headers=h), 404, "no_version")
    assert ".icpkit" not in missing["message"] or str(workspace) not in missing["message"]


def test_accounts_list_pages_with_a_total(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["read"])
    first = client.get("/v1/accounts", headers=h).json()
    assert first["total"] == 500 and len(first["accounts"]) == 25 and first["offset"] == 0
    scores = [a["fit_score"] for a in first["accounts"]]
    assert scores == sorted(scores, reverse=True)
    page = client.get("/v1/accounts?limit=40&offset=480", headers=h).json()
    assert len(page["accounts"]) == 20 and page["total"] == 500
    everyone = client.get("/v1/accounts?limit=500", headers=h).json()["accounts"]
    assert len({a["account_id"] for a in everyone}) == 500
    assert [a["account_id"] for a in everyone[480:]] == [a["account_id"] for a in page["accounts"]]


def test_search_counts_every_match_and_pages(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    h = auth(keys["read"])
    names = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)["name"]
    words = names.str.to_lowercase().str.extract_all(r"[a-z]{4,}").explode()
    word = str(words.value_counts(sort=True)[0, 0])
    expected = int(names.str.to_lowercase().str.contains(word.lower(), literal=True).sum())
    assert expected > 25, word
    body = client.get(f"/v1/accounts?q={word}", headers=h).json()
    assert body["total"] >= expected and len(body["accounts"]) == 25
    rest = client.get(f"/v1/accounts?q={word}&offset=25&limit=500", headers=h).json()
    ids = [a["account_id"] for a in body["accounts"] + rest["accounts"]]
    assert len(ids) == len(set(ids)) == body["total"]
    page = client.get(f"/?q={word}", headers=h).text
    assert f"25 of {body['total']}" in page


def test_search_tolerates_typos_and_reads_urls_and_emails_as_domains(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    h = auth(keys["read"])
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)
    row = accounts.filter(
        pl.col("name").str.contains(r"\w{7,}") & ~pl.col("name").str.contains("<")
    )
    row = row.row(0, named=True)
    word = next(w for w in row["name"].split() if len(w) >= 7 and w.isalpha())
    typo = word[:3] + word[4:]  # one letter dropped: "Quantum" -> "Quatum"
    found = client.get(f"/v1/accounts?q={typo}&limit=500", headers=h).json()
    assert row["account_id"] in [a["account_id"] for a in found["accounts"]], (typo, row["name"])
    quantum = accounts.filter(pl.col("name").str.to_lowercase().str.starts_with("quantum"))
    found = client.get("/v1/accounts?q=quantm&limit=500", headers=h).json()
    assert quantum.height and set(quantum["account_id"]) <= {
        a["account_id"] for a in found["accounts"]
    }
    domain = row["domain"]
    for pasted in (f"https://www.{domain}/pricing?x=1", f"someone@{domain}", f"www.{domain}"):
        body = client.get("/v1/accounts", params={"q": pasted}, headers=h).json()
        assert body["query"] == domain.lower()
        assert row["account_id"] in [a["account_id"] for a in body["accounts"]]


def test_an_account_id_with_a_slash_is_found_and_opens(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    h = auth(keys["read"])
    ids = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)["account_id"]
    slashed = next(i for i in ids if "/" in i)
    hits = client.get("/v1/accounts", params={"q": slashed}, headers=h).json()["accounts"]
    assert hits[0]["account_id"] == slashed
    assert client.get(f"/v1/accounts/{slashed}", headers=h).json()["account_id"] == slashed
    encoded = slashed.replace("/", "%2F")
    assert client.get(f"/v1/accounts/{encoded}", headers=h).json()["account_id"] == slashed
    page = client.get(f"/accounts/{slashed}", headers=h)
    assert page.status_code == 200 and slashed in page.text
    saved = client.post(
        f"/accounts/{slashed}/feedback", headers=h, data={"claimed_tier": "Tier 2"},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303


def test_non_finite_and_boolean_numbers_are_missing_values(
    client: TestClient, keys: dict[str, str]
) -> None:
    h = {**auth(keys["read"]), "Content-Type": "application/json"}

    def score(employees: str) -> dict[str, Any]:
        body = ('{"accounts": [{"account_id": "x", "industry": "Software", "employees": '
                + employees + "}]}")  # fmt: skip
        response = client.post("/v1/score", headers=h, content=body.encode())
        assert response.status_code == 200, response.text
        account: dict[str, Any] = response.json()["accounts"][0]
        return account

    missing = score("null")
    for odd in ("1e400", "-1e400", "Infinity", "NaN", "true", "false", "1" + "0" * 40):
        got = score(odd)
        assert (got["fit_score"], got["reasons"]) == (missing["fit_score"], missing["reasons"]), odd
    assert (
        score("5000")["reasons"] != missing["reasons"]
        or score("5")["reasons"] != missing["reasons"]
    )


def test_feedback_has_a_location_and_is_stored_once(
    tmp_path: Path, workspace: Path, keys: dict[str, str]
) -> None:
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    (copy / ".icpkit" / "feedback.jsonl").unlink(missing_ok=True)
    client = TestClient(create_app(copy), raise_server_exceptions=False)
    h = auth(keys["write"])
    body = {"account_id": first_account(copy), "claimed_tier": "Tier 3", "reason": "too small"}
    answers = [client.post("/v1/feedback", headers=h, json=body) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert len({a.json()["id"] for a in answers}) == 1
    location = answers[0].headers["location"]
    assert client.get(location, headers=h).json()["id"] == answers[0].json()["id"]
    assert client.get("/v1/feedback", headers=h).json()["n"] == 1
    other = client.post("/v1/feedback", headers=h, json={**body, "reason": "too big"})
    assert other.status_code == 201 and client.get("/v1/feedback", headers=h).json()["n"] == 2
    assert_error(client.get("/v1/feedback/nope", headers=h), 404, "not_found")


def test_an_idempotency_key_returns_the_first_answer_even_after_a_restart(
    tmp_path: Path, workspace: Path, keys: dict[str, str]
) -> None:
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    (copy / ".icpkit" / "feedback.jsonl").unlink(missing_ok=True)
    h = {**auth(keys["write"]), "Idempotency-Key": "order-42"}
    body = {"account_id": first_account(copy), "claimed_tier": "Tier 3", "reason": "k"}
    client = TestClient(create_app(copy), raise_server_exceptions=False)
    first = client.post("/v1/feedback", headers=h, json=body)
    assert first.status_code == 201
    restarted = TestClient(create_app(copy), raise_server_exceptions=False)
    again = restarted.post("/v1/feedback", headers=h, json=body)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    reused = restarted.post("/v1/feedback", headers=h, json={**body, "reason": "other"})
    assert_error(reused, 422, "idempotency_key_reused")
    assert restarted.get("/v1/feedback", headers=h).json()["n"] == 1
    bad = restarted.post("/v1/feedback", headers={**h, "Idempotency-Key": "é".encode()}, json=body)
    assert bad.status_code == 400
    score = {"accounts": [{"account_id": "a", "industry": "Software"}]}
    one = restarted.post("/v1/score", headers={**h, "Idempotency-Key": "s1"}, json=score)
    two = restarted.post("/v1/score", headers={**h, "Idempotency-Key": "s1"}, json=score)
    assert one.json() == two.json() and two.headers["idempotent-replayed"] == "true"


def test_a_build_holding_the_lock_is_running_for_every_worker(tmp_path: Path) -> None:
    """Another worker's build process holds the lock: this worker neither starts a second build
    nor calls the running one stopped; once the lock is free, a new server does."""
    import fcntl

    from icpkit.web.builds import LOCK, STOPPED, BuildBusy, Builds

    folder = tmp_path / ".icpkit" / "web" / "builds"
    folder.mkdir(parents=True)
    job = {"id": "0123456789abcdef", "status": "running", "stage": "discovery", "progress": 0.4,
           "started_at": "2026-01-01T00:00:00+00:00", "by_key": "k1"}  # fmt: skip
    (folder / "0123456789abcdef.json").write_text(json.dumps(job), encoding="utf-8")
    with (folder / LOCK).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        builds = Builds(tmp_path)
        assert builds.get("0123456789abcdef").status == "running"
        with pytest.raises(BuildBusy, match="0123456789abcdef is running"):
            builds.start("k2")
    assert Builds(tmp_path).get("0123456789abcdef").error == STOPPED


def test_a_build_process_that_fails_says_why(tmp_path: Path) -> None:
    """The build runs in its own process; an empty workspace fails there and the status says so."""
    from icpkit.web.builds import Builds

    (tmp_path / "icpkit.toml").write_text("", encoding="utf-8")
    builds = Builds(tmp_path)
    job = builds.start("k1")
    builds.wait(120)
    done = builds.get(job.id)
    assert done.status == "failed" and done.error, done
    assert str(tmp_path) not in done.error
    again = builds.start("k1")  # the lock went with the process
    builds.wait(120)
    assert builds.get(again.id).status == "failed"


def test_a_build_running_when_the_server_stopped_reads_as_failed(tmp_path: Path) -> None:
    from icpkit.web.builds import STOPPED, Builds

    folder = tmp_path / ".icpkit" / "web" / "builds"
    folder.mkdir(parents=True)
    job = {"id": "0123456789abcdef", "status": "running", "stage": "discovery", "progress": 0.4,
           "started_at": "2026-01-01T00:00:00+00:00", "by_key": "k1"}  # fmt: skip
    (folder / "0123456789abcdef.json").write_text(json.dumps(job), encoding="utf-8")
    (folder / "ffffffffffffffff.json").write_text("{damaged", encoding="utf-8")
    builds = Builds(tmp_path)
    got = builds.get("0123456789abcdef")
    assert (got.status, got.error) == ("failed", STOPPED)
    assert builds.running() is None


def test_the_api_reads_typed_sections_not_the_report_views() -> None:
    """The web edge imports nothing from icpkit.report but its SVG drawing functions
    (``icpkit.report.svg``, which take numbers, not views): a report column renamed cannot
    change it."""
    import ast

    def banned(module: str) -> bool:
        return module.startswith("icpkit.report") and module != "icpkit.report.svg"

    folder = Path(__file__).parent.parent / "src" / "icpkit" / "web"
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not banned(node.module or ""), path.name
            elif isinstance(node, ast.Import):
                assert not any(banned(a.name) for a in node.names), path.name


@pytest.mark.parametrize("data", [b"a\rb,c\n1,2\n", b'a"\rb\n', b"\r", b"x\r\ry"])
def test_a_carriage_return_in_an_uploaded_header_is_an_answer_not_a_500(
    client: TestClient, keys: dict[str, str], data: bytes
) -> None:
    """Schemathesis: a lone CR in the header line made the CSV sniffer raise (a 500)."""
    response = client.post(
        "/v1/uploads", files={"file": ("file", data)}, headers=auth(keys["write"])
    )
    assert response.status_code in (201, 422), response.text
    assert "Traceback" not in response.text


# ----------------------------------------------------------------------------- bands (issue 27)


def test_score_gives_the_calibrated_score_and_band_of_the_workspace(
    client: TestClient, keys: dict[str, str], workspace: Path
) -> None:
    from icpkit.scoring.bands import BandScale, calibrate
    from icpkit.scoring.tiers import cuts_of

    ws = pipeline.Workspace.open(workspace)
    cuts = cuts_of(ws.store.get("latest").profile().tiers)
    records = [{"account_id": f"b{i}", "employees": e} for i, e in enumerate((5, 250, 5000))]
    fast = client.post("/v1/score", headers=auth(keys["read"]), json={"accounts": records})
    assert fast.status_code == 200, fast.text
    for row in fast.json()["accounts"]:
        read = calibrate(pl.Series([row["fit_score"]]).to_numpy(), cuts, BandScale())
        assert row["calibrated_score"] == int(read.calibrated[0])
        assert row["fit_band"] == read.labels[0]


def test_every_worker_loads_the_accounts_again_after_another_one_built(
    workspace: Path, tmp_path: Path
) -> None:
    """Two server workers on one workspace: the data one worker loaded is not kept once the
    version store changed under it (a build or a promotion from another worker or a shell)."""
    import shutil

    from icpkit.web.service import Service

    root = tmp_path / "ws"
    shutil.copytree(workspace, root, ignore=shutil.ignore_patterns("web"))
    worker = Service(root)
    before = worker.accounts().height
    loaded = worker.crm()
    other = Service(root)  # another worker (or `icpkit promote` in a shell) writes the store
    store = other.workspace.store
    store.set_live(store.latest().version, action="promote")
    assert worker.crm() is loaded  # the store changed over the same files: nothing read again
    accounts = pl.read_csv(root / "accounts.csv", infer_schema_length=0)
    accounts.head(before - 7).write_csv(root / "accounts.csv")
    assert worker.accounts().height == before  # nothing saved yet: the loaded tables stand
    store.set_live(store.latest().version, action="promote")
    assert worker.accounts().height == before - 7
    assert worker.scored()[1].height == before - 7


def test_a_web_build_process_yields_the_cpu_to_the_workers() -> None:
    """lower_priority lowers every thread of the process, those the imports started before it
    (OpenBLAS's) and those started after; 0 changes nothing."""
    import subprocess
    import sys

    script = (
        "import os, threading, time\n"
        "from icpkit.web.builds import lower_priority\n"
        "ready = threading.Event(); done = threading.Event(); seen = {}\n"
        "def early():\n"
        "    seen['early_tid'] = threading.get_native_id(); ready.set(); done.wait(5)\n"
        "t = threading.Thread(target=early); t.start(); ready.wait(5)\n"
        "base = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "lower_priority(0)\n"
        "same = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "lower_priority(5)\n"
        "late = {}\n"
        "def after(): late['p'] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())\n"
        "u = threading.Thread(target=after); u.start(); u.join()\n"
        "print(base, same, os.getpriority(os.PRIO_PROCESS, 0),"
        " os.getpriority(os.PRIO_PROCESS, seen['early_tid']), late['p'])\n"
        "done.set(); t.join()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    base, same, main_after, early_after, late_after = map(int, out)
    assert same == base
    assert main_after == early_after == late_after == min(19, base + 5)
