"""`icpkit promote` and `icpkit rollback`: move the version in use in one step, audited.

Only the store's live pointer moves (one SQLite transaction); every version stays stored. The
server, ``score``, ``prioritize`` and the exports follow the pointer on their next read.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from icpkit.errors import StoreError
from icpkit.lifecycle.audit import record as audit_record
from icpkit.lifecycle.store import Store


@dataclass(frozen=True)
class LiveChange:
    """A move of the live pointer: from which version to which, by whom, how long it took."""

    action: str
    previous: int | None
    live: int
    seconds: float
    status_before: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        was = f"v{self.previous}" if self.previous is not None else "none"
        note = f" (it was {self.status_before})" if self.status_before else ""
        return (
            f"{self.action}: v{self.live} is now the version in use{note}; before: {was} "
            f"({self.seconds * 1000:.0f} ms)"
        )


def promote(workspace: Path | str, version: int | str, *, who: str | None = None) -> LiveChange:
    """Make ``version`` the version in use (a candidate, a rejected one, or any earlier one)."""
    return _move(Path(workspace), version, "promote", who)


def rollback(
    workspace: Path | str, version: int | str | None = None, *, who: str | None = None
) -> LiveChange:
    """Go back to ``version``, by default the version in use before the current one."""
    return _move(Path(workspace), "previous" if version is None else version, "rollback", who)


def _move(root: Path, version: int | str, action: str, who: str | None) -> LiveChange:
    store = Store(root)
    start = time.perf_counter()
    number = store.get(version).version
    status = store.state(number)["status"]
    if status == "live":
        raise StoreError(f"v{number} is already the version in use; nothing changed")
    previous, live = store.set_live(number, action=action, who=who or "")
    seconds = time.perf_counter() - start
    audit_record(
        root, action, f"{action}: v{previous} → v{live}" if previous else f"{action}: v{live}",
        version=live, who=who, details={"from": previous, "status_before": status},
    )  # fmt: skip
    return LiveChange(action, previous, live, seconds, status)
