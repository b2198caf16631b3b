"""The HTTP API under hostile input, beyond Schemathesis's schema cases: random bytes under every
content type, huge and deeply nested JSON, unicode digits and path segments in every id and
version, and concurrent posts (feedback, builds, uploads, key changes) from threads.

The only allowed answers are a success or the one error shape below 500; no body may hold a
traceback, a server path or a contact's personal data; nothing concurrent may be lost or doubled;
no file outside the workspace's ``.icpkit/`` may appear, change or vanish. The default suite runs
a few examples per property; the slow run (``-m slow``) many more.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icpkit import pipeline
from icpkit.web.app import create_app
from icpkit.web.keys import KeyStore
from test_web import make_workspace, set_web

FAST = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
POSTS = ("/v1/score", "/v1/feedback", "/v1/builds", "/v1/uploads", "/v1/score?map=true")
CONTENT_TYPES = ("application/json", "text/plain", "application/x-www-form-urlencoded",
                 "multipart/form-data; boundary=xyz", "multipart/form-data", "text/csv",
                 "application/json; charset=latin-1", "", "garbage/\x7f")  # fmt: skip
ID_PARTS = ("..", "../..", "%2e%2e%2f", "/", "//", "\\", "\x00", "١٢٣", "٣", "v٣", "𝟙𝟚", "½",
            "%00", "a/b/c", "~root", ".icpkit", "icpkit.toml", " ", "\u202e", "x" * 300)  # fmt: skip
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root: Path = make_workspace(tmp_path_factory.mktemp("fuzz") / "ws")
    set_web(root, rate_burst=1_000_000, rate_per_minute=1e9, max_body_bytes=300_000)
    store = KeyStore(root)
    keys = {scope: store.create(scope)[0] for scope in ("read", "write")}
    contacts = pl.read_csv(root / "contacts.csv", infer_schema_length=0)
    pii = {
        str(v)
        for column in ("name", "email", "phone")
        if column in contacts.columns
        for v in contacts[column].drop_nulls().to_list()
        if len(str(v)) >= 6
    }
    client = TestClient(create_app(root), raise_server_exceptions=False)
    ids = pl.read_csv(root / "accounts.csv", infer_schema_length=0)["account_id"].to_list()
    return {"root": root, "keys": keys, "client": client, "pii": pii, "ids": ids,
            "outside": _snapshot(root)}  # fmt: skip


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file beside and in the workspace but its .icpkit/ folder: size and mtime."""
    found = {}
    for path in root.parent.rglob("*"):
        if path.is_file() and ".icpkit" not in path.relative_to(root.parent).parts:
            st_ = path.stat()
            found[str(path)] = (st_.st_size, st_.st_mtime_ns)
    return found


