"""What a lookalikes run found, kept in the workspace for the report's "Where to find more".

``icpkit lookalikes`` writes ``<workspace>/.icpkit/lookalikes.json`` (replaced by each run): the
universe's file name, the date, the profile version, how many listings and companies per tier, and
the top industries and countries among the best-tiered targets written. Counts and category
values only: no company, customer or person names.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.atomic import write_text_atomic
from icpkit.lookalikes.rank import Lookalikes
from icpkit.vocab import TIERS

SUMMARY_FILE = "lookalikes.json"
TOP_VALUES = 5


def run_summary(
    result: Lookalikes, *, universe: str, output: str, version: int | None, top: int
) -> dict[str, Any]:
    """The JSON-ready summary of one run."""
    frame = result.frame
    s = result.summary()
    lead = next((t for t in TIERS if (frame["tier"] == t).any()), None) if frame.height else None
    leaders = frame.filter(pl.col("tier") == lead) if lead else frame.head(0)
    values: dict[str, list[list[Any]]] = {}
    for column in ("industry", "country"):
        if column in leaders.columns and leaders[column].drop_nulls().len():
            counts = leaders[column].cast(pl.Utf8).drop_nulls().value_counts(sort=True)
            values[column] = [[str(v), int(n)] for v, n in counts.head(TOP_VALUES).iter_rows()]
    return {
        "universe": Path(universe).name,
        "output": Path(output).name,
        "date": datetime.now(UTC).date().isoformat(),
        "profile_version": version,
        "top": top,
        "n_written": frame.height,
        "n_listings": s.get("n_listings", s["n_universe"]),
        "n_companies": s.get("n_companies", s["n_universe"]),
        "n_excluded_customers": s["n_excluded_customers"],
        "tiers_listings": s["tiers"],
        "tiers_companies": s.get("tier_companies", {}),
        "lead_tier": lead,
        "lead_written": leaders.height,
        "lead_top": values,
        "missing_attributes": s["missing_attributes"],
        "text": s.get("text", {}),
    }


def save_summary(store_dir: Path, summary: dict[str, Any]) -> Path:
    """Write the summary atomically into the workspace's store folder."""
    store_dir.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(store_dir / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")


def load_summary(store_dir: Path) -> dict[str, Any] | None:
    """The last run's summary, or None when there was none (or it cannot be read)."""
    path = store_dir / SUMMARY_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
