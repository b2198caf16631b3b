"""Push the ICP fields to HubSpot or Salesforce over their batch REST APIs, resumably.

HubSpot (CRM v3): ``POST /crm/v3/objects/companies/batch/update`` (``{"inputs": [{"id": <Record
ID>, "properties": {...}}]}``, or with a unique ID property ``{"idProperty": ..., "id": <its
value>, ...}``: "Update a batch of records by internal ID, or unique property values"), which
never creates a company; only with ``--create``, ``POST /crm/v3/objects/companies/batch/upsert``
(same inputs; creates the companies no value matches), at most 100 inputs each; 200 when all succeed, 207 Multi-Status with
``errors: [{"category", "context": {"ids": [...]}, …}]`` when some fail (HubSpot changelog,
"Simplifying batch update response codes for CRM v3 APIs"; the batch/update API reference).

Salesforce (REST API, sObject Collections): by Account Id, ``PATCH
/services/data/vXX.X/composite/sobjects`` with ``{"allOrNone": false, "records": [{"attributes":
{"type": "Account"}, "id": "001…", "ICP_Tier__c": …}]}`` ("Update Records Using sObject
Collections": up to 200 records, each with an attributes map holding its type and an id; the
answer is one SaveResult ``{"id", "success", "errors": [{"statusCode", "message", "fields"}]}``
per record, in request order). By an external ID field, ``PATCH
/services/data/vXX.X/composite/sobjects/Account/<Field>`` with the field instead of ``id``
("Upsert Records Using sObject Collections", API 46+: "Only external ids are supported. Don't use
record ids", which is why Account Ids go through the update call, not an upsert on ``Id``).
Source: developer.salesforce.com/docs/platform/api-rest/guide/
resources-composite-sobjects-collections-update.html and …-upsert.html. With ``allOrNone: false``
one bad record does not hold back the other 199; its error is reported by account id (status code
and field names only: an error message may quote record values).

Both CRMs share the machinery below: ``--dry-run`` writes the requests and sends nothing; a push
keeps a log (one JSON line per batch the CRM accepted, keyed by the hash of its body, with the
records it refused). An interrupted push resumed with the same log skips every accepted batch, so
no update is lost and none is sent twice (unless the interruption falls between the CRM's reply
and the log line: then that one batch is sent again, which writes the same values). The HTTP
side (httpx, retries with tenacity, no redirects, a deadline per request, Retry-After capped,
no reply text in errors) is export/http.py; a lock on the log keeps a second push with the same
folder from sending everything twice.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from icpkit.atomic import lock_nonblocking as _lock
from icpkit.atomic import unlock as _unlock
from icpkit.atomic import write_text_atomic
from icpkit.errors import ConfigError
from icpkit.export.crm import SALESFORCE_API_VERSION, SALESFORCE_FIELDS
from icpkit.export.http import DEFAULT_MAX_WAIT, Call, HttpError, HttpPolicy, send

HUBSPOT_API = "https://api.hubapi.com"
BATCH_LIMIT = 100
PROPERTIES = (
    "icp_tier",
    "icp_fit_score",
    "icp_reasons",
    "icp_version",
    "icp_calibrated_score",
    "icp_band",
)
CREATE_NEEDS_KEY = (
    "--create needs --id-property: a new company can only be keyed by a unique property "
    "(HubSpot assigns Record IDs itself)"
)
# The endpoints that create records: a push sends them only when asked (``--create``).
CREATING_PATHS = frozenset({"/crm/v3/objects/companies/batch/upsert",
                            "/crm/v3/objects/companies/batch/create"})  # fmt: skip
SALESFORCE_BATCH_LIMIT = 200
SALESFORCE_COLLECTIONS = f"/services/data/v{SALESFORCE_API_VERSION}/composite/sobjects"
SALESFORCE_VALUES = tuple(str(f["fullName"]) for f in SALESFORCE_FIELDS)

Failure = dict[str, Any]  # {"id": account id, "errors": [{"statusCode": …, "fields": […]}]}


class PushError(HttpError):
    """The CRM refused a request for good, redirected it, asked to wait too long, or kept
    failing after every retry; or another push holds the same log."""

    kind = "push"


@dataclass(frozen=True)
class Request:
    """One batch request: its method, where it goes, its JSON body and its records' keys."""

    path: str
    body: dict[str, Any]
    ids: tuple[str, ...] = ()
    method: str = "POST"

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.body, sort_keys=True).encode()).hexdigest()[:24]


def _no_failures(request: Request, reply: bytes) -> list[Failure]:
    return []


@dataclass(frozen=True)
class Crm:
    """What differs between CRMs once the requests are built: the name, the default base URL,
    and how a 2xx answer says which records were refused."""

    name: str
    base_url: str
    failures: Callable[[Request, bytes], list[Failure]] = field(default=_no_failures)


