"""A rep's worklist: this week's accounts by priority x tier, with names, filters, sort and pages.

The ranking is :func:`icpkit.signals.priority.prioritize` (fit tier crossed with intent, never one
blended number); this module adds what a rep needs to act on a row (name, domain, owner,
territory, industry, the first "why now" reason) and selects a page of it. The API
(``GET /v1/worklist``), the ``/worklist`` page and ``icpkit prioritize`` all read the same table.

- Owner: the accounts' first column among :data:`OWNER_COLUMNS`; territory: the first among
  :data:`TERRITORY_COLUMNS` (``region`` in the demo CRM). Either is absent (null) when the export
  has no such column, and its filter then matches nothing but "any".
- Filters are exact matches, any case (``tier=Tier 1``, ``industry=software``).
- ``first_why_now``: the strongest live signal in words, without its interval (``why_now`` keeps
  every reason as ``icpkit prioritize`` writes it).
- Sort: ``priority`` (the matrix's order: work now, work this week, nurture, watch, do not
  chase; then intent, then fit), or one of :data:`SORTS`, ``-`` in front for descending.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from icpkit.errors import ConfigError
from icpkit.signals.priority import ACTIONS, prioritize
from icpkit.vocab import TIERS

OWNER_COLUMNS = ("owner", "account_owner", "owner_name", "owner_email", "owner_id",
                 "hubspot_owner_id", "ownerid")  # fmt: skip
TERRITORY_COLUMNS = ("territory", "sales_territory", "region", "sales_region")
COLUMNS = ("account_id", "name", "domain", "owner", "territory", "industry", "tier",
           "fit_score", "intent", "intent_score", "priority", "first_why_now", "why_now")  # fmt: skip
SORTS = ("priority", "fit_score", "intent_score", "name", "tier", "owner", "territory", "industry")
FILTERS = ("owner", "territory", "tier", "priority", "industry")
MAX_LIMIT = 500


def no_intent(account_ids: pl.Series) -> pl.DataFrame:
    """Every account cold, without a reason: the intent table when signals are unavailable."""
    return pl.DataFrame({"account_id": account_ids.cast(pl.Utf8)}).with_columns(
        intent_score=pl.lit(None, pl.Float64), intent=pl.lit("cold"), why_now=pl.lit("")
    )


def _first(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[c] for c in candidates if c in lower), None)


def _details(accounts: pl.DataFrame, columns: dict[str, str | None]) -> pl.DataFrame:
    """``account_id`` (text) and the wanted columns under their worklist names (null when the
    accounts have no such column), one row per account (the first of a repeated id)."""
    frame = accounts.select(
        pl.col("account_id").cast(pl.Utf8),
        *(
            (pl.col(source).cast(pl.Utf8) if source else pl.lit(None, pl.Utf8)).alias(name)
            for name, source in columns.items()
        ),
    )
    return frame.filter(pl.col("account_id").is_first_distinct())


def with_names(ranked: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """The ranked list with each account's name and domain after its id (null when the accounts
    table has no such column), in the ranked order."""
    names = _details(
        accounts, {c: c if c in accounts.columns else None for c in ("name", "domain")}
    )
    joined = ranked.join(names, on="account_id", how="left", maintain_order="left")
    rest = [c for c in ranked.columns if c != "account_id"]
    return joined.select("account_id", "name", "domain", *rest)


def worklist_table(
    fit: pl.DataFrame, intent: pl.DataFrame | None, accounts: pl.DataFrame
) -> pl.DataFrame:
    """Every account ranked (:func:`prioritize`) with the columns of :data:`COLUMNS`.

    Parameters
    ----------
    fit
        ``account_id``, ``fit_score`` and ``tier`` (scored accounts).
    intent
        ``account_id``, ``intent_score``, ``intent``, ``why_now``; None: every account cold.
    accounts
        The CRM's accounts (name, domain, industry and the owner / territory columns).
    """
    if intent is None:
        intent = no_intent(fit["account_id"])
    present = accounts.columns
    details = _details(
        accounts,
        {
            "name": "name" if "name" in present else None,
            "domain": "domain" if "domain" in present else None,
            "owner": _first(present, OWNER_COLUMNS),
            "territory": _first(present, TERRITORY_COLUMNS),
            "industry": "industry" if "industry" in present else None,
        },
    )
    table = prioritize(fit, intent).join(
        details, on="account_id", how="left", maintain_order="left"
    )
    return table.with_columns(
        first_why_now=pl.col("why_now")
        .str.split("; ")
        .list.first()
        .str.replace_all(r" \[[^\]]*\]", "")
        .fill_null(""),
        intent_score=pl.col("intent_score").round(1),
    ).select(COLUMNS)


@dataclass(frozen=True)
class WorklistQuery:
    """Which rows of the worklist, in which order: filters (exact, any case), sort, page."""

    owner: str = ""
    territory: str = ""
    tier: str = ""
    priority: str = ""
    industry: str = ""
    sort: str = "priority"
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if self.tier and self.tier not in TIERS:
            raise ConfigError(f"tier must be one of {', '.join(TIERS)}; got {self.tier!r}")
        if self.priority and self.priority not in ACTIONS:
            raise ConfigError(
                f"priority must be one of {', '.join(ACTIONS)}; got {self.priority!r}"
            )
        if self.sort.removeprefix("-") not in SORTS:
            raise ConfigError(
                f"sort must be one of {', '.join(SORTS)} (a '-' in front: descending); "
                f"got {self.sort!r}"
            )
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ConfigError(f"limit must be 1 to {MAX_LIMIT}; got {self.limit}")
        if self.offset < 0:
            raise ConfigError(f"offset must be 0 or more; got {self.offset}")

    def filters(self) -> dict[str, str]:
        """The filters in use, by name."""
        return {k: getattr(self, k) for k in FILTERS if getattr(self, k).strip()}


@dataclass(frozen=True)
class Worklist:
    """One page of the worklist, how many rows match, and what the filters can take."""

    as_of: str
    note: str
    total: int
    limit: int
    offset: int
    sort: str
    filters: dict[str, str]
    counts: dict[str, int]  # matching rows per priority, in the matrix's order
    rows: list[dict[str, Any]]
    choices: dict[str, list[str]] = field(default_factory=dict)  # values each filter can take

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def matching(table: pl.DataFrame, query: WorklistQuery) -> pl.DataFrame:
    """Every row the query's filters keep, in the query's order (no paging)."""
    frame = table.with_row_index("_rank")
    for name, value in query.filters().items():
        frame = frame.filter(pl.col(name).cast(pl.Utf8).str.to_lowercase() == value.strip().lower())
    key = query.sort.removeprefix("-")
    descending = query.sort.startswith("-")
    if key == "priority":
        frame = frame.sort("_rank", descending=descending)
    elif key == "tier":
        order = pl.col("tier").replace_strict(list(TIERS), list(range(len(TIERS))), default=9)
        frame = frame.sort([order, "_rank"], descending=[descending, False])
    else:
        frame = frame.sort([key, "_rank"], descending=[descending, False], nulls_last=True)
    return frame.drop("_rank")


def select(
    table: pl.DataFrame, query: WorklistQuery, *, as_of: str = "", note: str = ""
) -> Worklist:
    """The page of ``table`` (from :func:`worklist_table`) the query asks for, with totals."""
    rows = matching(table, query)
    counts = dict.fromkeys(ACTIONS, 0)
    for priority, n in rows.group_by("priority").len().iter_rows():
        counts[str(priority)] = int(n)
    choices = {
        name: sorted(str(v) for v in table[name].drop_nulls().unique().to_list())
        for name in ("owner", "territory", "industry")
    }
    choices["tier"], choices["priority"] = list(TIERS), list(ACTIONS)
    return Worklist(
        as_of=as_of,
        note=note,
        total=rows.height,
        limit=query.limit,
        offset=query.offset,
        sort=query.sort,
        filters=query.filters(),
        counts=counts,
        rows=rows.slice(query.offset, query.limit).to_dicts(),
        choices=choices,
    )
