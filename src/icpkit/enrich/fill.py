"""Fill the CRM's missing firmographics from company universes, in waterfall order, with provenance.

For each universe in the configured order, every CRM account is linked to at most one record
(:mod:`icpkit.enrich.link`); a field the account lacks is filled from the first universe whose
matched record has it. A value the CRM already has is kept (unless ``overwrite``) and a different
universe value is listed as a conflict; so is a later universe disagreeing with the value an
earlier one gave. Every filled value carries its provenance: the universe, the record, the match
probability and when. Industries are mapped onto the workspace's own values (same word, the
configured ``industry_map``, or a close spelling); a label that maps to none is not filled and is
counted as unmapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from icpkit.enrich.link import (
    best_matches,
    evidence,
    linkage_frame,
    one_per_company,
    predict_pairs,
)
from icpkit.enrich.universe import Universe
from icpkit.profile import DuplicatePair, EnrichmentSummary, SourceFill, ValueConflict

NUMERIC = {"employees": pl.Float64, "annual_revenue": pl.Float64, "founded_year": pl.Int64}


@dataclass(frozen=True)
class Enrichment:
    """One enrichment run: the accounts with values filled, each value's provenance, the summary."""

    accounts: pl.DataFrame
    provenance: pl.DataFrame  # account_id, field, value, universe, record_id, probability, at
    matches: pl.DataFrame  # account_id, universe, record_id, probability, evidence
    summary: EnrichmentSummary


def industry_mapper(vocabulary: list[str], overrides: dict[str, str]) -> tuple[Any, dict[str, int]]:
    """A function universe label → workspace industry value (or None), and the unmapped counts."""
    from rapidfuzz import fuzz, process

    by_fold = {v.casefold(): v for v in vocabulary}
    fold_overrides = {k.casefold(): v for k, v in overrides.items()}
    unmapped: dict[str, int] = {}
    cache: dict[str, str | None] = {}

    def to_vocab(label: str | None) -> str | None:
        if label is None:
            return None
        if label in cache:
            found = cache[label]
        else:
            key = label.casefold()
            found = fold_overrides.get(key) or by_fold.get(key)
            if found is None and by_fold:
                close = process.extractOne(
                    key, list(by_fold), scorer=fuzz.token_set_ratio, score_cutoff=90
                )
                found = by_fold[close[0]] if close else None
            cache[label] = found
        if found is None:
            unmapped[label] = unmapped.get(label, 0) + 1
        return found

    return to_vocab, unmapped