def _batches(rows: list[dict[str, Any]], size: int, limit: int, crm: str) -> Iterator[list[Any]]:
    if not 1 <= size <= limit:
        raise ConfigError(f"a {crm} batch holds 1 to {limit} records; got {size}")
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _keyed_rows(
    table: pl.DataFrame, fields: tuple[str, ...], record_id: str, update: bool, hint: str
) -> tuple[str, list[dict[str, Any]]]:
    """The key column (the first) and the rows; an update needs the CRM's own record ids."""
    key = table.columns[0]
    if update and key != record_id:
        raise ConfigError(hint)
    return key, table.select(key, *fields).to_dicts()


def hubspot_requests(
    companies: pl.DataFrame,
    *,
    id_property: str | None = None,
    create: bool = False,
    batch: int = BATCH_LIMIT,
) -> list[Request]:
    """Batch requests from ``hubspot-companies.csv`` rows.

    By default an update (``batch/update``, which never creates a company): by ``Record ID``
    (the first column), or with ``id_property`` by that unique property (the first column, named
    after it; each input carries ``idProperty``). Only ``create`` sends ``batch/upsert``, which
    creates the companies no value matches; it needs ``id_property`` (a Record ID cannot be
    given to a new company).
    """
    if create and not id_property:
        raise ConfigError(CREATE_NEEDS_KEY)
    key_name = id_property or "Record ID"
    hint = (
        f"pushing by {'update' if not create else 'upsert'} needs the first column "
        f"{key_name!r}; found {companies.columns[0]!r} (export with --key "
        f"{'account-id' if id_property else 'record-id'})"
    )
    key, rows = _keyed_rows(companies, PROPERTIES, key_name, True, hint)
    path = "/crm/v3/objects/companies/batch/" + ("upsert" if create else "update")
    requests = []
    for chunk in _batches(rows, batch, BATCH_LIMIT, "HubSpot"):
        inputs = []
        for row in chunk:
            item: dict[str, Any] = {
                "id": str(row[key]),
                "properties": {p: "" if row[p] is None else str(row[p]) for p in PROPERTIES},
            }
            if id_property:
                item = {"idProperty": id_property, **item}
            inputs.append(item)
        ids = tuple(i["id"] for i in inputs)
        requests.append(Request(path, {"inputs": inputs}, ids))
    return requests


def salesforce_requests(
    accounts: pl.DataFrame,
    *,
    external_id: str | None = None,
    batch: int = SALESFORCE_BATCH_LIMIT,
) -> list[Request]:
    """sObject Collections requests from ``salesforce-accounts.csv`` rows: an update by Account
    ``Id``, or with ``external_id`` an upsert by that external ID field (the first column)."""
    hint = (
        "updating Salesforce Accounts needs their Id (15 or 18 characters) as account_id, "
        "or name an external ID field of Account with --external-id-field to upsert"
    )
    key, rows = _keyed_rows(accounts, SALESFORCE_VALUES, "Id", external_id is None, hint)
    path = SALESFORCE_COLLECTIONS + (f"/Account/{external_id}" if external_id else "")
    requests = []
    for chunk in _batches(rows, batch, SALESFORCE_BATCH_LIMIT, "Salesforce"):
        records = [
            {
                "attributes": {"type": "Account"},
                external_id or "id": str(row[key]),
                **{name: _salesforce_value(name, row[name]) for name in SALESFORCE_VALUES},
            }
            for row in chunk
        ]
        ids = tuple(str(row[key]) for row in chunk)
        body = {"allOrNone": False, "records": records}
        requests.append(Request(path, body, ids, method="PATCH"))
    return requests


def _salesforce_value(name: str, value: Any) -> Any:
    """A field value as Salesforce types it: the score a number, empty text null (clears it)."""
    if value is None or value == "":
        return None
    if name in ("ICP_Fit_Score__c", "ICP_Calibrated_Score__c"):
        return int(float(value))
    return str(value)


def salesforce_failures(request: Request, reply: bytes) -> list[Failure]:
    """The refused records of a 200 answer: one SaveResult per record, in request order.

    Only the status code and field names are kept: the message may quote the record's values.
    A record with no readable result is reported as ``NO_RESULT`` (it may or may not be saved).
    """
    try:
        results = json.loads(reply)
    except ValueError:
        results = None
    if not isinstance(results, list) or len(results) != len(request.ids):
        results = [None] * len(request.ids)
    out = []
    for key, result in zip(request.ids, results, strict=True):
        if isinstance(result, dict) and result.get("success") is True:
            continue
        errors = result.get("errors") if isinstance(result, dict) else None
        if not isinstance(errors, list) or not errors:
            errors = [{"statusCode": "NO_RESULT"}]
        out.append(
            {
                "id": key,
                "errors": [
                    {
                        "statusCode": str(e.get("statusCode", "UNKNOWN")),
                        "fields": [str(f) for f in e.get("fields") or []],
                    }
                    for e in errors
                    if isinstance(e, dict)
                ],
            }
        )
    return out


