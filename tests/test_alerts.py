"""Alerts through apprise: a local JSON webhook receives them, with no personal data."""

from __future__ import annotations

import pytest

from icpkit.lifecycle.alerts import ENV_URLS, Alert, alert_urls, scrub, send
from webhook import webhook_receiver


def test_alert_reaches_a_json_webhook_with_title_and_body() -> None:
    with webhook_receiver() as hook:
        delivery = send(
            [Alert("promoted", "v3 is now in use", "held-out AUC 0.71 vs 0.69", "success")],
            [hook.url],
            workspace_name="emea",
        )
    assert delivery.sent == 1 and delivery.failed == [] and delivery.schemes == ["json"]
    assert len(hook.posts) == 1
    post = hook.posts[0]
    assert post["title"] == "[icpkit emea] v3 is now in use"
    assert "AUC 0.71" in post["message"]
    assert hook.paths == ["/hook"]


def test_email_and_phone_shapes_never_leave_the_process() -> None:
    body = "refused: jane.doe@example.com called +1 (415) 555-0100; 12 rows; v4"
    with webhook_receiver() as hook:
        send([Alert("push_refused", "ann@corp.io refused", body)], [hook.url])
    text = hook.texts()[0]
    assert "example.com" not in text and "555-0100" not in text and "ann@corp.io" not in text
    assert "12 rows" in text and "v4" in text  # counts and versions survive
    assert scrub("v12 has 1,234 accounts") == "v12 has 1,234 accounts"


def test_urls_come_from_config_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_URLS, "json://a.example/x, slack://T/B/C  json://a.example/x")
    assert alert_urls(["mailtos://u:p@mail.example"]) == [
        "mailtos://u:p@mail.example",
        "json://a.example/x",
        "slack://T/B/C",
    ]


def test_a_bad_url_is_reported_not_raised_and_never_echoed() -> None:
    delivery = send([Alert("rejected", "t", "b")], ["nosuchscheme://secret-token@x"])
    assert delivery.sent == 0
    assert delivery.failed and all("secret-token" not in f for f in delivery.failed)


def test_no_alerts_or_no_urls_send_nothing() -> None:
    assert send([], ["json://127.0.0.1:9/x"]).sent == 0
    assert send([Alert("promoted", "t", "b")], []).sent == 0
