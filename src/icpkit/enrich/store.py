"""The enrichment kept beside the data: ``.icpkit/enrich/`` in the workspace.

``provenance.parquet`` holds one row per filled value (account, field, value, universe, record,
match probability, when), ``matches.parquet`` the account ↔ record links with their evidence, and
``summary.json`` the run's :class:`~icpkit.profile.EnrichmentSummary`. The CRM files are never
changed: when the workspace is loaded, :func:`apply_enrichment` lays the stored values over the
accounts (``enrich.apply``) and :func:`fold_duplicates` folds duplicate accounts
(``enrich.fold_duplicates``). Each file is written to a temporary name and renamed.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.atomic import atomic_path, write_text_atomic
from icpkit.data.model import CrmData
from icpkit.enrich.fill import Enrichment
from icpkit.errors import StoreError
from icpkit.profile import EnrichmentSummary, MarketSize

FOLDER = Path(".icpkit") / "enrich"


def save_enrichment(root: Path, result: Enrichment) -> Path:
    """Write the run's provenance, matches and summary under ``root/.icpkit/enrich``."""
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("provenance", result.provenance), ("matches", result.matches)):
        with atomic_path(folder / f"{name}.parquet") as tmp:
            frame.write_parquet(tmp)
    write_text_atomic(folder / "summary.json", result.summary.model_dump_json(indent=2))
    return folder


def load_summary(root: Path) -> EnrichmentSummary | None:
    """The last run's summary, or None when the workspace was never enriched."""
    path = Path(root) / FOLDER / "summary.json"
    if not path.exists():
        return None
    try:
        return EnrichmentSummary.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise StoreError(
            f"{path}: not a readable enrichment summary ({exc.__class__.__name__})"
        ) from None


def load_provenance(root: Path) -> pl.DataFrame | None:
    """Every stored value with where it came from, or None."""
    path = Path(root) / FOLDER / "provenance.parquet"
    if not path.exists():
        return None
    try:
        return pl.read_parquet(path)
    except Exception:
        raise StoreError(f"{path}: damaged; run `icpkit enrich` again") from None


def account_provenance(root: Path, account_id: str) -> list[dict[str, Any]]:
    """The enriched values of one account with their source ('industry: from FinanceDatabase,
    match 0.97'), as plain rows for the API and the account page."""
    prov = load_provenance(root)
    if prov is None:
        return []
    rows = prov.filter(pl.col("account_id") == account_id).sort("field").to_dicts()
    for row in rows:
        row["label"] = provenance_label(row)
    return rows


def provenance_label(row: dict[str, Any]) -> str:
    """'industry: from FinanceDatabase (record AALB.AS), match 0.97, 2026-12-07'."""
    return (
        f"{row['field']}: from {row['universe']} (record {row['record_id']}), "
        f"match {float(row['probability']):.2f}, {str(row['at'])[:10]}"
    )


def apply_enrichment(accounts: pl.DataFrame, root: Path) -> pl.DataFrame:
    """The accounts with the stored values laid over them (the CRM files are left as they are)."""
    prov = load_provenance(root)
    if prov is None or prov.height == 0:
        return accounts
    out = accounts
    ids = out["account_id"].cast(pl.Utf8)
    for field, rows in prov.group_by("field"):
        name = str(field[0])
        mapping = dict(zip(rows["account_id"].to_list(), rows["value"].to_list(), strict=True))
        dtype = out.schema[name] if name in out.columns else pl.Utf8
        if dtype == pl.List(pl.Utf8):
            continue
        stored = ids.replace_strict(mapping, default=None, return_dtype=pl.Utf8)
        typed = (
            stored.cast(pl.Float64, strict=False).cast(dtype, strict=False)
            if dtype.is_numeric()
            else stored.cast(dtype, strict=False)
        )
        base = (
            out[name]
            if name in out.columns
            else pl.repeat(None, out.height, dtype=dtype, eager=True)
        )
        merged = pl.select(pl.when(stored.is_not_null()).then(typed).otherwise(base)).to_series()
        out = out.with_columns(merged.alias(name))
    return out


def fold_duplicates(crm: CrmData, root: Path, threshold: float) -> CrmData:
    """Fold each duplicate account found by the last `enrich` run into the id it is kept under:
    its rows in every other table move to that id and the duplicate account row goes."""
    summary = load_summary(root)
    if summary is None or not summary.duplicates:
        return crm
    target: dict[str, str] = {}
    for pair in summary.duplicates:
        if pair.probability < threshold:
            continue
        keep = target.get(pair.account_id, pair.account_id)
        if pair.duplicate_id != keep:
            target[pair.duplicate_id] = keep
    if not target:
        return crm
    changes: dict[str, Any] = {
        "accounts": crm.accounts.filter(~pl.col("account_id").cast(pl.Utf8).is_in(list(target)))
    }
    for table in ("deals", "subscriptions", "contacts", "notes", "signals"):
        frame = crm.table(table)
        if frame is not None and "account_id" in frame.columns:
            col = frame["account_id"].cast(pl.Utf8)
            changes[table] = frame.with_columns(col.replace(target).alias("account_id"))
    return dataclasses.replace(crm, **changes)


def save_market(root: Path, market: MarketSize) -> Path:
    """Keep the last market run for the report's market section."""
    return write_text_atomic(Path(root) / FOLDER / "market.json", market.model_dump_json(indent=2))


def load_market(root: Path) -> MarketSize | None:
    """The last market run, or None."""
    path = Path(root) / FOLDER / "market.json"
    if not path.exists():
        return None
    try:
        return MarketSize.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        raise StoreError(
            f"{path}: not a readable market summary; run `icpkit market` again"
        ) from None


def summary_json(summary: EnrichmentSummary) -> str:
    return json.dumps(summary.model_dump(mode="json"), indent=2)
