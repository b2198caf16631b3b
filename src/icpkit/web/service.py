"""What the API and the pages ask of a workspace, as plain dicts: a thin layer over the pipeline.

The workspace's accounts are loaded once and scored once per version (both cached), so looking up
an account costs a dictionary lookup and one explanation, not a reload. Nothing here imports
FastAPI: the HTTP edges (``app.py``) only translate.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from icpkit import pipeline
from icpkit.config import WebConfig
from icpkit.data import CrmData
from icpkit.data.mapping import PRESETS
from icpkit.data.model import SCHEMA
from icpkit.data.paths import resolve_source
from icpkit.data.prospects import Kind, ProspectColumns
from icpkit.data.writers import csv_safe
from icpkit.errors import ConfigError, IcpError, SchemaError
from icpkit.lifecycle.audit import record as audit_record
from icpkit.lifecycle.feedback import FeedbackEntry, FeedbackLog, new_entry, summarize
from icpkit.lifecycle.store import StoredVersion
from icpkit.personas.hygiene import workspace_lexicon
from icpkit.personas.missing import missing_text, personas_missing
from icpkit.personas.reach import contacts_by_persona
from icpkit.profile import IcpProfile
from icpkit.scoring import OUTPUT_COLUMNS, ScoringPlan, explain_accounts, score_file, score_frame
from icpkit.scoring.bands import BandScale, calibrate_one
from icpkit.scoring.bulk import resolve_columns, score_batch
from icpkit.scoring.explain import Explanation
from icpkit.scoring.fields import require_mapped_field, unknown_fields
from icpkit.scoring.records import RecordScorer
from icpkit.scoring.tiers import cuts_of
from icpkit.themes.pii import Scrubber
from icpkit.web.builds import Builds
from icpkit.web.context import plain_reason, talking_points, triggers, winning_personas
from icpkit.web.keys import KeyRecord, KeyStore
from icpkit.web.messages import public_message
from icpkit.web.search import AccountIndex, Page, search_text
from icpkit.worklist import Worklist, WorklistQuery, matching, select, worklist_table

UPLOAD_DIR = "uploads"
LOOKALIKES_MAX = 500
LOOKALIKE_COLUMNS = ("rank", "account_id", "name", "domain", "industry", "country", "tier",
                     "fit_score", "similarity", "similar_best_customers", "rank_score", "why",
                     "reasons")  # fmt: skip
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,120}$")
LIST_COLUMNS = ("criteria_met", "disqualifiers_hit")
ECHO_COLUMNS = ("account_id", "name", "domain")
DUPLICATE_SECONDS = 600  # the same verdict again by the same key within this: stored once
FAST_ROWS = 100  # requests with up to this many accounts may take the dict fast path
COLUMN_SETS = 256  # sets of record fields whose column resolution is kept per version


class NotFound(IcpError):
    """No such account, version or file."""

    kind = "not_found"


class Service:
    """One workspace, opened once, with its accounts and scored tables cached per version."""

    def __init__(self, root: Path | str) -> None:
        self.workspace = pipeline.Workspace.open(root)
        self.root = Path(root).resolve()
        self.keys = KeyStore(self.root)
        self._lock = threading.Lock()
        self._feedback_lock = threading.Lock()
        self._crm: CrmData | None = None
        self._data_key: tuple[object, ...] | None = None  # the store's state when it was loaded
        self._files: tuple[object, ...] = ()  # the source files' state when they were loaded
        self._accounts: pl.DataFrame | None = None
        self._intent: dict[int, tuple[pl.DataFrame | None, str, str]] = {}
        self._worklists: dict[int, tuple[pl.DataFrame, str, str]] = {}
        self._domains: dict[int, dict[str, list[Any]]] = {}
        self._lookalikes: dict[tuple[int, str], pl.DataFrame] = {}
        self.builds = Builds(self.root, on_done=self.reload, public=self.public)
        self._scored: dict[int, pl.DataFrame] = {}
        self._index: dict[int, AccountIndex] = {}
        self._profiles: dict[int, IcpProfile] = {}
        self._plans: dict[int, ScoringPlan] = {}
        self._check: list[str] | None = None
        # Version references resolved while the store's files are unchanged (a build changes
        # them), so a request costs a stat() instead of a SQLite read and a JSON parse.
        self._store_key: tuple[object, ...] | None = None
        store = self.workspace.store.path
        self._store_files = (store, store.with_name(store.name + "-wal"))
        self._numbers: dict[str, int] = {}
        self._fast: dict[int, RecordScorer | None] = {}
        self._columns: dict[
            tuple[int, bool, tuple[str, ...]], tuple[ProspectColumns, dict[str, Kind]]
        ] = {}
        self._scrubber: Scrubber | None = None
        self.fast_rows = FAST_ROWS

    @property
    def settings(self) -> WebConfig:
        return self.workspace.config.web

    # ------------------------------------------------------------------ versions and profile

    def stored(self, version: str | int = "latest") -> StoredVersion:
        return self.workspace.store.get(version)

    def profile(self, version: str | int = "latest") -> tuple[int, IcpProfile]:
        key = self._store_state()
        with self._lock:
            if key != self._store_key:
                self._store_key, self._numbers = key, {}
            number = self._numbers.get(str(version))
            if number is not None:
                return number, self._profiles[number]
        stored = self.stored(version)
        with self._lock:
            if stored.version not in self._profiles:
                self._profiles[stored.version] = stored.profile()
            if self._store_key == key and len(self._numbers) < 64:  # "v3", "v03", …: bounded
                self._numbers[str(version)] = stored.version
            return stored.version, self._profiles[stored.version]

    def _store_state(self) -> tuple[object, ...]:
        """What changes when a version is saved: the store file and its WAL, as stat() sees them."""
        return _stat_state(self._store_files)

    def audit(self, limit: int = 20) -> dict[str, Any]:
        """The version in use and the last audit events, newest first (the RevOps page)."""
        from icpkit.lifecycle import audit as audit_log

        checked = audit_log.verify(self.root)
        events = [e.to_dict() for e in reversed(audit_log.read(self.root, limit=limit))]
        live = self.workspace.store.live()
        return {"live": live, "events": events, "ok": checked.ok, "problems": checked.problems}

    def versions(self) -> list[dict[str, Any]]:
        return [info.to_dict() for info in self.workspace.store.list()]

    def diff(self, a: str, b: str) -> dict[str, Any]:
        changes = pipeline.diff_versions(self.workspace, a, b)
        return {**changes.to_dict(), "text": changes.to_text()}

    def drift(self, version: str = "latest") -> dict[str, Any]:
        result = pipeline.drift_check(self.workspace, version)
        return {**result.to_dict(), "text": result.to_text()}

    def check_lines(self, limit: int = 40) -> list[str]:
        """The data-quality problems `icpkit check` lists (checked once per server start)."""
        with self._lock:
            if self._check is None:
                self._check = self.workspace.check().summary_lines()
            return self._check[:limit]

    def report_html(self, version: str | int = "latest") -> Path:
        """The HTML report of a version, rendered once into ``.icpkit/web/``."""
        number, _ = self.profile(version)
        target = self.root / ".icpkit" / "web" / f"report-v{number}.html"
        if not target.exists():
            pipeline.render_report(self.workspace, number, "html", target)
        return target

    # ------------------------------------------------------------------ accounts

    def crm(self) -> CrmData:
        """The workspace's CRM tables, loaded once, and again after the version store changed.

        A build started from another server worker (or ``icpkit build``/``promote`` in a shell)
        may have read newer files: every worker notices that the store changed (one stat() of its
        files) and loads the tables again when the source files changed too (a stat() each), instead
        of only the worker that started the build; a build over the same files costs no reload.
        """
        key = self._store_state()
        with self._lock:
            if self._crm is not None and self._data_key != key:
                if self._files != self._source_state():
                    self._forget_data()
                else:  # a build or promotion over the same files: nothing to read again
                    self._data_key = key
            if self._crm is None:
                self._files = self._source_state()
                self._crm = self.workspace.load()
                self._data_key = key
            return self._crm

    def _source_state(self) -> tuple[object, ...]:
        """The config and every source file as stat() sees them (what a load reads)."""
        config = self.workspace.config
        paths = [self.root / "icpkit.toml", *(self.root / s.path for s in config.sources.values())]
        if config.usage.path:
            paths.append(self.root / config.usage.path)
        return _stat_state(paths)

    def accounts(self) -> pl.DataFrame:
        crm = self.crm()
        with self._lock:
            if self._accounts is None:
                self._accounts = crm.accounts.with_columns(pl.col("account_id").cast(pl.Utf8))
            return self._accounts

    def reload(self, version: int | None = None) -> None:
        """Forget the loaded data (a build may have read newer files); versions stay cached."""
        with self._lock:
            self._forget_data()

    def _forget_data(self) -> None:
        """What :meth:`reload` forgets; the caller holds ``self._lock``."""
        self.workspace = pipeline.Workspace.open(self.root)
        self._crm = self._accounts = self._check = None
        self._scrubber = None
        self._fast.clear()  # compiled against the accounts' schema, which a build may change
        self._columns.clear()  # the accounts mapping may have changed with the config
        self._scored.clear()
        self._index.clear()
        self._intent.clear()
        self._worklists.clear()
        self._domains.clear()
        self._lookalikes.clear()

    def public(self, message: str) -> str:
        """An error message without the server's own folders."""
        return public_message(message, self.root)

    def scored(self, version: str | int = "latest") -> tuple[int, pl.DataFrame]:
        number, profile = self.profile(version)
        accounts = self.accounts()
        with self._lock:
            if number not in self._scored:
                self._scored[number] = score_frame(profile, accounts, bands=self.bands())
            return number, self._scored[number]

    def search(self, query: str, limit: int = 25, offset: int = 0) -> Page:
        """A page of the accounts matching ``query`` (all without one) and how many match: see
        :mod:`icpkit.web.search` (URLs and e-mails read as their domain, close spellings)."""
        number, scored = self.scored()
        with self._lock:
            index = self._index.get(number)
        if index is None:
            index = AccountIndex(scored)
            with self._lock:
                self._index[number] = index
        return index.search(query, limit, offset)

    def account_by_domain(self, domain: str) -> tuple[str, int]:
        """The best-fitting account with this domain (``https://www.acme.io/x`` reads as
        ``acme.io``) and how many accounts share it; NotFound when none has it."""
        wanted = search_text(domain)
        number, scored = self.scored()
        with self._lock:
            table = self._domains.get(number)
        if table is None:
            table = {}
            if "domain" in scored.columns:
                ranked = scored.select("account_id", "domain", "fit_score").sort(
                    "fit_score", descending=True, maintain_order=True
                )
                for account_id, value, _ in ranked.iter_rows():
                    if value:
                        key = search_text(str(value))
                        found = table.setdefault(key, [str(account_id), 0])
                        found[1] += 1
            with self._lock:
                self._domains[number] = table
        hit = table.get(wanted) if wanted else None
        if hit is None:
            raise NotFound(f"no account with the domain {wanted or domain!r} in this workspace")
        return str(hit[0]), int(hit[1])

    def scored_account(
        self, account_id: str, version: str | int = "latest"
    ) -> tuple[int, IcpProfile, dict[str, Any], Explanation]:
        """One account's scored row and its explanation (version number and profile too)."""
        number, profile = self.profile(version)
        number, scored = self.scored(number)
        rows = scored.with_row_index("_row").filter(pl.col("account_id") == account_id)
        if rows.height == 0:
            raise NotFound(f"no account with id {account_id!r} in this workspace")
        row = rows.row(0, named=True)
        why = explain_accounts(profile, self.accounts(), rows=[int(row["_row"])])[0]
        return number, profile, row, why

    def account(self, account_id: str, version: str | int = "latest") -> dict[str, Any]:
        """Tier, score, the points in words, criteria met and missed, disqualifiers of one account."""
        number, profile, row, why = self.scored_account(account_id, version)
        points = [
            {
                "feature": name,
                "value": why.bins[name],
                "points": p,
                "text": _points_words(p, why.bins[name]),
            }
            for name, p in sorted(why.points.items(), key=lambda kv: -abs(kv[1]))
        ]
        return {
            "account_id": account_id,
            "name": row.get("name"),
            "domain": row.get("domain"),
            "version": number,
            "tier": row["tier"],
            "fit_score": int(row["fit_score"]),
            **self._band(profile, int(row["fit_score"])),
            "fit_probability": row.get("fit_probability"),
            "reasons": [r for r in (row.get("reasons") or "").split("; ") if r],
            "reasons_for": why.reasons_for,
            "reasons_words": [plain_reason(r) for r in why.reasons_for],
            "reasons_against_words": [plain_reason(r) for r in why.reasons_against],
            "reasons_against": why.reasons_against,
            "points": points,
            "base_points": why.base,
            "criteria_met": why.criteria_met,
            "criteria_missed": why.criteria_missed,
            "disqualifiers_hit": why.disqualifiers_hit,
            **self.account_context(number, profile, account_id, row["tier"]),
            # values filled by `icpkit enrich`, each with its source (issue 29)
            "enriched": pipeline.account_enrichment(self.workspace, account_id),
        }

    # ------------------------------------------------------------------ personas, points, why now

    def account_context(
        self, number: int, profile: IcpProfile, account_id: str, tier: str
    ) -> dict[str, Any]:
        """Personas to reach, the CRM's contacts by persona (titles and counts, never names),
        talking points for this account's tier and personas, and why now, from the profile's
        typed personas, messaging and signals sections (each empty when the profile has none)."""
        contacts = self.account_contacts(account_id)
        personas = self.account_personas(profile, account_id, contacts)
        if contacts is None or not personas:
            audience = None  # nothing known of the account's people: every winning persona
        else:  # the personas it has, and the first one still to find
            held = [p["persona"] for p in personas if p["has_contact"]]
            audience = held + [p["persona"] for p in personas if not p["has_contact"]][:1]
        config = self.workspace.config.personas
        groups = (
            None
            if contacts is None
            else contacts_by_persona(
                contacts,
                workspace_lexicon(config, self.root),
                min_confidence=config.min_confidence,
            )
        )
        return {
            "personas": personas,
            "contacts": None if groups is None else [g.to_dict() for g in groups],
            "talking_points": talking_points(profile, tier, audience),
            "why_now": self.why_now(number, profile, account_id),
        }

    def account_contacts(self, account_id: str) -> pl.DataFrame | None:
        """The contacts of one account (None without a contacts table)."""
        contacts = self.crm().contacts
        if contacts is None or "account_id" not in contacts.columns:
            return None
        return contacts.filter(pl.col("account_id").cast(pl.Utf8) == account_id).with_columns(
            pl.col("account_id").cast(pl.Utf8)
        )

    def account_personas(
        self, profile: IcpProfile, account_id: str, contacts: pl.DataFrame | None
    ) -> list[dict[str, Any]]:
        """The winning personas, each with whether the account has a contact of it yet (None
        without a contacts table)."""
        top = winning_personas(profile)
        if not top or profile.personas is None:
            return []
        missing: set[str] | None = None
        if contacts is not None:
            config = self.workspace.config.personas
            text = personas_missing(
                pl.DataFrame({"account_id": [account_id]}),
                contacts,
                profile.personas,
                lexicon=workspace_lexicon(config, self.root),
                min_confidence=config.min_confidence,
            )[0]
            missing = {p for p in str(text or "").split("; ") if p}
        return [
            {
                "persona": p.persona,
                "evidence": p,
                "has_contact": None if missing is None else missing_text(p) not in missing,
            }
            for p in top
        ]

    def intent(self, number: int, profile: IcpProfile) -> tuple[pl.DataFrame | None, str, str]:
        """Every account's intent today (None without usable signals), the day it is scored
        for, and the note saying why it is unavailable; computed once per version."""
        with self._lock:
            cached = self._intent.get(number)
        if cached is None:
            crm = self.crm()
            if "signals" in self.workspace.config.sources:
                frame, day, note = pipeline.intent_for(profile, crm, self.workspace.config)
                cached = (frame, str(day or ""), note)
            else:
                cached = (None, "", "no signals table in the workspace ([sources.signals])")
            with self._lock:
                self._intent[number] = cached
        return cached

    def worklist_table(self, version: str | int = "latest") -> tuple[pl.DataFrame, str, str]:
        """Every account ranked by priority x tier with names (:mod:`icpkit.worklist`), the
        day intent is scored for and the note; built once per version."""
        number, profile = self.profile(version)
        with self._lock:
            cached = self._worklists.get(number)
        if cached is None:
            number, scored = self.scored(number)
            frame, day, note = self.intent(number, profile)
            table = worklist_table(scored, frame, self.accounts())
            cached = (table, day, note)
            with self._lock:
                self._worklists[number] = cached
        return cached

    def worklist(self, query: WorklistQuery, version: str | int = "latest") -> Worklist:
        """One page of this week's worklist, with totals (:func:`icpkit.worklist.select`)."""
        table, day, note = self.worklist_table(version)
        return select(table, query, as_of=day, note=note)

    def worklist_csv(self, query: WorklistQuery, version: str | int = "latest") -> bytes:
        """Every row the query's filters keep, in its order, as CSV safe for spreadsheets."""
        table, _, _ = self.worklist_table(version)
        rows = matching(table, query)
        buffer = io.BytesIO()
        pl.from_arrow(csv_safe(rows.to_arrow())).write_csv(buffer)  # type: ignore[union-attr]
        return buffer.getvalue()

    def why_now(self, number: int, profile: IcpProfile, account_id: str) -> dict[str, Any]:
        """This account's intent today (hot/warm/cold, the signals behind it) and the triggers
        the ICP learned; ``note`` says why intent is unavailable."""
        frame, _, note = self.intent(number, profile)
        out: dict[str, Any] = {
            "intent": None,
            "intent_score": None,
            "text": "",
            "triggers": triggers(profile.signals),
            "note": note if frame is None else "",
        }
        if frame is not None:
            row = frame.filter(pl.col("account_id").cast(pl.Utf8) == account_id)
            if row.height:
                r = row.row(0, named=True)
                out.update(
                    intent=r.get("intent"),
                    intent_score=r.get("intent_score"),
                    text=r.get("why_now") or "",
                )
        return out

    # ------------------------------------------------------------------ feedback from the field

    def contact_names(self) -> list[str]:
        contacts = self.crm().contacts
        if contacts is None or "name" not in contacts.columns:
            return []
        return contacts["name"].drop_nulls().cast(pl.Utf8).unique().to_list()

    def scrubber(self) -> Scrubber:
        """The PII scrubber of the loaded CRM's contact names, built once per load."""
        if self._scrubber is None:
            scrub = Scrubber(self.contact_names())
            with self._lock:
                self._scrubber = self._scrubber or scrub
        return self._scrubber

    def give_feedback(
        self, key: KeyRecord, account_id: str, claimed: str, reason: str
    ) -> tuple[FeedbackEntry, bool]:
        """Store a rep's verdict on the tier the latest version shows for an account; True when
        stored, False when the same key gave the same verdict (account, claimed tier, reason) on
        the same version within :data:`DUPLICATE_SECONDS`: that first verdict is returned."""
        number, _, row, why = self.scored_account(account_id)  # not the personas and signals
        entry = new_entry(
            by_key=key.key_id,
            by_name=key.name,
            version=number,
            account_id=account_id,
            tier_shown=row["tier"],
            tier_claimed=claimed,
            reason=reason,
            fit_score=int(row["fit_score"]),
            criteria_met=why.criteria_met,
            scrub=self.scrubber(),
        )
        log = FeedbackLog(self.root)
        with self._feedback_lock:
            entries, _ = log.read()
            since = datetime.fromisoformat(entry.at) - timedelta(seconds=DUPLICATE_SECONDS)
            for old in reversed(entries):
                if _at(old.at) < since:
                    break
                if (old.by_key, old.account_id, old.version, old.tier_claimed, old.reason) == (
                    entry.by_key, entry.account_id, entry.version, entry.tier_claimed, entry.reason
                ):  # fmt: skip
                    return old, False
            stored = log.append(entry)
        audit_record(
            self.root, "feedback",
            f"verdict {stored.id[:12]} on v{number}: {stored.tier_shown} shown, "
            f"{stored.tier_claimed} claimed",
            version=number, who=key.name or f"key {key.key_id}",
        )  # fmt: skip
        return stored, True

    def feedback_entry(self, entry_id: str) -> FeedbackEntry:
        """One stored verdict by its id."""
        entries, _ = FeedbackLog(self.root).read()
        for entry in entries:
            if entry.id == entry_id:
                return entry
        raise NotFound(f"no verdict with id {entry_id[:40]!r}")

    def feedback(self, limit: int = 200) -> dict[str, Any]:
        """The latest verdicts (newest first) and the summary the next build will report."""
        entries, warnings = FeedbackLog(self.root).read()
        section = summarize(entries, self.crm().deals, warnings=warnings) if entries else None
        return {
            "n": len(entries),
            "entries": list(reversed(entries[-limit:])),
            "summary": None if section is None else section.model_dump(mode="json"),
            "agreement_rate": None if section is None else section.agreement_rate,
            "warnings": warnings,
        }

    # ------------------------------------------------------------------ lookalikes

    def lookalikes(self, top: int) -> dict[str, Any]:
        """The ``top`` companies of the configured universe most like the ICP (customers out)."""
        text = self.settings.universe
        if not text:
            raise NotFound(
                'no company universe configured: set universe = "companies.csv" under [web] '
                "in icpkit.toml (a CSV or Parquet file in the workspace, in icpkit's column "
                "names or the accounts export's headers)"
            )
        path = resolve_source(self.workspace.config, self.root, text, "web.universe")
        if not path.exists():
            raise NotFound(f"web.universe = {text!r}: no such file in the workspace")
        number, _ = self.profile()
        cache_key = (number, str(path))
        with self._lock:
            frame = self._lookalikes.get(cache_key)
        if frame is None:
            target = self.root / ".icpkit" / "web" / f"lookalikes-v{number}.parquet"
            result = pipeline.find_targets(
                self.workspace, path, target, version=number, top=LOOKALIKES_MAX,
                map_columns=self.settings.universe_map,
            )  # fmt: skip
            frame = result.frame
            with self._lock:
                self._lookalikes[cache_key] = frame
        keep = [c for c in LOOKALIKE_COLUMNS if c in frame.columns]
        rows = frame.head(top).select(keep)
        rows = rows.with_columns(
            pl.col(c).fill_nan(None) for c, t in rows.schema.items() if t.is_float()
        )
        return {
            "version": number,
            "n": rows.height,
            "targets": [_listify(r) for r in rows.to_dicts()],
        }

    # ------------------------------------------------------------------ scoring

    def score_records(
        self, records: list[dict[str, Any]], map_columns: bool | None = None
    ) -> dict[str, Any]:
        """Score accounts given as JSON records in icpkit's canonical column names, or in the
        workspace's export headers (``map_columns``; None: detected from the records' fields).

        Each value is read as the same cell of a CSV file would be (``json_cell``) and typed by
        the prospect normaliser, exactly as ``icpkit score`` (with ``--map`` when mapped) and
        ``score_accounts`` type a file or a frame: the same record scores the same everywhere.
        A canonical attribute left out is scored as missing and named in ``missing_columns``.
        """
        if len(records) > self.settings.max_rows:
            raise SchemaError(
                f"{len(records)} accounts in one request; the limit is {self.settings.max_rows} "
                "(web.max_rows)"
            )
        number, profile = self.profile()
        if map_columns is None:
            map_columns = self.export_headers(number, profile, records)
        names = list(dict.fromkeys(k for r in records for k in r))
        if map_columns:
            if self.workspace.config.sources.get("accounts") is None:
                raise ConfigError(
                    "the workspace has no [sources.accounts] mapping to reuse (map=true)"
                )
            if not names:
                raise SchemaError("the records carry no field to map to the workspace's columns")
            require_mapped_field(names, self.export_names())
        ignored = [] if map_columns else unknown_fields(names, self.known_fields(number, profile))
        columns, lacking = self.record_columns(number, profile, names, mapped=map_columns)
        plan = self.plan(number, profile)
        echo = names if map_columns else [c for c in ECHO_COLUMNS if c in names]
        absent = [] if map_columns else [c for c in plan.columns if c in lacking]
        scores = None if map_columns else self.score_fast(number, profile, records, columns)
        if scores is None:
            try:
                table = score_batch(
                    plan,
                    columns,
                    columns.record_frame(records),
                    lacking=lacking,
                    outputs=OUTPUT_COLUMNS,
                )
            except SchemaError as exc:
                raise _request_error(exc) from None
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            frame = frame.with_columns(
                pl.col(c).cast(pl.Utf8) for c in ("tier", "reasons", "fit_band", *LIST_COLUMNS)
            )
            scores = frame.to_dicts()
        rows = [
            _listify({**{c: _copy(r.get(c)) for c in echo}, **score})
            for r, score in zip(records, scores, strict=True)
        ]
        return {
            "version": number,
            "mapped": bool(map_columns),
            "missing_columns": absent,
            "ignored_fields": ignored,
            "accounts": rows,
        }

    def known_fields(self, number: int, profile: IcpProfile) -> list[str]:
        """The field names ``/v1/score`` reads without mapping: the attributes the profile
        scores, the accounts table's columns (canonical and the workspace's own) and the score
        columns (a scored row sent back is not a typo)."""
        return list(
            dict.fromkeys([*self.plan(number, profile).columns, *SCHEMA["accounts"],
                           *ECHO_COLUMNS, *self.accounts().columns, *OUTPUT_COLUMNS])
        )  # fmt: skip

    def export_names(self) -> list[str]:
        """The headers ``/v1/score?map=true`` can read: the accounts mapping's columns, the
        preset's names for the accounts table, and icpkit's own names."""
        config = self.workspace.config
        source = config.sources.get("accounts")
        preset = PRESETS.get(config.preset) if config.preset else None
        names = list(source.columns.values()) if source is not None else []
        if preset is not None:
            names += [n for ns in preset.columns.get("accounts", {}).values() for n in ns]
        return list(dict.fromkeys([*names, *SCHEMA["accounts"]]))

    def record_columns(
        self, number: int, profile: IcpProfile, names: list[str], *, mapped: bool
    ) -> tuple[ProspectColumns, dict[str, Kind]]:
        """Where the records' fields go (as ``score`` finds a file's columns, through the
        accounts mapping when ``mapped``), kept per version and set of fields: the typed values
        it holds make a repeated request cheap."""
        key = (number, mapped, tuple(names))
        with self._lock:
            found = self._columns.get(key)
        if found is None:
            source = self.workspace.config.sources.get("accounts") if mapped else None
            found = resolve_columns(
                self.plan(number, profile),
                names,
                source=source,
                preset=self.workspace.config.preset if mapped else None,
                file="request",
                required=mapped,
            )
            with self._lock:
                if len(self._columns) >= COLUMN_SETS:
                    self._columns.clear()
                self._columns[key] = found
        return found

    def export_headers(
        self, number: int, profile: IcpProfile, records: list[dict[str, Any]]
    ) -> bool:
        """True when the records' fields are more the accounts export's headers than icpkit's
        names (what `score --map` would read), so they are mapped without being asked."""
        source = self.workspace.config.sources.get("accounts")
        if source is None:
            return False
        fields = {k for r in records for k in r}
        export = {v for k, v in source.columns.items() if v != k}
        canonical = {*self.plan(number, profile).columns, "account_id", "name", "domain"}
        return len(fields & export) > len(fields & canonical)

    def score_fast(
        self,
        number: int,
        profile: IcpProfile,
        records: list[dict[str, Any]],
        columns: ProspectColumns,
    ) -> list[dict[str, Any]] | None:
        """The score columns of a few records without a frame: the values typed by the same
        normaliser functions (``ProspectColumns.typed_records``), scored by :class:`RecordScorer`
        (the same answer as the batch function). None when a value is unreadable or typed in a
        way the compiled scorer does not take: the caller takes the batch path."""
        if not 0 < len(records) <= self.fast_rows:
            return None
        if number not in self._fast:
            schema = self.accounts().schema  # outside the lock: accounts() takes it too
            scorer = RecordScorer.compile(self.plan(number, profile), schema)
            with self._lock:
                self._fast.setdefault(number, scorer)
        scorer = self._fast[number]
        if scorer is None:
            return None
        typed = columns.typed_records(records)
        if typed is None:
            return None
        scores = []
        for record in typed:
            score = scorer.score(record)
            if score is None:
                return None
            scores.append(score)
        return scores

    def plan(self, number: int, profile: IcpProfile) -> ScoringPlan:
        """The scoring plan of a version, built once (a third of a single account's cost)."""
        with self._lock:
            if number not in self._plans:
                self._plans[number] = ScoringPlan.from_profile(profile, self.bands())
            return self._plans[number]

    def _band(self, profile: IcpProfile, score: int) -> dict[str, Any]:
        """The familiar 0-100 reading of a fit score and its band ([bands]), as scoring adds them."""
        if profile.tiers is None:
            return {"calibrated_score": None, "fit_band": None}
        calibrated, band = calibrate_one(score, cuts_of(profile.tiers), self.bands())
        return {"calibrated_score": calibrated, "fit_band": band}

    def bands(self) -> BandScale:
        """The workspace's band scale (``[bands]``) of ``calibrated_score`` / ``fit_band``."""
        return BandScale.from_config(self.workspace.config.bands)

    def score_upload(self, filename: str, content: bytes, *, map_columns: bool) -> dict[str, Any]:
        """Score an uploaded CSV as ``icpkit score`` (``--map`` with ``map_columns``) scores a
        file, with attributes it has no column for scored as missing; the input and the scored
        file stay in ``.icpkit/uploads/``."""
        name = safe_upload_name(filename)
        token = secrets.token_urlsafe(18)
        folder = self.upload_dir()
        source = folder / f"{token}.in{Path(name).suffix.lower() or '.csv'}"
        target = folder / f"{token}.csv"
        accounts = self.workspace.config.sources.get("accounts")
        if map_columns and accounts is None:
            raise ConfigError("the workspace has no [sources.accounts] mapping to reuse")
        source.write_bytes(content)
        try:
            number, profile = self.profile()
            n = score_file(
                profile,
                source,
                target,
                outputs=OUTPUT_COLUMNS,
                source=accounts.model_copy(update={"path": str(source)})
                if map_columns and accounts is not None
                else None,
                preset=self.workspace.config.preset if map_columns else None,
                missing=lambda _: None,
                bands=self.bands(),
            )
        finally:
            source.unlink(missing_ok=True)
        if n > self.settings.max_rows:
            target.unlink(missing_ok=True)
            raise SchemaError(f"{n} accounts uploaded; the limit is {self.settings.max_rows}")
        preview = pl.read_csv(target, n_rows=200, infer_schema_length=0)
        return {"token": token, "n": n, "version": number, "name": name, "preview": preview}

    def upload_dir(self) -> Path:
        folder = self.root / ".icpkit" / UPLOAD_DIR
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def scored_upload(self, token: str) -> Path:
        """The scored file of an upload; the token is checked, so no path leaves the folder."""
        if not TOKEN.match(token):
            raise NotFound("no such scored file")
        path = (self.upload_dir() / f"{token}.csv").resolve()
        if path.parent != self.upload_dir().resolve() or not path.exists():
            raise NotFound("no such scored file")
        return path


