"""A company universe read into one shape, whatever file it came from.

Three kinds of file are recognised by their columns: a **FinanceDatabase** equities listing
(``symbol``, ``name``, ``summary``, ``sector``, ``industry``, ``website``, ``country``: the founded
year is read from the summary's "founded in 1975"), an **accounts-shaped** file (a purchased list,
a previous ``icpkit lookalikes`` output: ``account_id``, ``name``, ``domain``, ``industry``, …) and
anything whose headers are common synonyms of those (``company_name``, ``website``, ``url``, ``id``).

The result has the columns of :data:`COLUMNS` (missing ones are null). A universe must have a name
or a domain to match on, and its ids must be unique; both are checked here, with the file named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from icpkit.data.countries import country_code
from icpkit.data.readers import read_table
from icpkit.errors import SchemaError

COLUMNS = (
    "record_id", "name", "domain", "industry", "industry_detail", "employees",
    "annual_revenue", "country", "founded_year", "description",
)  # fmt: skip
FILLABLE = ("industry", "employees", "annual_revenue", "country", "founded_year", "description")
# canonical column → the headers that mean it (first present wins), lower-cased
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "record_id": ("record_id", "account_id", "symbol", "id", "company_id", "uuid", "permalink"),
    "name": ("name", "company_name", "company", "account_name", "organization", "organisation"),
    "domain": ("domain", "website", "url", "homepage", "web", "company_domain"),
    "industry": ("industry", "sector", "category", "vertical"),
    "industry_detail": ("industry_detail", "industry_group"),
    "employees": ("employees", "employee_count", "headcount", "staff", "size"),
    "annual_revenue": ("annual_revenue", "revenue", "turnover"),
    "country": ("country", "country_code", "hq_country"),
    "founded_year": ("founded_year", "founded", "year_founded"),
    "description": ("description", "summary", "about", "business_description"),
}
_FOUNDED = r"(?i)(?:founded|incorporated|established) in (1[6-9]\d\d|20[0-2]\d)"


@dataclass(frozen=True)
class Universe:
    """One company universe: its display name, the file, its kind and the canonical frame."""

    name: str
    path: str
    kind: str  # "financedatabase", "accounts", "mapped"
    frame: pl.DataFrame

    @property
    def size(self) -> int:
        return self.frame.height


def universe_label(path: Path) -> str:
    """The name a universe is shown under: FinanceDatabase for its equities file, else the stem."""
    return path.stem


def read_universe(path: Path | str, frame: pl.DataFrame | None = None) -> Universe:
    """Read a universe file (or take ``frame``, read from ``path`` already) into :data:`COLUMNS`.

    Raises
    ------
    SchemaError
        The file has neither a name nor a domain column, or an id repeats.
    """
    path = Path(path)
    raw = read_table(path) if frame is None else frame
    lower = {c.lower().strip(): c for c in raw.columns}
    finance = {"symbol", "summary", "sector", "website"} <= set(lower)
    if finance:  # FinanceDatabase: sector is the coarse industry, industry the detail
        picked = {
            "record_id": lower["symbol"], "name": lower.get("name"), "domain": lower["website"],
            "industry": lower["sector"], "industry_detail": lower.get("industry"),
            "country": lower.get("country"), "description": lower["summary"],
        }  # fmt: skip
        kind, label = "financedatabase", "FinanceDatabase"
    else:
        picked = {}
        for canon, names in _SYNONYMS.items():
            found = next((lower[n] for n in names if n in lower), None)
            if found is not None and found not in picked.values():
                picked[canon] = found
        kind = "accounts" if "account_id" in lower else "mapped"
        label = universe_label(path)
    if picked.get("name") is None and picked.get("domain") is None:
        raise SchemaError(
            f"{path}: no column to match companies on: expected a name or a domain column "
            f"(name, company_name, domain, website, url), found {', '.join(raw.columns[:20])}"
        )
    n = raw.height
    cols: dict[str, pl.Series] = {}
    for canon in COLUMNS:
        source = picked.get(canon)
        if source is None:
            cols[canon] = pl.repeat(None, n, dtype=pl.Utf8, eager=True).alias(canon)
        else:
            cols[canon] = raw[source].cast(pl.Utf8).str.strip_chars().alias(canon)
            cols[canon] = cols[canon].set(cols[canon].str.len_chars() == 0, None)
    if picked.get("record_id") is None:
        cols["record_id"] = pl.Series("record_id", [f"row {i + 2}" for i in range(n)])
    out = pl.DataFrame(cols)
    _check_ids(path, out, picked.get("record_id"))
    out = out.with_columns(
        pl.col("employees").str.replace_all(r"[,\s]", "").cast(pl.Float64, strict=False),
        pl.col("annual_revenue").str.replace_all(r"[,\s$€£]", "").cast(pl.Float64, strict=False),
        pl.coalesce(
            pl.col("founded_year").str.extract(r"(\d{4})").cast(pl.Int64, strict=False),
            pl.col("description").str.extract(_FOUNDED).cast(pl.Int64, strict=False),
        ).alias("founded_year"),
        _countries(out["country"]),
    )
    return Universe(name=label, path=str(path), kind=kind, frame=out)


def _countries(values: pl.Series) -> pl.Series:
    """ISO-2 codes for country spellings ('Netherlands' → 'NL'); unknown spellings stay as they are."""
    mapping: dict[str, str | None] = {}
    for value in values.drop_nulls().unique().to_list():
        code, _ = country_code(value)
        mapping[value] = code or value
    if not mapping:
        return values
    return values.replace_strict(mapping, default=None, return_dtype=pl.Utf8).alias("country")


def _check_ids(path: Path, frame: pl.DataFrame, column: str | None) -> None:
    """Refuse a universe whose ids repeat: a value's provenance must name one record."""
    ids = frame["record_id"]
    if ids.null_count():
        row = int(ids.is_null().arg_true()[0]) + 2
        raise SchemaError(f"{path}: row {row}, column '{column}': the id is blank")
    dup = ids.is_duplicated()
    if dup.any():
        first = ids.filter(dup)[0]
        rows = [int(r) + 2 for r in (ids == first).arg_true().to_list()[:5]]
        count = int(ids.filter(dup).n_unique())
        raise SchemaError(
            f"{path}: column '{column}': id '{first}' repeats (rows {', '.join(map(str, rows))}); "
            f"{count} id(s) repeat in all — each universe record needs its own id"
        )
