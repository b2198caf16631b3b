"""The audit log: one JSON line per event, append-only and hash-chained.

``<workspace>/.icpkit/audit.jsonl`` holds one line per sync, build, promote, rollback, push, key
created or revoked, feedback and refresh: who (an API key's name or the OS user), when (UTC), what
(in words, no personal data: counts, versions, segment names), the version concerned and a few
typed details. Every line carries ``prev``, the hash of the line before it, and ``hash``, the
SHA-256 of its own content including ``prev``; so an edited line breaks its own hash and a deleted
or reordered line breaks the next line's ``prev``. :func:`verify` walks the chain. A head file
(``audit.head``) remembers the last line's number and hash, so cutting lines off the end shows
too.

The chain is tamper-*evident*, not tamper-proof: someone who can write the folder can rewrite the
whole file and its head. For that, ship the lines to an external log (the file is JSON lines).
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from icpkit.atomic import locked_beside, write_text_atomic
from icpkit.data.controls import strip_controls
from icpkit.errors import IcpError

AUDIT_FILE = "audit.jsonl"
HEAD_FILE = "audit.head"
GENESIS = "0" * 64
EVENTS = (
    "sync",
    "check",
    "build",
    "promote",
    "rollback",
    "gate",
    "push",
    "key_created",
    "key_revoked",
    "feedback",
    "refresh",
    "alert",
    "experiment",
)
_THREAD_LOCK = threading.Lock()


class AuditError(IcpError):
    """The audit log cannot be written or read."""


@dataclass(frozen=True)
class AuditEvent:
    """One line of the audit log."""

    seq: int
    at: str
    event: str
    who: str
    what: str
    version: int | None
    details: dict[str, Any]
    prev: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """The event as `icpkit audit` prints it."""
        version = f"  v{self.version}" if self.version is not None else ""
        return f"{self.at}  {self.event:<11} {self.who:<16}{version}  {self.what}"


@dataclass(frozen=True)
class AuditVerification:
    """What :func:`verify` found: ``ok`` when every line chains to the one before it."""

    path: str
    lines: int
    ok: bool
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def audit_path(workspace: Path | str) -> Path:
    """Where a workspace's audit log lives."""
    return Path(workspace) / ".icpkit" / AUDIT_FILE


def current_user() -> str:
    """The OS user running this process (the 'who' of a CLI event)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _digest(body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _locked(path: Path) -> contextlib.AbstractContextManager[None]:
    return locked_beside(path, _THREAD_LOCK)


def _last(path: Path) -> tuple[int, str]:
    """The last line's number and hash (0 and the genesis hash for an empty log)."""
    if not path.exists() or path.stat().st_size == 0:
        return 0, GENESIS
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        block = min(size, 65536)
        handle.seek(size - block)
        tail = handle.read().decode("utf-8", errors="replace").rstrip("\n")
    last = tail.rsplit("\n", 1)[-1]
    try:
        data = json.loads(last)
        return int(data["seq"]), str(data["hash"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise AuditError(
            f"{path}: the last line is not an audit event, so no new event can be chained to it; "
            "run `icpkit audit --verify` to see what changed"
        ) from None


def record(
    workspace: Path | str,
    event: str,
    what: str,
    *,
    version: int | None = None,
    who: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the workspace's audit log and return it.

    Parameters
    ----------
    workspace : Path or str
        The workspace folder.
    event : str
        One of :data:`EVENTS`.
    what : str
        What happened, in words: counts, versions and segment names only, never a person's data.
    version : int, optional
        The ICP version concerned.
    who : str, optional
        An API key's name (web) or, by default, the OS user (CLI).
    details : dict, optional
        Small typed facts (counts, exit code): JSON-ready.
    """
    if event not in EVENTS:
        raise AuditError(f"audit event must be one of {', '.join(EVENTS)}; got {event!r}")
    path = audit_path(workspace)
    actor = strip_controls(who) if who else current_user()
    with _locked(path):
        seq, prev = _last(path)
        body = {
            "seq": seq + 1,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "event": event,
            "who": actor,
            "what": strip_controls(what),
            "version": version,
            "details": json.loads(json.dumps(details or {}, default=str)),
            "prev": prev,
        }
        digest = _digest(body)
        line = json.dumps({**body, "hash": digest}, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            # O_APPEND: earlier lines are never rewritten, not even through a temporary file
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            head = json.dumps({"seq": body["seq"], "hash": digest})
            write_text_atomic(path.with_name(HEAD_FILE), head + "\n")
        except OSError as exc:
            raise AuditError(
                f"{path}: the audit event ({event}) could not be written ({exc.strerror})"
            ) from None
    return AuditEvent(**body, hash=digest)


def read(workspace: Path | str, limit: int | None = None) -> list[AuditEvent]:
    """The audit events, oldest first (the last ``limit`` when given); unreadable lines skipped."""
    path = audit_path(workspace)
    if not path.exists():
        return []
    events: list[AuditEvent] = []
    for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            data = json.loads(text)
            events.append(AuditEvent(**{k: data[k] for k in AuditEvent.__dataclass_fields__}))
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return events[-limit:] if limit else events


def verify(workspace: Path | str) -> AuditVerification:
    """Walk the chain: every line's hash must match its content and the previous line's hash."""
    path = audit_path(workspace)
    problems: list[str] = []
    if not path.exists():
        return AuditVerification(str(path), 0, True, [])
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    prev, seq = GENESIS, 0
    for number, text in enumerate(lines, 1):
        try:
            data = json.loads(text)
            stored = data.pop("hash")
        except (json.JSONDecodeError, KeyError, AttributeError, TypeError):
            problems.append(f"line {number}: not an audit event (cut or edited JSON)")
            prev, seq = "?", seq + 1
            continue
        if _digest(data) != stored:
            problems.append(f"line {number}: its content does not match its hash (edited)")
        if data.get("prev") != prev and prev != "?":
            problems.append(
                f"line {number}: does not chain to the line before it (a line before it was "
                "deleted, inserted or edited)"
            )
        if data.get("seq") != seq + 1:
            problems.append(
                f"line {number}: event number {data.get('seq')} where {seq + 1} was expected "
                "(lines deleted or reordered)"
            )
        prev, seq = stored, int(data.get("seq") or seq + 1)
    head = path.with_name(HEAD_FILE)
    if head.exists():
        try:
            want = json.loads(head.read_text(encoding="utf-8"))
            if want.get("hash") != prev or want.get("seq") != seq:
                problems.append(
                    f"the log ends at event {seq} but the head file records event "
                    f"{want.get('seq')}: lines were cut off the end or the head was edited"
                )
        except json.JSONDecodeError:
            problems.append(f"{head.name}: not readable JSON (edited)")
    elif lines:
        problems.append(f"{head.name} is missing: whether lines were cut off the end is unknown")
    return AuditVerification(str(path), len(lines), not problems, problems)
