"""Events → accounts: which account each event belongs to.

In order, the first that applies: an explicit map (``[usage] account_map``: a ``key`` that is a
group/workspace id or a user id → ``account_id``), a group id that is itself an account id, and
(``map_by_email_domain``) a user id that is an e-mail address whose domain is an account's domain
or the e-mail domain of the account's contacts (a domain shared by several accounts maps to none).
Events matching none keep a blank account and are reported by ``check`` as unmapped users.
Nothing here reads the events: the joins are lazy, against small lookup tables.
"""

from __future__ import annotations

import polars as pl

_DOMAIN = r"@([^@\s]+)$"


def _domain(expr: pl.Expr) -> pl.Expr:
    return (
        expr.str.to_lowercase()
        .str.strip_chars()
        .str.replace(r"^https?://", "")
        .str.replace(r"^www\.", "")
        .str.replace(r"/.*$", "")
    )


def domain_lookup(accounts: pl.DataFrame, contacts: pl.DataFrame | None) -> pl.DataFrame:
    """E-mail domain → account_id, from accounts.domain and contacts' e-mails (unique only)."""
    parts = []
    if "domain" in accounts.columns:
        parts.append(
            accounts.select(_domain(pl.col("domain").cast(pl.Utf8)).alias("domain"), "account_id")
        )
    if contacts is not None and "email" in contacts.columns:
        parts.append(
            contacts.select(
                _domain(pl.col("email").cast(pl.Utf8).str.extract(_DOMAIN, 1)).alias("domain"),
                "account_id",
            )
        )
    if not parts:
        return pl.DataFrame(schema={"domain": pl.Utf8, "account_id": pl.Utf8})
    pairs = pl.concat(parts).drop_nulls().unique()
    unique = pairs.group_by("domain").agg(pl.col("account_id").n_unique().alias("n"))
    keep = unique.filter(pl.col("n") == 1).select("domain")
    return pairs.join(keep, on="domain", how="semi").select(
        pl.col("domain"), pl.col("account_id").cast(pl.Utf8)
    )


def map_accounts(
    events: pl.LazyFrame,
    accounts: pl.DataFrame,
    contacts: pl.DataFrame | None = None,
    account_map: pl.DataFrame | None = None,
    *,
    by_email_domain: bool = True,
) -> pl.LazyFrame:
    """The events with an ``account_id`` column (blank when no rule maps them)."""
    ids = accounts.select(pl.col("account_id").cast(pl.Utf8)).unique()
    out = events.with_columns(pl.col("group_id").cast(pl.Utf8), pl.col("user_id").cast(pl.Utf8))
    candidates: list[str] = []
    if account_map is not None and account_map.height:
        lookup = account_map.select(
            pl.col("key").cast(pl.Utf8), pl.col("account_id").cast(pl.Utf8).alias("_by_map")
        ).unique(subset="key", keep="first")
        out = out.join(
            lookup.lazy().rename({"key": "group_id"}),
            on="group_id",
            how="left",
            maintain_order="left",
        )
        user_lookup = lookup.rename({"key": "user_id", "_by_map": "_by_user_map"})
        out = out.join(user_lookup.lazy(), on="user_id", how="left", maintain_order="left")
        candidates += ["_by_map", "_by_user_map"]
    out = out.join(
        ids.lazy()
        .with_columns(pl.col("account_id").alias("_by_group"))
        .rename({"account_id": "group_id"}),
        on="group_id",
        how="left",
        maintain_order="left",
    )
    candidates.append("_by_group")
    if by_email_domain:
        lookup = domain_lookup(accounts, contacts).rename({"account_id": "_by_domain"})
        out = out.with_columns(
            _domain(pl.col("user_id").str.extract(_DOMAIN, 1)).alias("_user_domain")
        ).join(
            lookup.lazy().rename({"domain": "_user_domain"}),
            on="_user_domain",
            how="left",
            maintain_order="left",
        )
        candidates.append("_by_domain")
    out = out.with_columns(pl.coalesce([pl.col(c) for c in candidates]).alias("account_id"))
    return out.drop([*candidates, *(["_user_domain"] if by_email_domain else [])])