def safe_upload_name(filename: str) -> str:
    """The upload's own name, refused when it could name a path (``../``, ``/``, ``\\``, NUL)."""
    if (
        not filename
        or "/" in filename
        or "\\" in filename
        or ".." in filename
        or "\x00" in filename
        or not SAFE_NAME.match(filename)
    ):
        raise ConfigError(
            "the upload's file name is not allowed: use letters, digits, spaces, '.', '_', '-' "
            "and no folders"
        )
    if Path(filename).suffix.lower() not in (".csv", ".txt", ".tsv", ""):
        raise ConfigError("upload a CSV file (.csv, .tsv or .txt)")
    return filename


def _at(text: str) -> datetime:
    """A stored verdict's time (aware; a damaged one counts as long ago)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _points_words(points: int, value: str) -> str:
    if points > 0:
        return f"{value}: adds {points} points"
    if points < 0:
        return f"{value}: takes away {-points} points"
    return f"{value}: no points either way"


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _listify(row: dict[str, Any]) -> dict[str, Any]:
    for column in LIST_COLUMNS:
        value = row.get(column)
        if isinstance(value, str):
            row[column] = [v for v in value.split("; ") if v]
        elif value is None:
            row[column] = []
    return row


def _request_error(exc: SchemaError) -> SchemaError:
    """The normaliser's error about a request, naming the account as the client counts them."""
    first = next((p for p in exc.problems if p.row is not None), None)
    if first is None:
        return exc
    return SchemaError(
        f"column {first.column!r}: {first.message} (account {first.row} of the request, "
        "counting from 1)",
        exc.problems,
    )


def _stat_state(paths: Iterable[str | Path]) -> tuple[object, ...]:
    """Each file's (inode, size, mtime) as stat() sees them, None where it is missing: equal
    tuples mean no file was replaced or written in between."""
    state: list[object] = []
    for path in paths:
        try:
            st = os.stat(path)
            state.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            state.append(None)
    return tuple(state)