def enrich_accounts(
    accounts: pl.DataFrame,
    universes: list[Universe],
    *,
    threshold: float,
    fields: list[str],
    overwrite: bool = False,
    industry_map: dict[str, str] | None = None,
    now: datetime | None = None,
) -> Enrichment:
    """Link ``accounts`` to each universe and fill ``fields`` in waterfall order."""
    at = (now or datetime.now(UTC)).replace(microsecond=0).isoformat()
    ids = accounts["account_id"].cast(pl.Utf8).to_list()
    position = {a: i for i, a in enumerate(ids)}
    fields = [f for f in fields if f != "account_id"]
    current: dict[str, list[Any]] = {}
    for f in fields:
        if f in accounts.columns:
            current[f] = accounts[f].to_list()
        else:
            current[f] = [None] * len(ids)
    had = {f: [v is not None and v != "" for v in current[f]] for f in fields}
    filled_by: dict[str, list[bool]] = {f: [False] * len(ids) for f in fields}
    vocab = (
        # least frequent first: of two spellings of one word, the commoner is the one kept
        accounts["industry"]
        .drop_nulls()
        .cast(pl.Utf8)
        .value_counts(sort=True)["industry"]
        .reverse()
        .to_list()
        if "industry" in accounts.columns
        else []
    )
    to_vocab, unmapped = industry_mapper(vocab, industry_map or {})
    crm_links = linkage_frame(accounts, "account_id", "crm")
    prov_rows: list[dict[str, Any]] = []
    match_rows: list[dict[str, Any]] = []
    conflicts: list[ValueConflict] = []
    sources: list[SourceFill] = []
    for universe in universes:
        pairs, _model = predict_pairs(
            crm_links, linkage_frame(one_per_company(universe.frame), "record_id", "universe")
        )
        best = best_matches(pairs, threshold)
        records = universe.frame.with_row_index("_i")
        where = dict(zip(records["record_id"].to_list(), records["_i"].to_list(), strict=True))
        columns = {
            f: universe.frame[f].to_list() if f in universe.frame.columns else None for f in fields
        }
        filled = {f: 0 for f in fields}
        for row in best.iter_rows(named=True):
            account, record, p = row["id_l"], row["id_r"], float(row["probability"])
            i, j = position[account], where[record]
            match_rows.append(
                {"account_id": account, "universe": universe.name, "record_id": record,
                 "probability": p, "evidence": evidence(row)}
            )  # fmt: skip
            for f in fields:
                values = columns.get(f)
                if values is None:
                    continue
                value = values[j]
                if f == "industry":
                    value = to_vocab(value) if vocab else value
                if value is None or value == "":
                    continue
                old = current[f][i]
                if old is None or old == "":
                    current[f][i] = value
                    filled_by[f][i] = True
                    filled[f] += 1
                    prov_rows.append(_prov(account, f, value, universe.name, record, p, at))
                elif _differs(old, value):
                    from_crm = had[f][i] and not filled_by[f][i]
                    earlier = "CRM" if from_crm else _source_of(prov_rows, account, f)
                    if overwrite and from_crm:
                        current[f][i] = value
                        filled_by[f][i] = True
                        filled[f] += 1
                        prov_rows.append(_prov(account, f, value, universe.name, record, p, at))
                        kept, kept_from, other, other_from = value, universe.name, old, "CRM"
                    else:
                        kept, kept_from, other, other_from = old, earlier, value, universe.name
                    conflicts.append(
                        ValueConflict(
                            account_id=account, field=f, kept=str(kept), kept_from=kept_from,
                            other=str(other), other_from=other_from,
                        )
                    )  # fmt: skip
        n = len(ids)
        sources.append(
            SourceFill(
                universe=universe.name, path=universe.path, records=universe.size,
                matched=best.height, match_rate=best.height / n if n else 0.0,
                filled={f: c for f, c in filled.items()},
                fill_rate={f: c / n if n else 0.0 for f, c in filled.items()},
            )
        )  # fmt: skip
    out = accounts
    for f in fields:
        dtype = NUMERIC.get(f, accounts.schema.get(f, pl.Utf8))
        series = pl.Series(f, current[f], dtype=None, strict=False).cast(dtype, strict=False)
        out = out.with_columns(series)  # replaces the column, or adds it
    n = len(ids)
    before = {f: sum(had[f]) / n if n else 0.0 for f in fields}
    after = {
        f: sum(1 for v in current[f] if v is not None and v != "") / n if n else 0.0 for f in fields
    }
    summary = EnrichmentSummary(
        at=at, threshold=threshold, overwrite=overwrite, accounts=n, sources=sources,
        fill_before=before, fill_after=after, conflicts=conflicts[:500],
        n_conflicts=len(conflicts),
        unmapped_industries=dict(sorted(unmapped.items(), key=lambda kv: -kv[1])[:20]),
        duplicates=[],
    )  # fmt: skip
    provenance = pl.DataFrame(
        prov_rows,
        schema={"account_id": pl.Utf8, "field": pl.Utf8, "value": pl.Utf8, "universe": pl.Utf8,
                "record_id": pl.Utf8, "probability": pl.Float64, "at": pl.Utf8},
    )  # fmt: skip
    matches = pl.DataFrame(
        match_rows,
        schema={"account_id": pl.Utf8, "universe": pl.Utf8, "record_id": pl.Utf8,
                "probability": pl.Float64, "evidence": pl.Utf8},
    )  # fmt: skip
    return Enrichment(accounts=out, provenance=provenance, matches=matches, summary=summary)


def _prov(
    account: str, f: str, value: Any, universe: str, record: str, p: float, at: str
) -> dict[str, Any]:
    return {"account_id": account, "field": f, "value": str(value), "universe": universe,
            "record_id": record, "probability": p, "at": at}  # fmt: skip


def _source_of(rows: list[dict[str, Any]], account: str, f: str) -> str:
    for row in reversed(rows):
        if row["account_id"] == account and row["field"] == f:
            return str(row["universe"])
    return "CRM"


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) > 1e-9 * max(1.0, abs(float(a)))
    try:
        return abs(float(a) - float(b)) > 1e-9 * max(1.0, abs(float(a)))
    except (TypeError, ValueError):
        return str(a).strip().casefold() != str(b).strip().casefold()


def find_duplicates(accounts: pl.DataFrame, threshold: float) -> list[DuplicatePair]:
    """Pairs of CRM accounts the linkage model finds to be one company, with the evidence."""
    if accounts.height < 2:
        return []
    pairs, _ = predict_pairs(linkage_frame(accounts, "account_id", "crm"), None)
    kept = pairs.filter(pl.col("probability") >= threshold).sort("probability", descending=True)
    return [
        DuplicatePair(
            account_id=min(r["id_l"], r["id_r"]),
            duplicate_id=max(r["id_l"], r["id_r"]),
            probability=float(r["probability"]),
            evidence=evidence(r),
        )
        for r in kept.iter_rows(named=True)
    ]
