"""Alerts of the scheduled refresh, sent through apprise to Slack, Teams, e-mail or a webhook.

One setting lists the destinations as apprise URLs: ``[alerts] urls`` in icpkit.toml and/or the
``ICPKIT_ALERT_URLS`` environment variable (space or comma separated; preferred, since webhook
URLs carry secrets). ``slack://…``, ``msteams://…``, ``mailtos://…`` and ``json://host/path`` (a
generic JSON webhook) all work; a URL is never printed or logged, only its scheme.

Alerts carry counts, version numbers and segment names only, never a person's name, e-mail or
phone: :func:`scrub` removes anything shaped like an e-mail address or a phone number from every
title and body before it leaves the process, as a last guard behind the messages built here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ENV_URLS = "ICPKIT_ALERT_URLS"
KINDS = (
    "drift_changed",
    "promoted",
    "rejected",
    "tier1_moves",
    "push_refused",
    "sync_failed",
    "check_failed",
    "build_failed",
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()./-]{7,}\d")


@dataclass(frozen=True)
class Alert:
    """One alert: its kind (:data:`KINDS`), a short title and a body of a few lines."""

    kind: str
    title: str
    body: str
    level: Literal["info", "success", "warning", "failure"] = "info"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlertDelivery:
    """What sending did: how many alerts went to how many destinations, and what failed."""

    destinations: int
    sent: int
    failed: list[str] = field(default_factory=list)
    schemes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scrub(text: str) -> str:
    """``text`` with e-mail addresses and phone-number shapes replaced by '[removed]'."""
    return _PHONE.sub("[removed]", _EMAIL.sub("[removed]", text))


def alert_urls(configured: Sequence[str] = ()) -> list[str]:
    """The destinations: the config's URLs, then ICPKIT_ALERT_URLS's, without repeats."""
    urls = [u.strip() for u in configured if u and u.strip()]
    env = os.environ.get(ENV_URLS, "")
    urls += [u for u in re.split(r"[\s,]+", env) if u]
    return list(dict.fromkeys(urls))


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def send(
    alerts: Sequence[Alert], urls: Sequence[str], *, workspace_name: str = ""
) -> AlertDelivery:
    """Send every alert to every URL; never raises for a destination that fails.

    Parameters
    ----------
    alerts : sequence of Alert
        What to say.
    urls : sequence of str
        apprise URLs (see :func:`alert_urls`).
    workspace_name : str
        The workspace's name, put in front of each title so a channel with several ICPs can tell
        them apart.
    """
    schemes = sorted({_scheme(u) for u in urls})
    if not alerts or not urls:
        return AlertDelivery(len(urls), 0, [], schemes)
    import apprise

    notifier = apprise.Apprise()
    failed: list[str] = []
    for url in urls:
        if not notifier.add(url):
            failed.append(f"a {_scheme(url)}:// URL is not understood by apprise")
    if len(notifier) == 0:
        return AlertDelivery(len(urls), 0, failed, schemes)
    levels = {
        "info": apprise.NotifyType.INFO,
        "success": apprise.NotifyType.SUCCESS,
        "warning": apprise.NotifyType.WARNING,
        "failure": apprise.NotifyType.FAILURE,
    }
    prefix = f"[icpkit {workspace_name}] " if workspace_name else "[icpkit] "
    sent = 0
    for alert in alerts:
        ok = notifier.notify(
            title=scrub(prefix + alert.title),
            body=scrub(alert.body),
            notify_type=levels[alert.level],
        )
        if ok:
            sent += 1
        else:
            failed.append(f"{alert.kind}: at least one destination did not accept it")
    return AlertDelivery(len(urls), sent, failed, schemes)
