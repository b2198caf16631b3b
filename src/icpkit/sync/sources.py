"""Point icpkit.toml's sources at the synced tables, so `check`/`build`/`score` read them.

A workspace without icpkit.toml gets one; an existing one keeps every setting and gets its
``[sources.<table>]`` entries for the synced tables replaced (rewritten through TOML, so comments
in that file are not kept). Each entry maps the CRM's field names onto icpkit's columns and drops
the sync's own columns (ids, modification times) from the attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import tomli_w

from icpkit.atomic import write_text_atomic
from icpkit.config import CONFIG_NAME, config_from_dict, read_toml
from icpkit.sync.spec import ObjectSpec


def write_sources(workspace: Path, source: str, specs: list[ObjectSpec], root: Path) -> bool:
    """Write the sources of the synced tables with rows; True when icpkit.toml changed."""
    target = workspace / CONFIG_NAME
    raw: dict[str, Any] = read_toml(target) if target.exists() else {"name": workspace.name}
    sources = dict(raw.get("sources") or {})
    for spec in specs:
        table = root / f"{spec.name}.parquet"
        if not table.exists() or pl.scan_parquet(table).select(pl.len()).collect().item() == 0:
            continue
        path = table.relative_to(workspace).as_posix()
        sources[spec.table] = spec.source_entry(path)
    if sources == raw.get("sources"):
        return False
    updated = {**raw, "sources": sources}
    config_from_dict(updated, origin=f"{CONFIG_NAME} after sync")  # never write an unreadable one
    write_text_atomic(target, tomli_w.dumps(updated))
    return True
