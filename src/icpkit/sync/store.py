"""Where a sync keeps what it fetched: one Parquet table per CRM object, a cursor per object,
and a staging area that makes every run resumable.

Layout under the workspace (``crm/<source>/``)::

    companies.parquet            the synced records, one row per CRM id (what `build` reads)
    sync-state.json              per object: the cursor (modification time the table is current to)
    .staging/<object>/           the pass in progress: chunk-00001.parquet …, progress.json

A pass writes fetched records to staging chunks (each chunk written atomically, then the
``progress.json`` that names it and the CRM position after it). Only when the pass is complete
are the chunks merged into the table (atomically), then the cursor advanced, then the staging
removed. A run killed anywhere leaves either the old table with its old cursor, or the new table
with the old cursor (the next run re-reads an overlap and upserts by id: no duplicates), plus the
staging it resumes from: never a half-written table, never a cursor ahead of its data.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.atomic import atomic_path, write_text_atomic
from icpkit.atomic import lock_nonblocking as _lock
from icpkit.atomic import unlock as _unlock
from icpkit.sync.client import SyncError

ID = "id"
STATE = "sync-state.json"


@dataclass(frozen=True)
class Commit:
    """What merging a finished pass into a table changed."""

    added: int
    updated: int
    deleted: int
    rows: int


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object file, or {} when absent or unreadable (a damaged progress file means the
    pass starts over, which is always correct, just slower)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


class ObjectStore:
    """The table, cursor and staging of one CRM object (``companies``, ``Account`` …)."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.table = root / f"{name}.parquet"
        self.staging = root / ".staging" / name
        self.progress_file = self.staging / "progress.json"

    # -- cursor ---------------------------------------------------------------------------
    def cursor(self) -> str | None:
        """The ISO time the table is current to, or None before the first complete pass."""
        entry = read_json(self.root / STATE).get(self.name)
        return entry.get("cursor") if isinstance(entry, dict) else None

    def advance(self, cursor: str, mode: str) -> None:
        """Record the new cursor; called only once the table holding its data is durable."""
        state = read_json(self.root / STATE)
        state[self.name] = {"cursor": cursor, "mode": mode}
        write_text_atomic(self.root / STATE, json.dumps(state, indent=2, sort_keys=True) + "\n")

    # -- staging --------------------------------------------------------------------------
    def progress(self) -> dict[str, Any]:
        return read_json(self.progress_file)

    def start(self, plan: dict[str, Any]) -> dict[str, Any]:
        """The progress of the pass ``plan`` describes: resumed when staging holds the same plan,
        else a fresh pass (stale staging of another plan is discarded)."""
        found = self.progress()
        if found.get("plan") == plan:
            return found
        self.discard()
        fresh: dict[str, Any] = {
            "plan": plan,
            "chunks": [],
            "deletes": [],
            "position": None,
            "phase": "records",
        }
        self.staging.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.progress_file, json.dumps(fresh))
        return fresh

    def stage(
        self,
        progress: dict[str, Any],
        records: list[dict[str, Any]],
        deletes: list[str],
        position: Any,
        phase: str,
    ) -> None:
        """Make ``records``/``deletes`` durable, then move the pass's position past them."""
        if records:
            n = len(progress["chunks"]) + 1
            name = f"chunk-{n:05d}.parquet"
            frame = pl.DataFrame(records, schema={c: pl.Utf8 for c in records[0]}, orient="row")
            with atomic_path(self.staging / name) as tmp:
                frame.write_parquet(tmp)
            progress["chunks"].append(name)
        progress["deletes"].extend(deletes)
        progress["position"] = position
        progress["phase"] = phase
        write_text_atomic(self.progress_file, json.dumps(progress))

    def discard(self) -> None:
        if self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)

    # -- commit ---------------------------------------------------------------------------
    def commit(self, progress: dict[str, Any], *, full: bool, columns: tuple[str, ...]) -> Commit:
        """Merge the staged pass into the table (upsert by id, then deletes) atomically.

        ``full``: the pass saw every live record, so the table becomes exactly the staged records
        (anything else was deleted in the CRM). ``columns``: the table's columns, in order (a
        column no record had is kept, empty, so the table's shape never depends on the data).
        """
        old = self._read_table() if self.table.exists() else None
        staged = self._read_chunks(progress["chunks"])
        old_ids = set(old.get_column(ID).to_list()) if old is not None else set()
        together = [staged] if full or old is None else [old, staged]
        merged = pl.concat(together, how="diagonal_relaxed")
        merged = merged.unique(subset=ID, keep="last", maintain_order=True)
        gone = set(progress["deletes"])
        if gone:
            merged = merged.filter(~pl.col(ID).is_in(list(gone)))
        new_ids = set(merged.get_column(ID).to_list())
        staged_ids = set(staged.get_column(ID).to_list()) & new_ids
        missing = [pl.lit(None, pl.Utf8).alias(c) for c in columns if c not in merged.columns]
        merged = merged.with_columns(missing).select(columns)
        with atomic_path(self.table) as tmp:
            merged.sort(ID).write_parquet(tmp)
        return Commit(
            added=len(new_ids - old_ids),
            updated=len(staged_ids & old_ids),
            deleted=len(old_ids - new_ids),
            rows=len(new_ids),
        )

    def _read_table(self) -> pl.DataFrame:
        try:
            return pl.read_parquet(self.table)
        except Exception as exc:  # polars raises its own error types for a damaged file
            raise SyncError(
                f"{self.table.name} is damaged ({type(exc).__name__}); run the sync with --full "
                "to rebuild it from the CRM"
            ) from None

    def _read_chunks(self, names: list[str]) -> pl.DataFrame:
        frames = [pl.read_parquet(self.staging / name) for name in names]
        if not frames:
            return pl.DataFrame(schema={ID: pl.Utf8})
        return pl.concat(frames, how="diagonal_relaxed")


@contextlib.contextmanager
def exclusive(root: Path, service: str) -> Iterator[None]:
    """Hold ``.sync.lock`` for the whole sync: two syncs of one workspace would stage into the
    same folder. An OS lock, so a killed sync never leaves the workspace locked."""
    root.mkdir(parents=True, exist_ok=True)
    lock = root / ".sync.lock"
    with lock.open("a+b") as handle:
        try:
            _lock(handle.fileno())
        except OSError:
            raise SyncError(
                f"another {service} sync is running on this workspace; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            _unlock(handle.fileno())
