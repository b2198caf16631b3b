"""The version store: every build of the ICP is kept as a numbered version in SQLite.

The store lives at ``<workspace>/.icpkit/versions.sqlite``. Each version holds the profile JSON, the
config hash, a fingerprint of the data it was built from, the validation results, a UTC timestamp
and a user note. Saves are atomic: SQLite in WAL mode, one ``BEGIN IMMEDIATE`` transaction per
save (so two builds at once queue on the write lock instead of racing for a version number), and a
busy timeout. A process killed mid-save leaves every earlier version intact: the half-written
transaction is never committed and is rolled back the next time the store is opened.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl

from icpkit.atomic import folder_writable, write_text_atomic
from icpkit.data.controls import strip_controls
from icpkit.data.model import CrmData
from icpkit.errors import StoreError
from icpkit.profile import IcpProfile

STORE_DIR = ".icpkit"
STORE_NAME = "versions.sqlite"
STORE_SCHEMA = 1
BUSY_TIMEOUT_S = 60.0

_CREATE = """
CREATE TABLE IF NOT EXISTS versions (
    version      INTEGER PRIMARY KEY,
    created_at   TEXT NOT NULL,
    name         TEXT NOT NULL,
    config_hash  TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    validation   TEXT,
    note         TEXT NOT NULL DEFAULT '',
    profile_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS version_state (
    version    INTEGER PRIMARY KEY,
    status     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL,
    data_until TEXT,
    gate       TEXT,
    config     TEXT
);
CREATE TABLE IF NOT EXISTS live_history (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    version  INTEGER NOT NULL,
    previous INTEGER,
    at       TEXT NOT NULL,
    action   TEXT NOT NULL,
    who      TEXT NOT NULL DEFAULT ''
);
"""

# What a version is to the lifecycle (``version_state.status``): built by hand (``icpkit build``,
# live at once), a candidate waiting for the gate, rejected by it, or promoted by it or by hand.
STATUSES = ("built", "candidate", "rejected", "promoted")

_INFO_COLUMNS = "version, created_at, name, config_hash, note, fingerprint"


def fingerprint(crm: CrmData) -> dict[str, Any]:
    """Row counts and a content hash per source table, to tell whether two builds saw the same data.

    The hash combines the column names and polars' row hashes (seed 0), so it is fast on millions of
    rows. It is stable for one polars version; a polars upgrade may change it (the row counts and
    column names still compare).

    Parameters
    ----------
    crm : CrmData
        The loaded CRM.

    Returns
    -------
    dict
        ``{table: {"rows": int, "columns": [...], "hash": "16 hex digits"}}`` per present table.
    """
    result: dict[str, Any] = {}
    for name, frame in crm.frames().items():
        digest = hashlib.sha256()
        digest.update("\x1f".join(frame.columns).encode())
        if frame.height:
            digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
        result[name] = {
            "rows": frame.height,
            "columns": frame.columns,
            "hash": digest.hexdigest()[:16],
        }
    return result


@dataclass(frozen=True)
class VersionInfo:
    """One line of the version list: what `icpkit versions` prints."""

    version: int
    created_at: str
    name: str
    config_hash: str
    note: str
    rows: dict[str, int] = field(default_factory=dict)
    status: str = ""  # live, candidate, rejected or empty

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_line(self) -> str:
        rows = ", ".join(f"{t} {n}" for t, n in self.rows.items())
        note = f"  {self.note}" if self.note else ""
        mark = f"  [{self.status}]" if self.status else ""
        return (
            f"v{self.version}  {self.created_at}  config {self.config_hash}  ({rows}){mark}{note}"
        )


@dataclass(frozen=True)
class StoredVersion:
    """A whole saved version: the profile JSON and everything stored beside it."""

    version: int
    created_at: str
    name: str
    config_hash: str
    note: str
    fingerprint: dict[str, Any]
    validation: dict[str, Any] | None
    profile_json: str

    def profile(self) -> IcpProfile:
        """The stored ICP as an IcpProfile."""
        return IcpProfile.from_json(self.profile_json)

    def info(self) -> VersionInfo:
        rows = {t: int(v.get("rows", 0)) for t, v in self.fingerprint.items()}
        return VersionInfo(
            self.version, self.created_at, self.name, self.config_hash, self.note, rows
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["profile"] = json.loads(out.pop("profile_json"))
        return out


class Store:
    """The versions of one workspace, in ``<workspace>/.icpkit/versions.sqlite``.

    Creating a Store touches nothing on disk; the first :meth:`save` creates the folder and file.
    Reading from a workspace that has no store raises :class:`~icpkit.errors.StoreError`.

    Parameters
    ----------
    workspace_dir : Path
        The workspace folder (the one holding ``icpkit.toml``).
    """

    def __init__(self, workspace_dir: Path) -> None:
        self.workspace_dir = Path(workspace_dir)
        self.path = self.workspace_dir / STORE_DIR / STORE_NAME

    def check_writable(self) -> None:
        """Raise StoreError when a new version could not be saved (the folder is read-only)."""
        folder = self.path.parent if self.path.parent.exists() else self.workspace_dir
        if folder.exists() and not folder_writable(folder):
            raise StoreError(self._read_only())

    # -- connections ------------------------------------------------------------------------------
    @contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.exists():
            raise StoreError(
                f"{self.path}: no version store here yet "
                "(run `icpkit build` to save the first version)"
            )
        if create:
            self.check_writable()
        read_only = self.path.exists() and not folder_writable(self.path.parent)
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the transaction is explicit.
        # In a read-only folder SQLite cannot make its WAL files: read the file as immutable
        # (nobody can write it there either), so score and report still work.
        where = f"file:{quote(str(self.path.resolve()))}?immutable=1" if read_only else self.path
        conn = sqlite3.connect(where, timeout=BUSY_TIMEOUT_S, isolation_level=None, uri=read_only)
        try:
            if not read_only:
                conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
            if create:
                conn.executescript(_CREATE)
            self._check_schema(conn)
            yield conn
        except sqlite3.DatabaseError as exc:
            if "readonly" in str(exc).lower():  # made read-only since the check above
                raise StoreError(self._read_only()) from None
            if _is_disk_full(exc):
                raise StoreError(
                    f"{self.path}: the disk is full (or a file size limit was reached); nothing "
                    "was saved. Free some space and try again."
                ) from None
            raise StoreError(
                f"{self.path}: the version store cannot be read ({exc}). To recover: "
                "`icpkit versions --export DIR` saves whatever versions are still readable; "
                f"then move {self.path.name} aside and build again."
            ) from None
        finally:
            conn.close()

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "versions" not in names:
            raise StoreError(f"{self.path}: not an icpkit version store (no 'versions' table)")

    # -- writing ----------------------------------------------------------------------------------
    def save(
        self,
        profile_json: str,
        *,
        config_hash: str,
        fingerprint: dict[str, Any],
        validation: dict[str, Any] | None,
        note: str = "",
        candidate: bool = False,
        data_until: str | None = None,
        who: str = "",
        config_json: str | None = None,
    ) -> int:
        """Save a new version atomically and return its number (1, 2, …; unique and gap-free).

        A plain save makes the new version the one in use (the live pointer moves in the same
        transaction); ``candidate=True`` stores it beside the live one, waiting for the promotion
        gate (:mod:`icpkit.refresh.gate`) or ``icpkit promote``.

        Parameters
        ----------
        profile_json : str
            The profile, as ``IcpProfile.to_json()``; checked to be a valid profile before saving.
        config_hash : str
            ``WorkspaceConfig.content_hash()`` of the config the build used.
        fingerprint : dict
            :func:`fingerprint` of the data the build used.
        validation : dict or None
            ``ValidationSection.to_dict()``, when a backtest ran.
        note : str
            The user's note (``icpkit build --note``).
        candidate : bool
            Save as a candidate: the live version does not change.
        data_until : str or None
            The last day of data the build saw (ISO date: the newest deal's created_at), so the
            gate can compare a later candidate with this one on deals it never saw.
        who : str
            Who built it (an API key's name or the OS user), for the live pointer's history.
        config_json : str or None
            The settings that shaped the build (no secrets), so the gate can rebuild this
            version's procedure on a later cut.
        """
        name = IcpProfile.from_json(profile_json).name
        note = strip_controls(note)  # printed by `versions` and the reports: no escapes
        fp_text = json.dumps(fingerprint, sort_keys=True, default=str)
        val_text = None if validation is None else json.dumps(validation, default=str)
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")
        with self._connect(create=True) as conn:
            self._refuse_if_damaged(conn)
            # BEGIN IMMEDIATE takes the write lock before reading max(version), so two concurrent
            # saves cannot pick the same number; a kill before COMMIT leaves nothing behind.
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM versions").fetchone()
                version = int(row[0])
                conn.execute(
                    "INSERT INTO versions (version, created_at, name, config_hash, fingerprint,"
                    " validation, note, profile_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (version, stamp, name, config_hash, fp_text, val_text, note, profile_json),
                )
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)",
                    (str(STORE_SCHEMA),),
                )
                conn.execute(
                    "INSERT OR REPLACE INTO version_state (version, status, reason, decided_at,"
                    " data_until, config) VALUES (?, ?, '', ?, ?, ?)",
                    (
                        version,
                        "candidate" if candidate else "built",
                        stamp,
                        data_until,
                        config_json,
                    ),
                )
                if not candidate:
                    _move_live(conn, version, stamp, "build", who)
                conn.execute("COMMIT")
            except BaseException as exc:
                # SQLite may already have rolled back (disk full, I/O error): rolling back again
                # would raise "cannot rollback - no transaction is active" over the real error.
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error) and _is_disk_full(exc):
                    raise StoreError(
                        f"{self.path}: the disk is full (or a file size limit was reached) while "
                        "saving the new version; nothing was saved and the earlier versions "
                        "are intact. Free some space and build again."
                    ) from None
                raise
        return version

    def _refuse_if_damaged(self, conn: sqlite3.Connection) -> None:
        """Refuse to write into a store that fails SQLite's check or holds unreadable rows."""
        problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise StoreError(self._damaged(f"SQLite's integrity check fails: {problems[0]}"))
        damaged = _damaged_versions(conn)
        if damaged:
            listed = ", ".join(f"v{v} ({why})" for v, why in damaged)
            raise StoreError(self._damaged(f"version(s) {listed}"))

    def _read_only(self) -> str:
        return (
            f"the workspace folder is read-only: {STORE_DIR}/{STORE_NAME} cannot be written, so "
            "no version can be saved. Make the folder writable (or copy the workspace to a "
            "writable one) and run again; nothing was changed."
        )

    def _damaged(self, detail: str) -> str:
        return (
            f"{self.path}: the version store is damaged ({detail}); icpkit will not write into "
            "it. To recover: `icpkit versions --export DIR` saves every readable version's JSON, "
            f"then move {self.path.name} aside and build again."
        )

    def export(self, directory: Path) -> tuple[builtins.list[Path], builtins.list[str]]:
        """Write each readable version's profile JSON to ``directory`` (``icp-v<N>.json``).

        Works on a damaged store: every row is read on its own, so one bad row or page costs
        only that version. Returns the files written and a line per version that could not be.
        """
        directory = Path(directory)
        written: builtins.list[Path] = []
        skipped: builtins.list[str] = []
        with self._connect(create=False) as conn:
            try:
                numbers = [int(r[0]) for r in conn.execute("SELECT version FROM versions")]
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"{self.path}: not even the version list can be read ({exc})"
                ) from None
            for number in sorted(numbers):
                try:
                    row = conn.execute(
                        "SELECT profile_json FROM versions WHERE version = ?", (number,)
                    ).fetchone()
                    json.loads(row[0])
                except (sqlite3.DatabaseError, json.JSONDecodeError, TypeError) as exc:
                    skipped.append(f"v{number}: unreadable ({exc})")
                    continue
                written.append(write_text_atomic(directory / f"icp-v{number}.json", row[0]))
        return written, skipped

    # -- reading ----------------------------------------------------------------------------------
    def list(self) -> builtins.list[VersionInfo]:
        """Every saved version, oldest first."""
        with self._connect(create=False) as conn:
            rows = conn.execute(f"SELECT {_INFO_COLUMNS} FROM versions ORDER BY version").fetchall()
            damaged = dict(_damaged_versions(conn))
            live = _live(conn)
            states = _states(conn)
        infos = [_info_from_row(r, damaged.get(int(r[0]))) for r in rows]
        return [
            replace(i, status=_shown_status(i.version, live, states.get(i.version))) for i in infos
        ]

    def to_frame(self) -> pl.DataFrame:
        """The version list as a frame (version, created_at, name, config_hash, note)."""
        infos = self.list()
        return pl.DataFrame(
            [{k: v for k, v in i.to_dict().items() if k != "rows"} for i in infos],
            schema={
                "version": pl.Int64,
                "created_at": pl.Utf8,
                "name": pl.Utf8,
                "config_hash": pl.Utf8,
                "note": pl.Utf8,
            },
        )

    def get(self, version: int | str) -> StoredVersion:
        """One version: an integer, ``'v3'``, ``'3'``, ``'latest'`` or ``'previous'``.

        Raises
        ------
        StoreError
            When the store is missing or holds no such version (the message lists those that exist).
        """
        with self._connect(create=False) as conn:
            existing = [
                int(r[0]) for r in conn.execute("SELECT version FROM versions ORDER BY version")
            ]
            number = _resolve(version, existing, self.path, conn)
            row = conn.execute(
                "SELECT version, created_at, name, config_hash, note, fingerprint, validation,"
                " profile_json FROM versions WHERE version = ?",
                (number,),
            ).fetchone()
        for column, text in (("fingerprint", row[5]), ("validation", row[6]), ("profile", row[7])):
            if column == "validation" and text is None:
                continue
            _loads(text, f"{self.path}: version {number} is damaged: its {column}")
        return StoredVersion(
            version=int(row[0]),
            created_at=row[1],
            name=row[2],
            config_hash=row[3],
            note=strip_controls(row[4] or ""),
            fingerprint=json.loads(row[5]),
            validation=None if row[6] is None else json.loads(row[6]),
            profile_json=row[7],
        )

    def latest(self) -> StoredVersion:
        """The version in use (the live one; see :meth:`live`)."""
        return self.get("latest")

    # -- the version in use -----------------------------------------------------------------------
    def live(self) -> int | None:
        """The number of the version in use, or None when the store is empty or absent.

        The live pointer is kept in the ``meta`` table; a store written before it existed has
        none, and then the newest version that is not a candidate or rejected is the one in use
        (what every earlier icpkit did: the newest build).
        """
        if not self.path.exists():
            return None
        with self._connect(create=False) as conn:
            return _live(conn)

    def state(self, version: int) -> dict[str, Any]:
        """The lifecycle state of one version: status, reason, decided_at, data_until, gate."""
        with self._connect(create=False) as conn:
            live = _live(conn)
            row = _state_row(conn, version)
        if row is None:
            status = "live" if version == live else ""
            return {"version": version, "status": status, "stored_status": "built", "reason": "",
                    "decided_at": None, "data_until": None, "gate": None,
                    "config": None}  # fmt: skip
        return {
            "version": version,
            "status": _shown_status(version, live, row[0]),
            "stored_status": row[0],
            "reason": row[1],
            "decided_at": row[2],
            "data_until": row[3],
            "gate": None if row[4] is None else json.loads(row[4]),
            "config": None if row[5] is None else json.loads(row[5]),
        }

    def set_live(self, version: int | str, *, action: str, who: str = "") -> tuple[int | None, int]:
        """Make ``version`` the one in use in one transaction; return (previous live, new live).

        Every version stays stored; only the pointer (and its history) changes, so a promote or a
        rollback takes one small SQLite write. ``action`` (promote, rollback, gate) is recorded.
        """
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")
        with self._connect(create=True) as conn:
            self._refuse_if_damaged(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                existing = [
                    int(r[0]) for r in conn.execute("SELECT version FROM versions ORDER BY version")
                ]
                number = _resolve(version, existing, self.path, conn)
                before = _live(conn)
                _move_live(conn, number, stamp, action, who)
                if action != "rollback":
                    conn.execute(
                        "UPDATE version_state SET status = 'promoted', decided_at = ? "
                        "WHERE version = ? AND status IN ('candidate', 'rejected')",
                        (stamp, number),
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
        return before, number

    def mark(
        self, version: int, status: str, reason: str = "", gate: dict[str, Any] | None = None
    ) -> None:
        """Record the gate's decision on a version (status one of :data:`STATUSES`)."""
        if status not in STATUSES:
            raise StoreError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")
        gate_text = None if gate is None else json.dumps(gate, default=str)
        with self._connect(create=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if _state_row(conn, version) is None:
                    conn.execute(
                        "INSERT INTO version_state (version, status, reason, decided_at, gate)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (version, status, strip_controls(reason), stamp, gate_text),
                    )
                else:
                    conn.execute(
                        "UPDATE version_state SET status = ?, reason = ?, decided_at = ?,"
                        " gate = COALESCE(?, gate) WHERE version = ?",
                        (status, strip_controls(reason), stamp, gate_text, version),
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def history(self) -> builtins.list[dict[str, Any]]:
        """Every move of the live pointer, oldest first (version, previous, at, action, who)."""
        with self._connect(create=False) as conn:
            if not _has_table(conn, "live_history"):
                return []
            rows = conn.execute(
                "SELECT version, previous, at, action, who FROM live_history ORDER BY seq"
            ).fetchall()
        return [
            {"version": r[0], "previous": r[1], "at": r[2], "action": r[3], "who": r[4]}
            for r in rows
        ]


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def _states(conn: sqlite3.Connection) -> dict[int, str]:
    if not _has_table(conn, "version_state"):
        return {}
    return {int(v): s for v, s in conn.execute("SELECT version, status FROM version_state")}


def _state_row(conn: sqlite3.Connection, version: int) -> tuple[Any, ...] | None:
    if not _has_table(conn, "version_state"):
        return None
    row = conn.execute(
        "SELECT status, reason, decided_at, data_until, gate, config FROM version_state"
        " WHERE version = ?",
        (version,),
    ).fetchone()
    return None if row is None else tuple(row)


def _live(conn: sqlite3.Connection) -> int | None:
    """The live pointer; for a store without one, the newest version not waiting or rejected."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'live'").fetchone()
    if row is not None:
        return int(row[0])
    states = _states(conn)
    numbers = [int(r[0]) for r in conn.execute("SELECT version FROM versions ORDER BY version")]
    usable = [n for n in numbers if states.get(n) not in ("candidate", "rejected")]
    return usable[-1] if usable else None


def _move_live(conn: sqlite3.Connection, version: int, stamp: str, action: str, who: str) -> None:
    before = _live(conn)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('live', ?)", (str(version),))
    conn.execute(
        "INSERT INTO live_history (version, previous, at, action, who) VALUES (?, ?, ?, ?, ?)",
        (version, before, stamp, action, strip_controls(who)),
    )


def _previous_live(conn: sqlite3.Connection, existing: builtins.list[int]) -> int | None:
    """The version in use before the current one: from the pointer's history, else the newest
    usable version below the live one."""
    live = _live(conn)
    if _has_table(conn, "live_history"):
        for (previous,) in conn.execute(
            "SELECT previous FROM live_history WHERE version = ? ORDER BY seq DESC", (live,)
        ):
            if previous is not None and previous != live and previous in existing:
                return int(previous)
    states = _states(conn)
    below = [
        n
        for n in existing
        if (live is None or n < live) and states.get(n) not in ("candidate", "rejected")
    ]
    return below[-1] if below else None


def _shown_status(version: int, live: int | None, stored: str | None) -> str:
    """What `icpkit versions` shows: live, candidate, rejected, or nothing (an earlier version)."""
    if version == live:
        return "live"
    return stored if stored in ("candidate", "rejected") else ""


def _info_from_row(row: tuple[Any, ...], damaged: str | None = None) -> VersionInfo:
    try:
        fp = json.loads(row[5])
    except (json.JSONDecodeError, TypeError):
        fp = {}
    rows = {t: int(v.get("rows", 0)) for t, v in fp.items() if isinstance(v, dict)}
    note = strip_controls(row[4] or "")  # a note saved before notes were cleaned
    note = note if damaged is None else f"DAMAGED ({damaged}) {note}".strip()
    return VersionInfo(int(row[0]), row[1], row[2], row[3], note, rows)


def _damaged_versions(conn: sqlite3.Connection) -> builtins.list[tuple[int, str]]:
    """Versions whose stored JSON is not valid JSON, with the columns at fault."""
    rows = conn.execute(
        "SELECT version, json_valid(profile_json), json_valid(fingerprint),"
        " validation IS NULL OR json_valid(validation) FROM versions ORDER BY version"
    ).fetchall()
    out = []
    for version, profile_ok, fp_ok, val_ok in rows:
        bad = [
            c
            for c, ok in (("profile", profile_ok), ("fingerprint", fp_ok), ("validation", val_ok))
            if not ok
        ]
        if bad:
            out.append((int(version), ", ".join(bad) + " not valid JSON"))
    return out


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        raise StoreError(
            f"{what} is not valid JSON; `icpkit versions --export DIR` saves the readable versions"
        ) from None


def _is_disk_full(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "full" in text or "disk i/o" in text or "too large" in text


def _resolve(
    version: int | str, existing: list[int], path: Path, conn: sqlite3.Connection | None = None
) -> int:
    """Turn a user's version reference into a stored version number.

    'latest' (and 'live') is the version in use, which is the newest one unless a candidate waits
    or was rejected, or a promote/rollback moved the pointer; 'newest' is the highest number;
    'previous' the version in use before the current one.
    """
    listed = ", ".join(f"v{v}" for v in existing) or "none"
    if not existing:
        raise StoreError(f"{path}: the store holds no versions yet (run `icpkit build`)")
    if isinstance(version, str):
        text = version.strip().lower()
        if text == "newest":
            return existing[-1]
        if text in ("latest", "live"):
            live = None if conn is None else _live(conn)
            if live is None or live not in existing:
                return existing[-1]
            return live
        if text == "previous":
            previous = None if conn is None else _previous_live(conn, existing)
            if previous is None and conn is None and len(existing) >= 2:
                previous = existing[-2]
            if previous is None:
                raise StoreError(f"{path}: there is no previous version (versions: {listed})")
            return previous
        digits = text[1:] if text.startswith("v") else text
        if not (digits.isascii() and digits.isdigit()):
            raise StoreError(
                f"version {version!r} is not understood (expected a number, 'v3', 'latest', "
                f"'live', 'newest' or 'previous'; versions: {listed})"
            )
        version = int(digits)
    if version not in existing:
        raise StoreError(f"{path}: no version {version} (versions: {listed})")
    return version