def clean(world: dict[str, Any], response: Any) -> None:
    """Below 500; errors in the one shape; no traceback, server path or contact data."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    text = response.text
    assert "Traceback" not in text and 'File "' not in text
    assert str(world["root"]) not in text and "site-packages" not in text
    assert "/tmp/" not in text and "/root/" not in text
    leaked = [p for p in world["pii"] if p in text]
    assert not leaked, f"personal data in a response: {len(leaked)} values"
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {
            "status", "code", "message", "details"
        }  # fmt: skip


def auth(world: dict[str, Any], scope: str = "write") -> dict[str, str]:
    return {"Authorization": f"Bearer {world['keys'][scope]}"}


@pytest.fixture(autouse=True)
def release(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """A build from the web runs for real elsewhere; here it must only be started safely: it
    runs until the test sets the event (at most 5 s)."""
    event = threading.Event()

    def fake_build(ws: Any, note: str = "", *, progress: Any = None, **_: Any) -> Any:
        event.wait(5)
        return 1, None

    monkeypatch.setattr(pipeline, "build_and_save", fake_build)
    yield event
    event.set()


# ----------------------------------------------------------------------------- properties


def random_bodies(world: dict[str, Any], examples: settings) -> None:
    world["release"].set()  # builds started by random bodies finish at once

    @examples
    @given(
        path=st.sampled_from(POSTS),
        body=st.binary(max_size=3000),
        content_type=st.sampled_from(CONTENT_TYPES),
    )
    def run(path: str, body: bytes, content_type: str) -> None:
        headers = {**auth(world), "Content-Type": content_type}
        clean(world, world["client"].post(path, content=body, headers=headers))

    run()
    world["client"].app.state.service.builds.wait(300)


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=40,
)


def odd_json(world: dict[str, Any], examples: settings) -> None:
    @examples
    @given(
        path=st.sampled_from(("/v1/score", "/v1/feedback", "/v1/score?map=true")),
        value=JSON,
        wrap=st.booleans(),
        depth=st.sampled_from((0, 50, 5_000, 100_000)),
    )
    def run(path: str, value: Any, wrap: bool, depth: int) -> None:
        body = json.dumps({"accounts": [value]} if wrap else value, allow_nan=True)
        if depth:
            body = "[" * depth + body + "]" * depth
        headers = {**auth(world), "Content-Type": "application/json"}
        clean(world, world["client"].post(path, content=body.encode(), headers=headers))

    run()


def hostile_ids(world: dict[str, Any], examples: settings) -> None:
    part = st.sampled_from(ID_PARTS)
    real = st.sampled_from(world["ids"][:20])

    @examples
    @given(
        pieces=st.lists(st.one_of(part, real, st.text(max_size=8)), min_size=1, max_size=4),
        template=st.sampled_from(
            (
                "/v1/accounts/{}",
                "/v1/accounts/{}?version={}",
                "/v1/builds/{}",
                "/v1/uploads/{}",
                "/v1/feedback/{}",
                "/v1/profile?version={}",
                "/v1/drift?version={}",
                "/v1/diff?a={}&b={}",
                "/v1/accounts?q={}",
                "/accounts/{}",
                "/uploads/{}.csv",
                "/static/{}",
                "/v1/accounts?q={}&limit={}&offset={}",
            )
        ),
    )
    def run(pieces: list[str], template: str) -> None:
        text = "/".join(pieces)
        path, _, query = template.partition("?")
        url = path.replace("{}", quote(text, safe="/%.~"))
        if query:
            url += "?" + query.replace("{}", quote(text, safe=""))
        clean(world, world["client"].get(url, headers=auth(world, "read")))

    run()


@pytest.mark.parametrize("prop", [random_bodies, odd_json, hostile_ids])
def test_hostile_input_gets_a_clean_answer(
    world: dict[str, Any],
    release: threading.Event,
    prop: Callable[[dict[str, Any], settings], None],
) -> None:
    prop({**world, "release": release}, FAST)
    assert _snapshot(world["root"]) == world["outside"], "a file outside .icpkit/ changed"


@pytest.mark.slow
@pytest.mark.parametrize("prop", [random_bodies, odd_json, hostile_ids])
def test_hostile_input_gets_a_clean_answer_many_examples(
    world: dict[str, Any],
    release: threading.Event,
    prop: Callable[[dict[str, Any], settings], None],
) -> None:
    prop({**world, "release": release}, SLOW)
    assert _snapshot(world["root"]) == world["outside"], "a file outside .icpkit/ changed"


# ----------------------------------------------------------------------------- concurrency


def test_concurrent_feedback_is_neither_lost_nor_doubled(world: dict[str, Any]) -> None:
    client: TestClient = world["client"]
    before = client.get("/v1/feedback?limit=1", headers=auth(world)).json()["n"]
    accounts = world["ids"][:6]

    def post(i: int) -> Any:
        account = accounts[i % len(accounts)]
        body = {"account_id": account, "claimed_tier": "Tier 2", "reason": f"thread {i % 12}"}
        return client.post("/v1/feedback", headers=auth(world), json=body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(36)))  # 12 distinct verdicts, each sent 3 times
    for answer in answers:
        clean(world, answer)
    assert sorted(a.status_code for a in answers).count(201) == 12
    after = client.get("/v1/feedback?limit=1", headers=auth(world)).json()["n"]
    assert after - before == 12
    assert len({a.json()["id"] for a in answers}) == 12


def test_concurrent_idempotent_posts_run_once(world: dict[str, Any]) -> None:
    client: TestClient = world["client"]
    before = client.get("/v1/feedback?limit=1", headers=auth(world)).json()["n"]
    body = {"account_id": world["ids"][7], "claimed_tier": "Non-fit", "reason": "idem"}
    headers = {**auth(world), "Idempotency-Key": "fuzz-concurrent-1"}
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: client.post("/v1/feedback", headers=headers, json=body),
                                range(12)))  # fmt: skip
    assert {a.status_code for a in answers} == {201}
    assert len({a.text for a in answers}) == 1
    assert client.get("/v1/feedback?limit=1", headers=auth(world)).json()["n"] == before + 1


def test_concurrent_builds_start_once_and_uploads_all_land(
    world: dict[str, Any], release: threading.Event
) -> None:
    client: TestClient = world["client"]
    client.app.state.service.builds.wait(300)
    with ThreadPoolExecutor(6) as pool:
        builds = list(pool.map(lambda _: client.post("/v1/builds", headers=auth(world)), range(6)))
    release.set()
    for answer in builds:
        clean(world, answer)
    assert sorted(a.status_code for a in builds) == [202] + [409] * 5
    csv = pl.read_csv(world["root"] / "accounts.csv").head(5).write_csv().encode()

    def upload(i: int) -> Any:
        files = {"file": (f"list{i}.csv", csv, "text/csv")}
        return client.post("/v1/uploads", headers=auth(world), files=files)

    with ThreadPoolExecutor(6) as pool:
        uploads = list(pool.map(upload, range(6)))
    assert [a.status_code for a in uploads] == [201] * 6
    downloads = {a.json()["download"] for a in uploads}
    assert len(downloads) == 6
    for link in downloads:
        got = client.get(link, headers=auth(world, "read"))
        assert got.status_code == 200 and got.text.count("\n") >= 5
    client.app.state.service.builds.wait(300)


def test_key_changes_during_requests(world: dict[str, Any]) -> None:
    client: TestClient = world["client"]
    store = KeyStore(world["root"])
    made: list[str] = []
    lock = threading.Lock()

    def churn(i: int) -> None:
        key, record = store.create("read", name=f"temp {i}")
        with lock:
            made.append(record.key_id)
        assert client.get("/v1/versions", headers={"X-API-Key": key}).status_code == 200
        store.revoke(record.key_id)
        refused = client.get("/v1/versions", headers={"X-API-Key": key})
        assert refused.status_code == 401

    def read(_: int) -> None:
        clean(world, client.get("/v1/accounts?limit=5", headers=auth(world, "read")))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: churn(i) if i % 2 else read(i), range(24)))
    listed = {k.key_id: k for k in store.records()}
    assert len(made) == 12 and all(k in listed and not listed[k].active for k in made)
    assert client.get("/v1/versions", headers=auth(world, "read")).status_code == 200
