"""``sync_workspace``: pull a CRM's objects into the workspace, resumably, and point icpkit.toml
at them.

For each object: choose the pass (full when asked, when there is no cursor yet, or when the
cursor is older than the CRM keeps deleted records; else incremental from the cursor minus an
overlap), resume the staged pass of an earlier interrupted run when it is the same pass, stage
every page durably, merge into the table, advance the cursor. See :mod:`icpkit.sync.store` for
why a sync killed anywhere ends, once run again, with exactly the CRM's records.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from icpkit.config import CONFIG_NAME, SyncConfig, WorkspaceConfig, load_config
from icpkit.errors import ConfigError
from icpkit.export.http import HttpPolicy
from icpkit.sync import hubspot, salesforce
from icpkit.sync.client import Api, RateLimiter
from icpkit.sync.sources import write_sources
from icpkit.sync.spec import Fetcher, ObjectSpec, Page, iso, parse_iso, with_extra
from icpkit.sync.store import ObjectStore, exclusive

SOURCES = ("hubspot", "salesforce")
# How long each CRM lists deleted records: HubSpot's archived records can be restored for 90
# days, Salesforce's recycle bin keeps them 15. A cursor older than that would miss deletes.
MAX_GAP_DAYS = {"hubspot": 90, "salesforce": 15}
TOKEN_VARS = {"hubspot": "HUBSPOT_TOKEN", "salesforce": "SALESFORCE_ACCESS_TOKEN"}
BASE_VARS = {"hubspot": "HUBSPOT_API_BASE", "salesforce": "SALESFORCE_INSTANCE_URL"}


@dataclass(frozen=True)
class ObjectResult:
    """What one object's pass did."""

    name: str  # the CRM's object name
    table: str  # the icpkit table it feeds
    mode: str  # full | incremental
    added: int
    updated: int
    deleted: int
    rows: int  # records in the table now
    resumed: bool  # the pass continued one an interrupted run had staged
    why_full: str = ""  # why a full pass ran when an incremental one was possible


@dataclass(frozen=True)
class SyncResult:
    """The outcome of one ``icpkit sync``: per object counts, API calls, retries, time."""

    source: str
    objects: tuple[ObjectResult, ...]
    api_calls: int
    retries: int
    rate_wait_seconds: float
    elapsed_seconds: float
    config_written: bool  # icpkit.toml's sources were (re)written to read the synced tables
    folder: str  # where the tables are, relative to the workspace

    @property
    def records(self) -> int:
        """Records in the synced tables now."""
        return sum(o.rows for o in self.objects)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "records": self.records}


def sync_workspace(
    workspace_dir: Path,
    source: str,
    *,
    full: bool = False,
    base_url: str | None = None,
    include_notes: bool = False,
    token: str | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] | None = None,
) -> SyncResult:
    """Sync ``source`` (hubspot | salesforce) into ``workspace_dir/crm/<source>/``.

    Parameters
    ----------
    workspace_dir : the workspace (created when missing; its icpkit.toml too).
    source : ``hubspot`` or ``salesforce``.
    full : re-read every record (a full refresh) instead of the changes since the cursors.
    base_url : API base (HubSpot) or instance URL (Salesforce); default: $HUBSPOT_API_BASE /
        $SALESFORCE_INSTANCE_URL, then https://api.hubapi.com for HubSpot.
    include_notes : also sync notes (as does ``[sync] notes = true``).
    token : the API token; default: $HUBSPOT_TOKEN / $SALESFORCE_ACCESS_TOKEN. Never stored.
    transport, sleep, clock, now : for tests and benchmarks (an in-process fake CRM, no waits).

    Returns
    -------
    SyncResult : per object added/updated/deleted, API calls, retries and elapsed time.
    """
    if source not in SOURCES:
        raise ConfigError(f"unknown CRM {source!r}; expected one of: {', '.join(SOURCES)}")
    started = time.perf_counter()
    workspace_dir = Path(workspace_dir)
    config = _settings(workspace_dir)
    token = token or os.environ.get(TOKEN_VARS[source])
    if not token:
        raise ConfigError(
            f"{TOKEN_VARS[source]} is not set: export the {source} API token in the environment "
            "(see docs/sync.md for the scopes it needs); it is never read from a file"
        )
    url = _base_url(source, base_url, local_ok=transport is not None)
    specs = _specs(source, config.sync, include_notes or config.sync.notes)
    limit = config.sync.hubspot_requests_per_10s if source == "hubspot" else 0
    api = Api(
        "HubSpot" if source == "hubspot" else "Salesforce", url, token,
        policy=HttpPolicy(retries=config.sync.retries, timeout=config.sync.timeout_seconds),
        limiter=RateLimiter(limit, 10.0, clock=clock, sleep=sleep),
        transport=transport, sleep=sleep, token_hint=f"the token in {TOKEN_VARS[source]}",
    )  # fmt: skip
    fetcher: Fetcher = (
        hubspot.HubSpot(api)
        if source == "hubspot"
        else salesforce.Salesforce(api, config.sync.salesforce_api_version)
    )
    root = workspace_dir / "crm" / source
    moment = now or _next_second
    results = []
    try:
        with exclusive(root, source):
            for spec in specs:
                results.append(
                    _sync_object(fetcher, ObjectStore(root, spec.name), spec, full=full,
                                 until=moment(), config=config.sync, source=source)
                )  # fmt: skip
    finally:
        api.close()
    written = write_sources(workspace_dir, source, specs, root)
    return SyncResult(
        source=source,
        objects=tuple(results),
        api_calls=api.meter.calls,
        retries=api.meter.retried,
        rate_wait_seconds=round(api.limiter.waited, 3),
        elapsed_seconds=round(time.perf_counter() - started, 3),
        config_written=written,
        folder=f"crm/{source}",
    )


