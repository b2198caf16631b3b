"""What the API and the pages ask of a workspace, as plain dicts: a thin layer over the pipeline.

The workspace's accounts are loaded once and scored once per version (both cached), so looking up
an account costs a dictionary lookup and one explanation, not a reload. Nothing here imports
FastAPI: the HTTP edges (``app.py``) only translate.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.csv as pacsv

from icpkit import pipeline
from icpkit.atomic import atomic_path
from icpkit.config import SourceConfig, WebConfig
from icpkit.data import load_workspace as load_crm
from icpkit.errors import ConfigError, IcpError, Problem, SchemaError
from icpkit.lifecycle.store import StoredVersion
from icpkit.profile import IcpProfile
from icpkit.scoring import OUTPUT_COLUMNS, ScoringPlan, csv_safe, explain_accounts, score_frame
from icpkit.scoring.apply import to_arrow
from icpkit.scoring.records import RecordScorer
from icpkit.web.keys import KeyStore

UPLOAD_DIR = "uploads"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,120}$")
LIST_COLUMNS = ("criteria_met", "disqualifiers_hit")
ECHO_COLUMNS = ("account_id", "name", "domain")
FAST_ROWS = 100  # requests with up to this many accounts may take the dict fast path


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
        self._accounts: pl.DataFrame | None = None
        self._scored: dict[int, pl.DataFrame] = {}
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
        state: list[object] = []
        for name in self._store_files:
            try:
                st = os.stat(name)
                state.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                state.append(None)
        return tuple(state)

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

    def accounts(self) -> pl.DataFrame:
        with self._lock:
            if self._accounts is None:
                frame = self.workspace.load().accounts
                self._accounts = frame.with_columns(pl.col("account_id").cast(pl.Utf8))
            return self._accounts

    def scored(self, version: str | int = "latest") -> tuple[int, pl.DataFrame]:
        number, profile = self.profile(version)
        accounts = self.accounts()
        with self._lock:
            if number not in self._scored:
                self._scored[number] = score_frame(profile, accounts)
            return number, self._scored[number]

    def search(self, query: str, limit: int = 25) -> list[dict[str, Any]]:
        """Accounts whose name or domain contains ``query`` (any case), best fit first."""
        text = query.strip().lower()
        if not text:
            return []
        _, scored = self.scored()
        hit = pl.lit(False)
        for column in ("name", "domain", "account_id"):
            if column in scored.columns:
                hit = hit | pl.col(column).cast(pl.Utf8).str.to_lowercase().str.contains(
                    text, literal=True
                ).fill_null(False)
        found = scored.filter(hit).sort("fit_score", descending=True).head(limit)
        keep = [
            c for c in ("account_id", "name", "domain", "tier", "fit_score") if c in found.columns
        ]
        return found.select(keep).to_dicts()

    def account(self, account_id: str, version: str | int = "latest") -> dict[str, Any]:
        """Tier, score, the points in words, criteria met and missed, disqualifiers of one account."""
        number, profile = self.profile(version)
        number, scored = self.scored(number)
        rows = scored.with_row_index("_row").filter(pl.col("account_id") == account_id)
        if rows.height == 0:
            raise NotFound(f"no account with id {account_id!r} in this workspace")
        row = rows.row(0, named=True)
        why = explain_accounts(profile, self.accounts(), rows=[int(row["_row"])])[0]
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
            "fit_probability": row.get("fit_probability"),
            "reasons": [r for r in (row.get("reasons") or "").split("; ") if r],
            "reasons_for": why.reasons_for,
            "reasons_against": why.reasons_against,
            "points": points,
            "base_points": why.base,
            "criteria_met": why.criteria_met,
            "criteria_missed": why.criteria_missed,
            "disqualifiers_hit": why.disqualifiers_hit,
        }

    # ------------------------------------------------------------------ scoring

    def score_records(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Score accounts given as JSON records in icpkit's canonical column names."""
        if len(records) > self.settings.max_rows:
            raise SchemaError(
                f"{len(records)} accounts in one request; the limit is {self.settings.max_rows} "
                "(web.max_rows)"
            )
        number, profile = self.profile()
        fast = self.score_fast(number, profile, records)
        if fast is not None:
            return fast
        try:
            frame = pl.DataFrame(records, infer_schema_length=None)
        except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
            raise SchemaError(f"the accounts could not be read as one table: {exc}") from None
        if frame.width == 0:  # records with no field at all: one row each, every attribute missing
            frame = pl.DataFrame({"__row__": list(range(len(records)))})
        frame, absent = self.conform(number, profile, frame)
        plan = self.plan(number, profile)
        plan.check_columns(frame.columns, origin="request")
        table = pl.from_arrow(plan.score_table(to_arrow(frame, plan.columns), reasons=True))
        assert isinstance(table, pl.DataFrame)
        keep = [c for c in ("account_id", "name", "domain") if c in frame.columns]
        scores = table.select([c for c in OUTPUT_COLUMNS if c in table.columns]).with_columns(
            pl.col(c).cast(pl.Utf8)
            for c in ("tier", "reasons", *LIST_COLUMNS)
            if c in table.columns
        )
        out = frame.select(keep).hstack(scores) if keep else scores
        return {
            "version": number,
            "missing_columns": absent,
            "accounts": [_listify(r) for r in out.to_dicts()],
        }

    def score_fast(
        self, number: int, profile: IcpProfile, records: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """``score_records`` without a frame (:class:`RecordScorer`), with the same answer; None
        when a record holds a value the frame path would cast (or refuse), or a key changes type
        between records (the frame path reads them as one table)."""
        if not 0 < len(records) <= self.fast_rows:
            return None
        if number not in self._fast:
            schema = self.accounts().schema  # outside the lock: accounts() takes it too
            scorer = RecordScorer.compile(ScoringPlan.from_profile(profile), schema)
            with self._lock:
                self._fast.setdefault(number, scorer)
        scorer = self._fast[number]
        if scorer is None or not _one_type_per_key(records):
            return None
        keys = {k for r in records for k in r}
        echo = [c for c in ECHO_COLUMNS if c in keys]
        rows = []
        for record in records:
            scores = scorer.score(record)
            if scores is None:
                return None
            rows.append(_listify({**{c: _copy(record.get(c)) for c in echo}, **scores}))
        absent = [c for c in scorer.columns if c not in keys]
        return {"version": number, "missing_columns": absent, "accounts": rows}

    def plan(self, number: int, profile: IcpProfile) -> ScoringPlan:
        """The scoring plan of a version, built once (a third of a single account's cost)."""
        with self._lock:
            if number not in self._plans:
                self._plans[number] = ScoringPlan.from_profile(profile)
            return self._plans[number]

    def conform(
        self, number: int, profile: IcpProfile, frame: pl.DataFrame
    ) -> tuple[pl.DataFrame, list[str]]:
        """Give ``frame`` every attribute the profile scores, typed like the workspace's accounts.

        An attribute left out is scored as missing, like an empty column; a value that cannot be
        read as the workspace reads it is a SchemaError naming the column.
        """
        needed = self.plan(number, profile).columns
        schema = self.accounts().schema
        absent = [c for c in needed if c not in frame.columns]
        frame = frame.with_columns(
            pl.lit(None).cast(schema.get(c, pl.Utf8)).alias(c) for c in absent
        )
        for column in needed:
            want = schema.get(column)
            if want is not None and frame.schema[column] != want:
                try:
                    frame = frame.with_columns(pl.col(column).cast(want))
                except pl.exceptions.PolarsError:
                    raise SchemaError(
                        f"column {column!r}: expected {want} values like the workspace's accounts",
                        [Problem("request", f"expected {want} values", column=column)],
                    ) from None
        return frame, absent

    def score_upload(self, filename: str, content: bytes, *, map_columns: bool) -> dict[str, Any]:
        """Score an uploaded CSV; the input and the scored file stay in ``.icpkit/uploads/``."""
        name = safe_upload_name(filename)
        token = secrets.token_urlsafe(18)
        folder = self.upload_dir()
        source = folder / f"{token}.in{Path(name).suffix.lower() or '.csv'}"
        target = folder / f"{token}.csv"
        source.write_bytes(content)
        try:
            number, profile = self.profile()
            frame = self.read_accounts(source, map_columns=map_columns)
        finally:
            source.unlink(missing_ok=True)
        n = frame.height
        if n > self.settings.max_rows:
            raise SchemaError(f"{n} accounts uploaded; the limit is {self.settings.max_rows}")
        frame, _ = self.conform(number, profile, frame)
        scored = score_frame(profile, frame)
        flat = scored.with_columns(
            pl.col(c).list.join("; ") for c, t in scored.schema.items() if isinstance(t, pl.List)
        )
        with atomic_path(target) as tmp:
            pacsv.write_csv(csv_safe(flat.to_arrow()), tmp)
        preview = pl.read_csv(target, n_rows=200, infer_schema_length=0)
        return {"token": token, "n": n, "version": number, "name": name, "preview": preview}

    def read_accounts(self, path: Path, *, map_columns: bool) -> pl.DataFrame:
        """A file read and normalised like an accounts source: with ``map_columns`` through the
        workspace's own accounts mapping (an export in the CRM's headers), else in icpkit's names."""
        accounts = self.workspace.config.sources.get("accounts")
        if map_columns and accounts is None:
            raise ConfigError("the workspace has no [sources.accounts] mapping to reuse")
        base = accounts if map_columns and accounts is not None else SourceConfig(path="")
        source = base.model_copy(update={"path": str(path)})
        config = self.workspace.config.model_copy(update={"sources": {"accounts": source}})
        frame = load_crm(config, self.root).accounts
        return frame.with_columns(pl.col("account_id").cast(pl.Utf8))

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


def _points_words(points: int, value: str) -> str:
    if points > 0:
        return f"{value}: adds {points} points"
    if points < 0:
        return f"{value}: takes away {-points} points"
    return f"{value}: no points either way"


def _one_type_per_key(records: list[dict[str, Any]]) -> bool:
    """Every key holds one Python type (or None) across the records, as one table column would."""
    if len(records) == 1:
        return True
    seen: dict[str, type] = {}
    for record in records:
        for key, value in record.items():
            if value is not None and seen.setdefault(key, type(value)) is not type(value):
                return False
    return True


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
