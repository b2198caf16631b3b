"""Push the ICP fields to HubSpot over its CRM v3 batch API, resumably.

Requests follow HubSpot's documented shapes: ``POST /crm/v3/objects/companies/batch/update``
(``{"inputs": [{"id": <Record ID>, "properties": {...}}]}``) or, with a unique ID property,
``POST /crm/v3/objects/companies/batch/upsert`` (``{"inputs": [{"idProperty": ..., "id": ...,
"properties": {...}}]}``), at most 100 inputs each. ``--dry-run`` writes the request bodies and
sends nothing.

A push keeps a log (one JSON line per batch the CRM accepted, keyed by the hash of its body). An
interrupted push resumed with the same log skips every accepted batch, so no update is lost and none
is sent twice (unless the interruption falls between HubSpot's reply and the log line: then that one
batch is sent again, which writes the same values). 429 waits for Retry-After; 5xx and network
errors retry with exponential backoff.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.atomic import write_text_atomic
from icpkit.errors import ConfigError, IcpError

HUBSPOT_API = "https://api.hubapi.com"
BATCH_LIMIT = 100
PROPERTIES = ("icp_tier", "icp_fit_score", "icp_reasons", "icp_version")


class PushError(IcpError):
    """The CRM refused a request for good, or kept failing after every retry."""

    kind = "push"


@dataclass(frozen=True)
class Request:
    """One batch request: where it goes and its JSON body."""

    path: str
    body: dict[str, Any]

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.body, sort_keys=True).encode()).hexdigest()[:24]

    @property
    def ids(self) -> list[str]:
        return [str(i["id"]) for i in self.body["inputs"]]


def hubspot_requests(
    companies: pl.DataFrame, *, id_property: str | None = None, batch: int = BATCH_LIMIT
) -> list[Request]:
    """Batch requests from ``hubspot-companies.csv`` rows keyed by ``Record ID`` (update) or, with
    ``id_property``, by that unique property's value in the first column (upsert)."""
    if not 1 <= batch <= BATCH_LIMIT:
        raise ConfigError(f"a HubSpot batch holds 1 to {BATCH_LIMIT} inputs; got {batch}")
    key = companies.columns[0]
    if id_property is None and key != "Record ID":
        raise ConfigError(
            "pushing by update needs Record IDs (export with --key record-id), or name a unique "
            "company property with --id-property to upsert"
        )
    rows = companies.select(key, *PROPERTIES).to_dicts()
    path = "/crm/v3/objects/companies/batch/" + ("upsert" if id_property else "update")
    requests = []
    for start in range(0, len(rows), batch):
        inputs = []
        for row in rows[start : start + batch]:
            item: dict[str, Any] = {
                "id": str(row[key]),
                "properties": {p: "" if row[p] is None else str(row[p]) for p in PROPERTIES},
            }
            if id_property:
                item = {"idProperty": id_property, **item}
            inputs.append(item)
        requests.append(Request(path, {"inputs": inputs}))
    return requests


def write_dry_run(requests: list[Request], folder: Path) -> list[Path]:
    """Each request body as ``request-0001.json`` (with its method and path), nothing sent."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, req in enumerate(requests, 1):
        target = folder / f"request-{i:04d}.json"
        write_text_atomic(
            target, json.dumps({"method": "POST", "path": req.path, "body": req.body}, indent=2)
        )
        paths.append(target)
    return paths


def _done(log: Path) -> set[str]:
    if not log.exists():
        return set()
    done = set()
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            done.add(json.loads(line)["digest"])
        except (ValueError, KeyError):
            continue  # a line cut by the interruption itself: that batch is sent again
    return done


def _send(url: str, token: str, body: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers or {}), exc.read()


def push(
    requests: list[Request],
    token: str,
    log: Path,
    *,
    base_url: str = HUBSPOT_API,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Send every request not yet in ``log``; append each accepted one. Returns the counts."""
    done = _done(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    sent = skipped = 0
    with log.open("a", encoding="utf-8") as journal:
        for req in requests:
            if req.digest in done:
                skipped += 1
                continue
            body = json.dumps(req.body).encode()
            for attempt in _attempts(retries):
                try:
                    status, headers, reply = _send(base_url + req.path, token, body, timeout)
                except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                    if attempt == retries:
                        raise PushError(
                            f"HubSpot unreachable after {retries} tries: {exc}"
                        ) from None
                    sleep(backoff * 2**attempt)
                    continue
                if 200 <= status < 300:
                    journal.write(json.dumps({"digest": req.digest, "n": len(req.ids)}) + "\n")
                    journal.flush()
                    sent += 1
                    break
                if status == 429 or status >= 500:
                    if attempt == retries:
                        raise PushError(f"HubSpot answered {status} after {retries} tries")
                    wait = headers.get("Retry-After") or headers.get("retry-after")
                    sleep(float(wait) if wait else backoff * 2**attempt)
                    continue
                message = reply.decode("utf-8", "replace")[:300]
                raise PushError(f"HubSpot refused batch {req.path} with {status}: {message}")
    return {"sent": sent, "skipped": skipped, "batches": len(requests)}


def _attempts(retries: int) -> Iterator[int]:
    yield from range(retries + 1)