def hubspot_failures(request: Request, reply: bytes) -> list[Failure]:
    """The refused companies of a 207 Multi-Status answer: each entry of ``errors`` names its
    records in ``context.ids`` (or ``id``); its category is kept, not its message."""
    try:
        answer = json.loads(reply) if reply else {}
    except ValueError:
        return []
    errors = answer.get("errors") if isinstance(answer, dict) else None
    out: dict[str, Failure] = {}
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        context = error.get("context")
        ids = (context if isinstance(context, dict) else {}).get("ids")
        ids = ids or ([error["id"]] if error.get("id") else ["(not named)"])
        code = {"statusCode": str(error.get("category", "UNKNOWN")), "fields": []}
        for key in ids if isinstance(ids, list) else [ids]:
            out.setdefault(str(key), {"id": str(key), "errors": []})["errors"].append(code)
    return list(out.values())


HUBSPOT = Crm("HubSpot", HUBSPOT_API, hubspot_failures)
SALESFORCE = Crm("Salesforce", "", salesforce_failures)


def write_dry_run(requests: list[Request], folder: Path) -> list[Path]:
    """Each request as ``request-0001.json`` (its method, path and body), nothing sent."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, req in enumerate(requests, 1):
        target = folder / f"request-{i:04d}.json"
        text = json.dumps({"method": req.method, "path": req.path, "body": req.body}, indent=2)
        write_text_atomic(target, text)
        paths.append(target)
    return paths


def _done(log: Path) -> dict[str, list[Failure]]:
    """Digest of every batch the log holds as accepted → the records the CRM refused in it."""
    if not log.exists():
        return {}
    done = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            done[entry["digest"]] = list(entry.get("failed", []))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by the interruption itself: that batch is sent again
    return done


@contextmanager
def _exclusive(log: Path) -> Iterator[None]:
    """Hold ``<log>.lock`` for the whole push: a second push with the same log would read the
    same "not sent yet" batches and send every record twice, so it stops instead. An OS lock
    (not a marker file) so that a killed push never leaves the folder locked."""
    lock = log.with_name(log.name + ".lock")
    with lock.open("a+b") as handle:
        try:
            _lock(handle.fileno())
        except OSError:
            raise PushError(
                f"another push is running with the log {log}: wait for it to finish (two pushes "
                "with the same -o would send every record twice)"
            ) from None
        try:
            yield
        finally:
            _unlock(handle.fileno())


def push(
    requests: list[Request],
    token: str,
    log: Path,
    *,
    crm: Crm = HUBSPOT,
    base_url: str | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 30.0,
    max_wait: float = DEFAULT_MAX_WAIT,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Send every request not yet in ``log``; append each one the CRM accepted (a 2xx).

    ``timeout`` bounds each whole request (a reply trickled byte by byte fails like a silent
    one); ``max_wait`` is the longest ``Retry-After`` obeyed (a longer one stops the push, saying
    when to resume). Redirects are never followed. Returns the counts (batches sent now, skipped
    as sent before, in all) and ``failed``: the records the CRM refused, from this run and from
    the batches the log holds.
    """
    if not math.isfinite(max_wait) or max_wait < 0:
        raise ConfigError(f"--max-wait must be a number of seconds, 0 or more; got {max_wait}")
    policy = HttpPolicy(retries=retries, backoff=backoff, timeout=timeout, max_wait=max_wait)
    url = (base_url or crm.base_url).rstrip("/")
    log.parent.mkdir(parents=True, exist_ok=True)
    sent = skipped = 0
    failed: list[Failure] = []
    timeouts = httpx.Timeout(timeout)
    with (
        _exclusive(log),
        httpx.Client(follow_redirects=False, timeout=timeouts, transport=transport) as client,
        log.open("a", encoding="utf-8") as journal,
    ):
        done = _done(log)
        for i, req in enumerate(requests, 1):
            if req.digest in done:
                skipped += 1
                failed += done[req.digest]
                continue
            what = f"batch {i} of {len(requests)} ({req.method} {req.path})"
            call = Call(req.method, url + req.path, json.dumps(req.body).encode(), token,
                        crm.name, what)  # fmt: skip
            reply = send(client, call, policy, sleep=sleep, error=PushError)
            refused = crm.failures(req, reply)
            entry = {"digest": req.digest, "n": len(req.ids), "failed": refused}
            journal.write(json.dumps(entry) + "\n")
            journal.flush()
            failed += refused
            sent += 1
    return {"sent": sent, "skipped": skipped, "batches": len(requests), "failed": failed}


def deliver(
    requests: list[Request],
    folder: Path,
    *,
    crm: Crm,
    token: str | None,
    base_url: str | None,
    dry_run: bool,
    needs: str,
    max_wait: float = DEFAULT_MAX_WAIT,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Write the requests (``dry_run``) into ``folder/requests``, or send them with the log
    ``folder/push-log.jsonl``; ``needs`` says what to set when the token or URL is missing;
    ``max_wait`` is the longest Retry-After obeyed (seconds); ``transport`` replaces the network
    (tests)."""
    if dry_run:
        return {"requests": write_dry_run(requests, folder / "requests")}
    if not token or not (base_url or crm.base_url):
        raise ConfigError(needs)
    log = folder / "push-log.jsonl"
    return push(
        requests, token, log, crm=crm, base_url=base_url, max_wait=max_wait, transport=transport
    )
