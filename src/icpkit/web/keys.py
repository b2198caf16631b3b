"""API keys of a workspace: created once, stored only as salted hashes, revocable.

A key reads ``icpk_<id>_<secret>``: the id finds the stored record, the secret is checked against
``sha256(salt + secret)`` in constant time. The secret has 256 bits of entropy, so a fast salted
hash is as strong as a slow one here and keeps each request's check under a microsecond. The file
lives in the workspace's ``.icpkit/`` folder and never holds a key itself; a key is shown once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from icpkit.atomic import write_text_atomic
from icpkit.errors import ConfigError
from icpkit.lifecycle.audit import record as audit_record

Scope = Literal["read", "write"]
SCOPES: tuple[str, ...] = ("read", "write")
KEYS_FILE = "api-keys.json"
PREFIX = "icpk"
_THREAD_LOCK = threading.Lock()

try:  # POSIX; elsewhere the thread lock alone serialises one process's changes
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class KeyRecord:
    """One stored key: never the key itself, only its salted hash."""

    key_id: str
    scope: str
    salt: str
    digest: str
    created_at: str
    name: str = ""
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> dict[str, object]:
        """What `keys list` shows: no salt, no digest."""
        return {
            "key_id": self.key_id,
            "scope": self.scope,
            "name": self.name,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


class KeyStore:
    """The keys of one workspace, in ``<workspace>/.icpkit/api-keys.json``."""

    def __init__(self, workspace: Path) -> None:
        self.root = Path(workspace)
        self.path = Path(workspace) / ".icpkit" / KEYS_FILE

    def records(self) -> list[KeyRecord]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [KeyRecord(**item) for item in raw.get("keys", [])]
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{self.path}: the key file is damaged ({exc})") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One change at a time (threads and processes): a read-modify-write loses no key."""
        with _THREAD_LOCK:
            if fcntl is None:
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_name(KEYS_FILE + ".lock"), "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, records: list[KeyRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"keys": [asdict(r) for r in records]}, indent=2) + "\n"
        write_text_atomic(self.path, text)
        os.chmod(self.path, 0o600)

    def create(self, scope: str, name: str = "") -> tuple[str, KeyRecord]:
        """A new key (returned once, never stored) and its stored record."""
        if scope not in SCOPES:
            raise ConfigError(f"--scope must be read or write; got {scope!r}")
        key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        record = KeyRecord(
            key_id=key_id,
            scope=scope,
            salt=salt,
            digest=_digest(salt, secret),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            name=name,
        )
        with self._locked():
            self._write([*self.records(), record])
        # the operator's label stays in the key file: it may be a person's name, and the audit
        # log is shown on the RevOps page and shipped to others
        audit_record(self.root, "key_created", f"API key {key_id} ({scope}) created")
        return f"{PREFIX}_{key_id}_{secret}", record

    def revoke(self, key_id: str) -> KeyRecord:
        with self._locked():
            record = self._revoke(key_id)
        audit_record(self.root, "key_revoked", f"API key {record.key_id} revoked")
        return record

    def _revoke(self, key_id: str) -> KeyRecord:
        records = self.records()
        found = [r for r in records if r.key_id == key_id]
        if not found:
            raise ConfigError(f"no API key with id {key_id!r} (see `icpkit keys list`)")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        updated = [
            KeyRecord(**{**asdict(r), "revoked_at": r.revoked_at or now})
            if r.key_id == key_id
            else r
            for r in records
        ]
        self._write(updated)
        return next(r for r in updated if r.key_id == key_id)

    def verify(self, key: str) -> KeyRecord | None:
        """The active record of ``key``, or None for a wrong, malformed or revoked key."""
        prefix, _, rest = key.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != PREFIX or not key_id or not secret:
            return None
        for record in self.records():
            if (
                record.key_id == key_id
                and record.active
                and hmac.compare_digest(record.digest, _digest(record.salt, secret))
            ):
                return record
        return None