def _base_url(source: str, given: str | None, *, local_ok: bool) -> str:
    """The API's base URL: https, or http to this machine only (a token never travels in clear)."""
    url = given or os.environ.get(BASE_VARS[source]) or (
        hubspot.DEFAULT_BASE if source == "hubspot" else ""
    )  # fmt: skip
    if not url:
        raise ConfigError(
            f"{source}: no API base URL; set --base-url or {BASE_VARS[source]} "
            "(e.g. https://yourorg.my.salesforce.com)"
        )
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1") or local_ok
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ConfigError(
            f"{source}: the base URL must start with https:// (http:// only to this machine, "
            f"the token would travel in clear); got {url[:60]!r}"
        )
    return url


def _next_second() -> datetime:
    """Now, rounded up to a whole second: the upper bound of a pass (SOQL datetimes have whole
    seconds; rounding down would leave out what changed in the last fraction of a second)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=0) + timedelta(seconds=1 if moment.microsecond else 0)


def _settings(workspace_dir: Path) -> WorkspaceConfig:
    if (workspace_dir / CONFIG_NAME).exists():
        return load_config(workspace_dir)
    return WorkspaceConfig()


def _specs(source: str, config: SyncConfig, notes: bool) -> list[ObjectSpec]:
    objects = hubspot.OBJECTS if source == "hubspot" else salesforce.OBJECTS
    extra = config.hubspot_properties if source == "hubspot" else config.salesforce_fields
    setting = "hubspot_properties" if source == "hubspot" else "salesforce_fields"
    known = {o.name for o in objects}
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ConfigError(
            f"[sync] {setting}: unknown object(s) {', '.join(unknown)}; expected "
            f"{', '.join(sorted(known))}"
        )
    chosen = [o for o in objects if notes or o.table != "notes"]
    return [with_extra(o, extra.get(o.name, []), setting) for o in chosen]


def _plan(
    store: ObjectStore, spec: ObjectSpec, *, full: bool, until: datetime, config: SyncConfig,
    source: str,
) -> tuple[dict[str, Any], str]:  # fmt: skip
    """The pass to run (resuming a staged one when it is the same kind) and why it is full."""
    fields = list(spec.stored)
    staged = store.progress().get("plan")
    cursor = store.cursor()
    if (
        isinstance(staged, dict)
        and staged.get("fields") == fields
        and (staged.get("mode") == "full" or not full)
        and (cursor is None or str(staged.get("hi")) > cursor)  # not committed already
    ):
        return staged, str(staged.get("why", ""))
    why = ""
    if full:
        why = "asked (--full)"
    elif cursor is None:
        why = "first sync"
    elif until - parse_iso(cursor) > timedelta(days=MAX_GAP_DAYS[source]):
        why = f"the last sync is older than {MAX_GAP_DAYS[source]} days (deletes are lost)"
    if why:
        return {"mode": "full", "hi": iso(until), "fields": fields, "why": why}, why
    lo = parse_iso(str(cursor)) - timedelta(seconds=config.overlap_seconds)
    return {"mode": "incremental", "lo": iso(lo), "hi": iso(until), "fields": fields}, ""


def _sync_object(
    fetcher: Fetcher, store: ObjectStore, spec: ObjectSpec, *, full: bool, until: datetime,
    config: SyncConfig, source: str,
) -> ObjectResult:  # fmt: skip
    plan, why = _plan(store, spec, full=full, until=until, config=config, source=source)
    resumed = store.progress().get("plan") == plan
    progress = store.start(plan)
    position, phase = progress["position"], progress["phase"]
    if phase == "done":  # fetched in full before the interruption: only the commit is left
        pages: Iterator[Page] = iter(())
    elif plan["mode"] == "full":
        pages = fetcher.full(spec, position)
    else:
        lo, hi = parse_iso(plan["lo"]), parse_iso(plan["hi"])
        pages = fetcher.incremental(spec, lo, hi, position, phase)
    buffer: list[dict[str, Any]] = []
    gone: list[str] = []
    for records, deleted, position, phase in pages:
        buffer += records
        gone += deleted
        if len(buffer) >= config.chunk_rows or len(gone) >= config.chunk_rows:
            store.stage(progress, buffer, gone, position, phase)
            buffer, gone = [], []
    store.stage(progress, buffer, gone, position, "done")
    done = store.commit(progress, full=plan["mode"] == "full", columns=spec.stored)
    store.advance(plan["hi"], plan["mode"])
    store.discard()
    return ObjectResult(
        name=spec.name, table=spec.table, mode=plan["mode"], added=done.added,
        updated=done.updated, deleted=done.deleted, rows=done.rows, resumed=resumed, why_full=why,
    )  # fmt: skip
