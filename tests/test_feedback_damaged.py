"""A damaged feedback log and hostile text in reasons and notes (issue 25): one bad line never
stops a build, the API or the RevOps page; escape sequences never reach stored data or reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from icpkit.data.controls import strip_controls
from icpkit.lifecycle.feedback import FeedbackLog, new_entry, summarize
from icpkit.profile import IcpProfile
from icpkit.report.render import ReportInput, render_html, render_markdown

ESCAPES = (
    "\x1b[2J\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07click\x1b]8;;\x07"
    " \x1b]0;title\x1b\\ \x9b1;2H bell\x07 nul\x00 \u202egnp.exe"
)


def good(account: str = "A1", **changes: Any) -> dict[str, Any]:
    entry = new_entry(by_key="k1", by_name="rep", version=2, account_id=account,
                      tier_shown="Tier 1", tier_claimed="Tier 3", reason="too small")  # fmt: skip
    return {**entry.model_dump(exclude={"disputed"}), **changes}


DAMAGED = {
    "version not a number": json.dumps(good(version="abc")),
    "version a bool": json.dumps(good(version=True)),
    "truncated JSON": json.dumps(good())[:40],
    "not an object": json.dumps([good()]),
    "reason not text": json.dumps(good(reason=None)),
    "criteria a string": json.dumps(good(criteria_met="industry = 'x'")),
    "fit score text": json.dumps(good(fit_score="high")),
    "date not a date": json.dumps(good(at="yesterday")),
    "account a number": json.dumps(good(account_id=17)),
    "unknown field": json.dumps(good(extra=1)),
    "no reason": json.dumps({k: v for k, v in good().items() if k != "reason"}),
    "binary": "\x00\xff garbage",
}


@pytest.mark.parametrize("line", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_line_is_skipped_counted_and_the_rest_summarised(
    tmp_path: Path, line: str
) -> None:
    log = FeedbackLog(tmp_path)
    log.path.parent.mkdir(parents=True)
    log.path.write_text(
        "\n".join([json.dumps(good("A1")), line, json.dumps(good("A2"))]) + "\n", "utf-8"
    )
    entries, warnings = log.read()
    assert [e.account_id for e in entries] == ["A1", "A2"]
    assert len(warnings) == 1 and warnings[0].startswith("feedback.jsonl: 1 damaged line skipped")
    section = summarize(entries, warnings=warnings)
    assert section is not None and section.versions == [2] and section.warnings == warnings


def test_many_damaged_lines_make_one_warning(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    log.path.parent.mkdir(parents=True)
    log.path.write_text("\n".join([*DAMAGED.values(), json.dumps(good())]) + "\n", "utf-8")
    entries, warnings = log.read()
    assert len(entries) == 1
    assert len(warnings) == 1
    assert f"{len(DAMAGED)} damaged lines skipped (lines 1, 2, 3" in warnings[0]
    assert "the version is not a number" in warnings[0] and "not JSON" in warnings[0]


def test_strip_controls_removes_whole_escape_sequences() -> None:
    clean = strip_controls(ESCAPES)
    assert clean == "red click   bell nul gnp.exe"
    assert strip_controls("line one\r\nline two\tend") == "line one\nline two\tend"


def test_escapes_in_a_reason_never_reach_the_log_or_the_reports(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    log.append(new_entry(by_key="k1", by_name="rep\x1b[8m", version=1, account_id="A1",
                         tier_shown="Tier 1", tier_claimed="Non-fit", reason=ESCAPES))  # fmt: skip
    stored = log.path.read_text("utf-8")
    with log.path.open("a", encoding="utf-8") as handle:  # one added by hand, escapes and all
        handle.write(json.dumps(good("A2", reason="\x1b[2Jhand", id="x")) + "\n")
    assert "\\u001b" not in stored and "\x1b" not in stored and "[2J" not in stored
    entries, _ = log.read()
    assert [e.reason for e in entries] == ["red click bell nul gnp.exe", "hand"]  # spaces folded
    profile = IcpProfile(statement="Software.").model_copy(update={"feedback": summarize(entries)})
    markdown, _ = render_markdown(ReportInput(profile))
    html = render_html(ReportInput(profile))
    for text in (markdown, html):
        assert "red click" in text and "\x1b" not in text and "\x9b" not in text
        assert "\u202e" not in text and "[2J" not in text


def test_a_build_note_is_stored_without_escapes(tmp_path: Path) -> None:
    from icpkit.lifecycle.store import Store

    store = Store(tmp_path)
    profile = IcpProfile(statement="Software.")
    version = store.save(profile.to_json(), config_hash="x", fingerprint={}, validation=None,
                         note=ESCAPES)  # fmt: skip
    assert store.get(version).note == "red click   bell nul gnp.exe"
    assert all("\x1b" not in v.note for v in store.list())


@pytest.mark.slow  # a build and the web app: seconds on a quiet machine, more on a busy one
def test_a_damaged_log_leaves_build_api_and_revops_page_working(tmp_path: Path) -> None:
    """End to end: the version that is not a number of issue 25 (500s and a crashing build)."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from icpkit import datasets, pipeline
    from icpkit.web.app import create_app
    from icpkit.web.keys import KeyStore

    datasets.make_crm(200, seed=2).write_workspace(tmp_path)
    log = FeedbackLog(tmp_path)
    log.path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(good("A1")), json.dumps(good("A2", version="abc")), '{"id": "cut']
    log.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, result = pipeline.build_and_save(pipeline.Workspace.open(tmp_path))
    section = result.profile.feedback
    assert section is not None and section.n_entries == 1
    assert section.warnings == ["feedback.jsonl: 2 damaged lines skipped (lines 2, 3): "
                                "not JSON (a cut or damaged line); the version is not a number"]  # fmt: skip
    key = {"Authorization": f"Bearer {KeyStore(tmp_path).create('read')[0]}"}
    client = TestClient(create_app(tmp_path), raise_server_exceptions=False)
    listed = client.get("/v1/feedback", headers=key)
    assert listed.status_code == 200 and "damaged" in json.dumps(listed.json())
    assert client.get("/revops", headers=key).status_code == 200
